"""Training and scoring speed: the wrapper's overhead and the machine's peak.

Every ratio is taken in one run, on one Fashion-MNIST class (its 6,000
training images, 784 features) or a subset of it:

- **wrapper overhead**: seconds per epoch of ``DenoisingAE.fit`` and
  ``ARAE.fit`` against a plain torch loop that trains the same network (same
  widths, activations, initialisation, fused Adam, batch size, noise or
  attack) on the same data; the loop draws batches with ``torch.randperm``.
  The skanomaly epoch time is the fit time (validation, scaling, the plateau
  check and the ``offset_`` pass included) divided by the epochs.
- **throughput**: training and scoring samples per second, times the network's
  FLOPs per sample (2 per multiply-add; a training step is counted as three
  forward passes), as a fraction of the machine's float32 matmul rate
  measured by the same script (``torch.mm`` of 2048 x 2048 matrices).
- **DenoisingAE against PyOD's AutoEncoder**: seconds per epoch of each with
  its defaults, on the same data.
- **ARAE's cost against ``pgd_steps``**: seconds per epoch at 1, 5, 10 and 40
  PGD steps (the paper's 40).
- **Puzzle-AE scoring** at width 16 (23 permutations): seconds to score
  ``--puzzle-images`` test images, and the AUC/time trade-off of
  ``n_permutations`` on class 0 (a short fit).

Run alone (timings)::

    flock /tmp/skanomaly-bench.lock python benchmarks/bench_speed.py

Writes ``results/speed.md`` and ``results/speed.json``. ``--only puzzle`` (or
``wrapper``, ``pyod``, ``arae``; repeatable) runs those sections alone and
writes ``results/speed_partial.md`` and ``.json`` instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from skanomaly import ARAE, DenoisingAE, PuzzleAE
from skanomaly.attacks import pgd
from skanomaly.benchmarking import environment_info
from skanomaly.datasets import load_fashion_mnist
from skanomaly.detectors._arae import arae_loss
from skanomaly.losses import squared_error_mean
from skanomaly.metrics import novelty_roc_auc
from skanomaly.nets import MLPAutoencoder
from skanomaly.nets.mlp import ACTIVATIONS
from skanomaly.utils._torch import flush_denormal_context

RESULTS = Path(__file__).resolve().parent / "results"


def matmul_gflops(size=2048, repeats=10):
    a, b = torch.rand(size, size), torch.rand(size, size)
    torch.mm(a, b)
    start = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def mlp_flops_per_sample(n_features, hidden_dims):
    dims = [n_features, *hidden_dims]
    macs = sum(a * b for a, b in zip(dims[:-1], dims[1:], strict=True))
    return 2 * 2 * macs  # encoder and decoder, 2 FLOPs per multiply-add


def plain_epochs(X, det, epochs, seed=0):
    """Seconds per epoch of a plain torch loop with ``det``'s network and step."""
    torch.manual_seed(seed)
    net = MLPAutoencoder(
        X.shape[1], det.hidden_dims, act_layer=ACTIVATIONS[det.activation]
    )
    opt = torch.optim.Adam(net.parameters(), lr=det.lr, fused=True)
    data = torch.as_tensor(X)
    batch = det.batch_size_
    generator = torch.Generator().manual_seed(seed)
    adversarial = isinstance(det, ARAE)
    with flush_denormal_context():
        start = time.perf_counter()
        for _ in range(epochs):
            for idx in torch.randperm(len(data), generator=generator).split(batch):
                # the gather the wrapper does (index_select: the same copy as
                # data[idx], at a quarter of the cost)
                x = data.index_select(0, idx)
                if adversarial:
                    with torch.no_grad():
                        z = net.encode(x)
                    x_adv = pgd(
                        lambda v, z=z: squared_error_mean(net.encode(v), z),
                        x,
                        epsilon=det.epsilon,
                        steps=det.pgd_steps,
                        step_size=det.step_size * det.epsilon,
                        clip=(0.0, 1.0),
                        module=net,
                    )
                    loss = arae_loss(net, x, x_adv, det.gamma).mean()
                else:
                    noisy = x + det.noise_scale * torch.rand_like(x)
                    loss = F.mse_loss(net(noisy), x)
                opt.zero_grad()
                loss.backward()
                opt.step()
        return (time.perf_counter() - start) / epochs


