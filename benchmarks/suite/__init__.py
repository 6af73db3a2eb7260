"""The benchmark suite: experiments declared as data, one runner, one report.

- ``benchmarks/experiments.toml`` declares every experiment: its kind, data sets,
  protocol, classes, detectors with their parameters, budget, seeds;
- :func:`benchmarks.suite.runner.run_experiment` runs one on the package's
  engine (:func:`skanomaly.benchmarking.run_benchmark` for the AUC panels),
  resumable from its checkpoint ``results/NAME.jsonl``, one heavy job at a time
  (a lock file), with the device and library versions recorded in
  ``results/NAME.json``;
- :func:`benchmarks.suite.report.write_report` turns the result files into the
  benchmarks pages of the docs (``docs/benchmarks/``) and the README's summary
  table.

Each kind of experiment is a module of :mod:`benchmarks.suite.kinds` with
``run(experiment, context) -> rows`` and ``report(experiment, rows, metadata)
-> markdown``. Command line: ``python -m benchmarks.suite --help``.
"""
