"""The benchmark engine shared by the ``skanomaly`` command and benchmarks/ scripts.

:func:`run_benchmark` fits every detector on every one-class task of a data set
(each class as normal in turn, or the chosen ones), times fitting and scoring,
and computes ROC AUC, average precision, FPR at 99.5 % TPR and the best F1 with
the anomalies as the positive class. Detectors are estimators (skanomaly,
scikit-learn or PyOD) or names from :data:`DETECTOR_FACTORIES`, built for a
:class:`Budget`. The :class:`BenchmarkResult` prints tables and writes CSV,
markdown or JSON; every file records the seed, the budget, the device, the
library versions, the date and the CPU. Given a ``checkpoint`` file, a run
appends each finished row to it and a rerun resumes from it.

The package has one module per concern; import the public names from here:

- ``_budgets``: :class:`Budget`, :data:`BUDGETS`, :func:`get_budget`;
- ``_registry``: :data:`DETECTOR_FACTORIES`, :data:`DEFAULT_DETECTORS`,
  :func:`make_detector`, :func:`describe_detectors`, :func:`paper_value`;
- ``_data``: :data:`DATASETS`, :data:`ADBENCH_SPLIT`, :func:`load_benchmark_data`,
  :func:`adbench_datasets`;
- ``_environment``: :func:`environment_info`;
- ``_results``: :class:`BenchmarkResult`, :data:`METRIC_COLUMNS`,
  :data:`TIME_COLUMNS`, :data:`TPR_LEVEL`;
- ``_checkpoint``: the JSON lines checkpoint files of resumable runs;
- ``_engine``: :func:`run_benchmark`.
"""

from skanomaly.benchmarking._budgets import BUDGETS, Budget, get_budget
from skanomaly.benchmarking._data import (
    ADBENCH_SPLIT,
    DATASETS,
    adbench_datasets,
    load_benchmark_data,
)
from skanomaly.benchmarking._engine import run_benchmark
from skanomaly.benchmarking._environment import environment_info
from skanomaly.benchmarking._registry import (
    DEFAULT_DETECTORS,
    DETECTOR_FACTORIES,
    describe_detectors,
    make_detector,
    paper_value,
)
from skanomaly.benchmarking._results import (
    METRIC_COLUMNS,
    TIME_COLUMNS,
    TPR_LEVEL,
    BenchmarkResult,
)

__all__ = [
    "ADBENCH_SPLIT",
    "BUDGETS",
    "DATASETS",
    "DEFAULT_DETECTORS",
    "DETECTOR_FACTORIES",
    "METRIC_COLUMNS",
    "TIME_COLUMNS",
    "TPR_LEVEL",
    "BenchmarkResult",
    "Budget",
    "adbench_datasets",
    "describe_detectors",
    "environment_info",
    "get_budget",
    "load_benchmark_data",
    "make_detector",
    "paper_value",
    "run_benchmark",
]