def fit_seconds(det, X):
    start = time.perf_counter()
    det.fit(X)
    return time.perf_counter() - start


def wrapper_overhead(X, peak, repeats=2):
    """Per-epoch seconds of skanomaly and of a plain loop (best of ``repeats``)."""
    # warm-up: first-call costs (kernel selection, allocator) are paid here
    warm = DenoisingAE(max_epochs=1, device="cpu", random_state=0).fit(X[:512])
    plain_epochs(X[:512], warm, 1)
    rows = []
    for name, make in (
        (
            "DenoisingAE",
            lambda: DenoisingAE(max_epochs=5, device="cpu", random_state=0),
        ),
        ("ARAE", lambda: ARAE(max_epochs=5, device="cpu", random_state=0)),
    ):
        epoch_s, fit_s, plain = [], [], []
        for _ in range(repeats):
            det = make()
            fit_s.append(fit_seconds(det, X) / det.n_epochs_)
            # skorch's per-epoch wall time: the training loop alone
            epoch_s.append(float(np.mean([h["dur"] for h in det.history_])))
            plain.append(plain_epochs(X, det, det.n_epochs_))
        ours, plain = min(epoch_s), min(plain)
        flops = mlp_flops_per_sample(X.shape[1], det.hidden_dims)
        # a training step: forward, and backward at twice the forward's cost;
        # ARAE adds pgd_steps encoder passes and two more encoder forwards
        passes = 3 if name == "DenoisingAE" else 3 + 1.5 * (det.pgd_steps + 1)
        start = time.perf_counter()
        det.score_samples(X)
        score_s = time.perf_counter() - start
        rows.append(
            {
                "detector": name,
                "batch_size": det.batch_size_,
                "skanomaly_s_per_epoch": ours,
                "skanomaly_fit_s_per_epoch": min(fit_s),
                "plain_torch_s_per_epoch": plain,
                "overhead": ours / plain - 1,
                "train_fraction_of_peak": len(X) * flops * passes / ours / 1e9 / peak,
                "score_fraction_of_peak": len(X) * flops / score_s / 1e9 / peak,
            }
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def versus_pyod(X):
    from pyod.models.auto_encoder import AutoEncoder

    dae = DenoisingAE(max_epochs=5, device="cpu", random_state=0)
    ours = fit_seconds(dae, X) / dae.n_epochs_
    pyod = AutoEncoder(epoch_num=5, random_state=0, device="cpu", verbose=0)
    theirs = fit_seconds(pyod, X) / 5
    return {"denoising_ae_s_per_epoch": ours, "pyod_autoencoder_s_per_epoch": theirs}


def arae_steps(X):
    rows = []
    for steps in (1, 5, 10, 40):
        det = ARAE(
            pgd_steps=steps,
            step_size=1.25 if steps == 1 else None,
            max_epochs=2,
            device="cpu",
            random_state=0,
        )
        rows.append({"pgd_steps": steps, "s_per_epoch": fit_seconds(det, X) / 2})
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def puzzle_scoring(train, test, n_images):
    X_train = train.data[train.target == 0][:1000]
    X_test, y_test = test.data[:n_images], (test.target[:n_images] != 0).astype(int)
    rows = []
    for n_permutations in (None, 12, 6, 3):
        det = PuzzleAE(
            n_permutations=n_permutations,
            max_epochs=3,
            input_shape=(1, 28, 28),
            device="cpu",
            random_state=0,
        ).fit(X_train)
        start = time.perf_counter()
        scores = det.score_samples(X_test)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "n_permutations": len(det.permutations_),
                "score_s": seconds,
                "score_s_per_1000_images": 1000 * seconds / len(X_test),
                "auc_class0_short_fit": novelty_roc_auc(y_test, -scores),
            }
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


