"""The ``skanomaly`` command.

``skanomaly benchmark`` benchmarks detectors on one-class tasks and prints a
table per detector; ``skanomaly detectors`` lists the detectors it knows.
Plain ``skanomaly`` prints the help.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import textwrap
import warnings

from skanomaly.benchmarking import (
    BUDGETS,
    DATASETS,
    DEFAULT_DETECTORS,
    DETECTOR_FACTORIES,
    describe_detectors,
    get_budget,
    run_benchmark,
)
from skanomaly.benchmarking._data import ADBENCH_PREFIX

_EPILOG = """\
examples:
  skanomaly benchmark
      DenoisingAE, ARAE, LISAE, IsolationForest and PyOD's KNN on scikit-learn's
      digits, every digit as the normal class in turn, each detector at its
      defaults (about a minute on 2 cores)
  skanomaly benchmark --dataset fashion-mnist --normal-class 0 3 \\
      --detectors denoising-ae pyod-autoencoder --epochs 50 --output fmnist.md
  skanomaly benchmark --dataset mnist --data-home ~/data --budget standard \\
      --device cuda --output results.csv --output results.json
  skanomaly benchmark --dataset fashion-mnist --checkpoint fmnist.jsonl \\
      --output fmnist.md
      resumable: run the same command again after an interruption
  skanomaly detectors
