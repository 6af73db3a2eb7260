"""Searches and cross-validation on a dask cluster give the serial run's scores.

Needs the ``distributed`` extra (``pip install "skanomaly[distributed]"``); the
tests skip when dask is absent. docs/scaling.md shows the same search.
"""

import numpy as np
import pytest
import torch
from joblib import parallel_config
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from skanomaly import DenoisingAE
from skanomaly.metrics import get_novelty_scorer
from skanomaly.model_selection import InlierOnly
from skanomaly.utils._testing import COMMON_TEST_PARAMS, INIT_PARAMS

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask")

SCORE_KEYS = ("split0_test_score", "split1_test_score", "mean_test_score")


@pytest.fixture(scope="module")
def digits_zero_vs_rest():
    """Digit 0 (178 inliers) against 60 other digits (outliers, label 1)."""
    X, digit = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    rng = np.random.RandomState(0)
    rows = np.r_[
        np.flatnonzero(digit == 0),
        rng.choice(np.flatnonzero(digit != 0), 60, replace=False),
    ]
    return X[rows], (digit[rows] != 0).astype(int)


def _search():
    detector = DenoisingAE(**{**INIT_PARAMS["DenoisingAE"], **COMMON_TEST_PARAMS})
    return GridSearchCV(
        InlierOnly(detector),
        {"estimator__noise_scale": [0.0, 0.3]},
        scoring=get_novelty_scorer("roc_auc"),
        cv=StratifiedKFold(n_splits=2, shuffle=True, random_state=0),
        n_jobs=2,
    )


def _cross_val(X, y, n_jobs):
    detector = DenoisingAE(**{**INIT_PARAMS["DenoisingAE"], **COMMON_TEST_PARAMS})
    return cross_val_score(
        InlierOnly(detector),
        X,
        y,
        scoring=get_novelty_scorer("average_precision"),
        cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=1),
        n_jobs=n_jobs,
    )


@pytest.fixture(scope="module")
def serial_results(digits_zero_vs_rest):
    X, y = digits_zero_vs_rest
    search = _search().set_params(n_jobs=None).fit(X, y)
    return search.cv_results_, _cross_val(X, y, n_jobs=None)


@pytest.mark.parametrize(
    "processes",
    [
        # worker processes take about 8 s to start; threads test the same path
        pytest.param(True, id="worker-processes", marks=pytest.mark.slow),
        pytest.param(False, id="worker-threads"),
    ],
)
def test_dask_search_and_cross_val_match_serial(
    digits_zero_vs_rest, serial_results, processes
):
    X, y = digits_zero_vs_rest
    serial_cv_results, serial_scores = serial_results
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        if processes:
            # the nanny starts each worker with OMP_NUM_THREADS=1: one torch
            # thread per worker, so two workers do not fight over the cores
            assert set(client.run(torch.get_num_threads).values()) == {1}
        with distributed.get_task_stream(client) as tasks, parallel_config("dask"):
            search = _search().fit(X, y)
            scores = _cross_val(X, y, n_jobs=2)
        assert len(tasks.data) > 0  # the fits ran on the cluster
    for key in SCORE_KEYS:
        np.testing.assert_array_equal(search.cv_results_[key], serial_cv_results[key])
    np.testing.assert_array_equal(scores, serial_scores)
    # the refit ran in this process, on the inliers only
    assert search.best_estimator_.n_inliers_ == 178
    assert np.isfinite(search.score_samples(X)).all()


def test_threading_backend_matches_serial(digits_zero_vs_rest, serial_results):
    # torch's generator is global to the process: fits in concurrent threads
    # take turns inside their seeded section, so their scores stay the serial ones
    X, y = digits_zero_vs_rest
    with parallel_config("threading"):
        scores = _cross_val(X, y, n_jobs=2)
    np.testing.assert_array_equal(scores, serial_results[1])