SECTIONS = ("wrapper", "pyod", "arae", "puzzle")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--puzzle-images", type=int, default=2000)
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTIONS,
        help="run only this section (repeatable); writes speed_partial.*",
    )
    args = parser.parse_args(argv)
    sections = args.only or SECTIONS
    started = time.perf_counter()
    train = load_fashion_mnist(split="train")
    test = load_fashion_mnist(split="test")
    X = train.data[train.target == 0]
    peak = matmul_gflops()
    result = {"matmul_gflops": peak}
    if "wrapper" in sections:
        result["wrapper"] = wrapper_overhead(X, peak)
    if "pyod" in sections:
        result["versus_pyod"] = versus_pyod(X)
    if "arae" in sections:
        result["arae_pgd_steps"] = arae_steps(X)
    if "puzzle" in sections:
        result["puzzle_scoring"] = puzzle_scoring(train, test, args.puzzle_images)
    result["environment"] = environment_info("cpu")
    result["command"] = "python " + " ".join(
        ["benchmarks/bench_speed.py", *(sys.argv[1:] if argv is None else argv)]
    )
    result["wall_s"] = round(time.perf_counter() - started, 1)
    stem = "speed_partial" if args.only else "speed"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(
        json.dumps(result, indent=2, default=str) + "\n"
    )
    (RESULTS / f"{stem}.md").write_text(to_markdown(result, args))
    print((RESULTS / f"{stem}.md").read_text())


def to_markdown(result, args):
    env = result["environment"]
    lines = [
        "# Speed: the wrapper's overhead, throughput, and costs",
        "",
        f"Written by `benchmarks/bench_speed.py` (command: `{result['command']}`); "
        "Fashion-MNIST class 0 (6,000 training images of 784 pixels), seed 0, "
        f"CPU `{env['cpu']}` with {env['torch_threads']} torch threads, torch "
        f"{env['torch']}, {env['date']}. Measured matmul rate: "
        f"{result['matmul_gflops']:.1f} GFLOP/s (float32, 2048 x 2048).",
    ]
    if "wrapper" in result:
        lines += [
            "",
            "## Training: skanomaly against a plain torch loop (same network and step)",
            "",
            "| detector | batch | skanomaly s/epoch | plain torch s/epoch | overhead | "
            "whole fit / epochs | training % of peak | scoring % of peak |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in result["wrapper"]:
            lines.append(
                f"| {r['detector']} | {r['batch_size']} "
                f"| {r['skanomaly_s_per_epoch']:.3f} "
                f"| {r['plain_torch_s_per_epoch']:.3f} | {100 * r['overhead']:+.1f} % "
                f"| {r['skanomaly_fit_s_per_epoch']:.3f} "
                f"| {100 * r['train_fraction_of_peak']:.0f} % "
                f"| {100 * r['score_fraction_of_peak']:.0f} % |"
            )
        lines += [
            "",
            "The skanomaly time per epoch is skorch's epoch duration (`history_` "
            "`dur`: the training loop with its callbacks), best of two fits of 5 "
            "epochs after a warm-up; the plain loop is timed the same way. 'Whole "
            "fit / epochs' divides the whole `fit` (validation, scaling, the "
            "plateau check and the `offset_` scoring pass included) by the epochs.",
        ]
    if "versus_pyod" in result:
        versus = result["versus_pyod"]
        lines += [
            "",
            "## DenoisingAE against PyOD's AutoEncoder (each with its defaults)",
            "",
            f"DenoisingAE {versus['denoising_ae_s_per_epoch']:.3f} s per epoch, PyOD "
            f"AutoEncoder {versus['pyod_autoencoder_s_per_epoch']:.3f} s per epoch.",
        ]
    if "arae_pgd_steps" in result:
        lines += [
            "",
            "## ARAE's cost against pgd_steps",
            "",
            "| pgd_steps | s/epoch |",
            "|---:|---:|",
            *(
                f"| {r['pgd_steps']} | {r['s_per_epoch']:.2f} |"
                for r in result["arae_pgd_steps"]
            ),
        ]
    if "puzzle_scoring" in result:
        lines += [
            "",
            f"## Puzzle-AE scoring ({args.puzzle_images} test images, width 16)",
            "",
            "AUC after a 3-epoch fit on 1,000 images of class 0 (a trade-off "
            "indicator, not a result).",
            "",
            "| permutations | score s | s per 1,000 images | AUC |",
            "|---:|---:|---:|---:|",
            *(
                f"| {r['n_permutations']} | {r['score_s']:.1f} "
                f"| {r['score_s_per_1000_images']:.1f} | "
                f"{r['auc_class0_short_fit']:.4f} |"
                for r in result["puzzle_scoring"]
            ),
        ]
    lines += ["", f"Run wall time: {result['wall_s']} s."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