"""


def _normal_class(text):
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a class label or a comma-separated group such as 3,5"
        ) from None


def _dataset(text):
    """A name of DATASETS, or adbench:NAME."""
    if text in DATASETS or (
        text.startswith(ADBENCH_PREFIX) and len(text) > len(ADBENCH_PREFIX)
    ):
        return text
    raise argparse.ArgumentTypeError(
        f"unknown data set {text!r}; choose one of "
        f"{', '.join(k for k in DATASETS if k != 'adbench:NAME')} or adbench:NAME"
    )


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _fraction(text):
    if text == "all":
        return None
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number in (0, 1) or 'all'")
    return value


def build_parser():
    """The argument parser of the ``skanomaly`` command.

    Returns
    -------
    parser : argparse.ArgumentParser

    Examples
    --------
    >>> from skanomaly.cli import build_parser
    >>> args = build_parser().parse_args(["benchmark", "--normal-class", "1", "2,3"])
    >>> args.normal_class
    [(1,), (2, 3)]
    """
    from skanomaly import __version__

    parser = argparse.ArgumentParser(
        prog="skanomaly",
        description=textwrap.fill(
            "skanomaly: scikit-learn compatible deep novelty detectors. Run "
            "'skanomaly benchmark' to compare detectors on one-class tasks, "
            "'skanomaly detectors' to list them; 'skanomaly COMMAND --help' "
            "explains each command."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"skanomaly {__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    bench = commands.add_parser(
        "benchmark",
        help="benchmark detectors on one-class tasks of a data set",
        description=textwrap.fill(
            "Fit each detector on the normal class(es) of a data set, score the "
            "test set and report ROC AUC, average precision, the false positive "
            "rate at 99.5% true positive rate and the best F1 (anomalies are the "
            "positive class), plus fit and score seconds: a table per detector "
            "(every normal class and the mean) and a summary. With no options it "
            f"runs {', '.join(DEFAULT_DETECTORS)} on scikit-learn's digits, every "
            "digit as normal in turn, with the quick budget."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.add_argument(
        "--dataset",
        type=_dataset,
        default="digits",
        metavar="NAME",
        help="data set: "
        + "; ".join(f"{k}: {v}" for k, v in DATASETS.items())
        + " (default: digits, which needs nothing extra)",
    )
    bench.add_argument(
        "--protocol",
        type=int,
        choices=[1, 2],
        default=None,
        help="1: merge train and test, train on a share of the normal class, test "
        "on the rest plus anomalies; 2: train on the normal class of the official "
        "train split, test on the whole official test split (default: 2 when the "
        "data set has an official split, else 1)",
    )
    bench.add_argument(
        "--normal-class",
        nargs="+",
        type=_normal_class,
        metavar="K",
        help="normal class(es), each run in turn; join classes with commas to make "
        "them normal together, e.g. 3,5 (default: every class in turn)",
    )
    bench.add_argument(
        "--anomaly-fraction",
        type=_fraction,
        default="auto",
        metavar="F",
        help="protocol 1: share of anomalies in the test set, in (0, 1), or 'all' "
        "to keep every anomaly (default: 0.5; every anomaly for ADBench sets)",
    )
    bench.add_argument(
        "--detectors",
        nargs="+",
        choices=sorted(DETECTOR_FACTORIES),
        default=list(DEFAULT_DETECTORS),
        metavar="NAME",
        help=f"detectors to run, from: {', '.join(sorted(DETECTOR_FACTORIES))} "
        f"(default: {' '.join(DEFAULT_DETECTORS)}; 'skanomaly detectors' "
        "describes them)",
    )
    bench.add_argument(
        "--budget",
        choices=list(BUDGETS),
        default="quick",
        help="training budget of the deep detectors: quick = each detector's "
        "defaults (training length adapted to the data), standard = "
        f"{BUDGETS['standard'].max_epochs} epochs, paper = each method's paper "
        "configuration (default: quick)",
    )
    bench.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="train every deep detector for N epochs (overrides --budget's epochs)",
    )
    bench.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="random_state of the detectors and of protocol 1's split (default: 0)",
    )
    bench.add_argument(
        "--device",
        default="auto",
        metavar="D",
        help="torch device of the deep detectors: auto (CUDA, then MPS, then CPU), "
        "cpu, cuda, cuda:1, mps (default: auto)",
    )
    bench.add_argument(
        "--data-home",
        default=None,
        metavar="DIR",
        help="folder with the MNIST / Fashion-MNIST idx files (plain or .gz, or "
        "torchvision's DIR/FashionMNIST/raw layout); also searched: "
        "$SKANOMALY_DATA, ~/skanomaly_data, /usr/share/datasets",
    )
    bench.add_argument(
        "--output",
        action="append",
        default=None,
        metavar="FILE",
        help="write the results to FILE; the suffix picks the format: .csv "
        "(per-class and mean rows), .md (tables) or .json; repeat for several "
        "files. Every file records seed, budget, device, versions, date and CPU",
    )
    bench.add_argument(
        "--checkpoint",
        default=None,
        metavar="PATH",
        help="make the run resumable: append each finished (detector, normal "
        "class) row to PATH (JSON lines) as soon as it is done, and reuse the rows "
        "PATH already holds for the same settings (data set, protocol, class, "
        "budget, epochs, seed, fractions, detector and its parameters) instead "
        "of computing them again; rerun the same command after an interruption "
        "to go on where it stopped. Failed rows are computed again",
    )
    bench.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar and only the summary table",
    )
    bench.set_defaults(handler=_benchmark)

    detectors = commands.add_parser(
        "detectors",
        help="list the detectors 'skanomaly benchmark' can run",
        description="List the registered detectors with a one-line description.",
    )
    detectors.set_defaults(handler=_detectors)
    return parser


def _benchmark(args, parser):
    outputs = args.output or []
    for output in outputs:
        if not output.endswith((".csv", ".md", ".json")):
            parser.error(f"--output {output}: use a .csv, .md or .json suffix")
    budget = get_budget(args.budget, max_epochs=args.epochs, device=args.device)
    try:
        result = run_benchmark(
            list(dict.fromkeys(args.detectors)),
            dataset=args.dataset,
            protocol=args.protocol,
            normal_classes=args.normal_class,
            budget=budget,
            random_state=args.seed,
            anomaly_fraction=args.anomaly_fraction,
            data_home=args.data_home,
            progress=not args.quiet,
            on_error="record",
            checkpoint=args.checkpoint,
        )
    except (OSError, ImportError, ValueError) as exc:  # OSError: data, checkpoint
        print(f"skanomaly benchmark: error: {exc}", file=sys.stderr)
        return 1
    result.metadata["command"] = "skanomaly " + shlex.join(args.argv)
    print(result.format_tables(per_class=not args.quiet))
    print(f"finished in {result.metadata['wall_s']:.1f} s")
    if args.checkpoint is not None:
        print(
            f"resumed {result.metadata['resumed_rows']} of {len(result.rows)} rows "
            f"from {args.checkpoint}"
        )
    for output in outputs:
        result.save(output)
        print(f"wrote {output}")
    failed = [row for row in result.rows if row["error"]]
    for row in failed:
        print(
            f"skanomaly benchmark: {row['detector']} failed on normal class "
            f"{row['normal_class']}: {row['error']}",
            file=sys.stderr,
        )
    return 1 if failed else 0


def _detectors(args, parser):
    descriptions = describe_detectors()
    width = max(map(len, descriptions))
    for name, text in descriptions.items():
        default = " (default)" if name in DEFAULT_DETECTORS else ""
        print(f"{name.ljust(width)}  {text}{default}")
    return 0


def main(argv=None):
    """Run the ``skanomaly`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    status : int
        0 on success, 1 when a detector failed or the data is missing; argparse
        exits with 2 on bad arguments.

    Examples
    --------
    >>> from skanomaly.cli import main
    >>> main([])  # no command: the help  # doctest: +ELLIPSIS
    usage: skanomaly [-h] [--version] COMMAND ...
    ...
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    args.argv = argv
    with warnings.catch_warnings():
        # PyOD and numba announce deprecations on import; keep the report clean
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return args.handler(args, parser)


if __name__ == "__main__":
    sys.exit(main())
