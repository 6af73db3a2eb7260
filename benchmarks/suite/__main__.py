"""``python -m benchmarks.suite {list,run,report}``: the suite's command line."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from benchmarks.suite.experiments import EXPERIMENTS_FILE, RESULTS, load_experiments


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.suite",
        description="The declarative benchmark suite (benchmarks/experiments.toml).",
    )
    parser.add_argument(
        "--experiments", type=Path, default=EXPERIMENTS_FILE, help="the declarations"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the experiments and their result files")
    run = commands.add_parser(
        "run",
        help="run experiments (resumable: finished rows are read from the checkpoint)",
    )
    run.add_argument("names", nargs="+", metavar="NAME")
    run.add_argument(
        "--smoke",
        action="store_true",
        help="tiny data, one epoch, one seed and class; results go to --results "
        "(default: a temporary folder), never to benchmarks/results",
    )
    run.add_argument("--results", type=Path, default=None, help="results folder")
    run.add_argument(
        "--data-home",
        default=None,
        help="folder of data files (default: $SKANOMALY_DATA and the loaders' defaults)",
    )
    run.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.add_argument(
        "--no-report", action="store_true", help="do not rewrite the pages afterwards"
    )
    report = commands.add_parser(
        "report", help="write docs/benchmarks/ and the README table from the results"
    )
    report.add_argument("--results", type=Path, default=RESULTS)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    experiments = load_experiments(args.experiments)
    if args.command == "list":
        from benchmarks.suite.runner import load_result

        for name, experiment in experiments.items():
            result = load_result(name)
            state = (
                f"{len(result[0])} rows, {result[1]['finished']}"
                if result
                else "not run"
            )
            print(f"{name:<20} {experiment.kind:<11} {state:<32} {experiment.title}")
        return 0
    if args.command == "report":
        from benchmarks.suite.report import write_report

        for path in write_report(experiments, results=args.results):
            print(f"wrote {path}")
        return 0
    unknown = [name for name in args.names if name not in experiments]
    if unknown:
        print(f"unknown experiments {unknown}; see 'list'", file=sys.stderr)
        return 2
    import tempfile

    from benchmarks.suite.runner import run_experiment

    results = args.results
    if args.smoke and results is None:
        results = Path(tempfile.mkdtemp(prefix="skanomaly-smoke-"))
    results = results or RESULTS
    for name in args.names:
        experiment = experiments[name]
        if args.smoke:
            experiment = experiment.as_smoke()
        rows, metadata = run_experiment(
            experiment,
            results=results,
            data_home=args.data_home,
            device=args.device,
            progress=not args.quiet,
            command="python -m benchmarks.suite " + shlex.join(argv),
        )
        print(f"{name}: {len(rows)} rows in {metadata['wall_s']} s -> {results}")
    if not args.smoke and not args.no_report and results == RESULTS:
        from benchmarks.suite.report import write_report

        for path in write_report(experiments, results=results):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
