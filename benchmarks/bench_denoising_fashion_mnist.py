"""DenoisingAE against PyOD baselines on Fashion-MNIST, protocol 2, all 10 classes.

Protocol 2 (ARAE paper, Tables 1-2): train on the official training images of one
class, test on the whole official test set, AUC with the anomaly as positive.
Every deep detector gets the same number of epochs. Results (per class and mean:
AUC, AP, FPR at TPR 0.995, best F1, fit and score seconds) go to
``benchmarks/results/denoising_fashion_mnist_e<epochs>.{md,csv,json}`` with the
seed, budget, device and versions.

Usage::

    python benchmarks/bench_denoising_fashion_mnist.py --epochs 30
    python benchmarks/bench_denoising_fashion_mnist.py --epochs 200 --detectors denoising-ae

Needs the Fashion-MNIST idx files (Debian package ``dataset-fashion-mnist``,
torchvision's layout or ``$SKANOMALY_DATA``).
"""

import argparse
from pathlib import Path

from skanomaly.benchmarking import get_budget, run_benchmark

RESULTS = Path(__file__).resolve().parent / "results"
DETECTORS = ("denoising-ae", "pyod-autoencoder", "pyod-vae", "pyod-knn", "pyod-iforest")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--epochs", type=int, default=30, help="epochs of every deep detector"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--detectors", nargs="+", default=list(DETECTORS))
    parser.add_argument("--classes", nargs="+", type=int, default=None)
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--tag", default="", help="suffix of the result file names")
    args = parser.parse_args(argv)

    budget = get_budget("quick", max_epochs=args.epochs, device=args.device)
    result = run_benchmark(
        args.detectors,
        dataset="fashion-mnist",
        protocol=2,
        normal_classes=args.classes,
        budget=budget,
        random_state=args.seed,
        data_home=args.data_home,
    )
    stem = RESULTS / f"denoising_fashion_mnist_e{args.epochs}{args.tag}"
    RESULTS.mkdir(exist_ok=True)
    for suffix in (".md", ".csv", ".json"):
        result.save(stem.with_suffix(suffix))
    print(result.format_tables(per_class=True))
    print(f"written: {stem}.{{md,csv,json}}")


if __name__ == "__main__":
    main()
