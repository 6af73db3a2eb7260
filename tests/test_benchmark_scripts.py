"""The benchmark scripts still run against the library they measure.

They are not part of the package and no figure is checked here; these tests
catch a script left behind by a change of the library (a renamed function, a
private hook a script uses), which otherwise shows only hours into a run.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))


def load_script(path):
    """Import a benchmark script as a module (its ``main`` is not run)."""
    sys.path.insert(0, str(BENCHMARKS))  # scripts import their neighbours
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def test_there_are_scripts():
    assert len(SCRIPTS) > 10


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_script_imports(path):
    module = load_script(path)
    assert callable(getattr(module, "main", None)), f"{path.name} has no main()"


def test_budget_curve_scores_puzzle_ae_at_each_mark():
    """The curve script's PuzzleAE path: the score statistics of a network in
    training, the test set scored at each mark, the fit ended after the last."""
    curve = load_script(BENCHMARKS / "bench_budget_curve.py")
    rng = np.random.RandomState(0)
    X_train = rng.rand(24, 784).astype(np.float32) * 0.2
    X_test = np.vstack([rng.rand(8, 784) * 0.2, rng.rand(8, 784)]).astype(np.float32)
    y_test = np.r_[np.zeros(8), np.ones(8)].astype(int)
    # every mark is passed after the first epoch: one point, then the fit ends
    points = curve.run_puzzle([0.0], 0, X_train, X_test, y_test, score_threads=1)
    assert [p["epochs"] for p in points] == [1]
    assert 0.0 <= points[0]["auc"] <= 1.0


def test_puzzle_ae_stability_record_scores_the_last_epochs():
    """bench_puzzle_ae_fashion_mnist.py's per-epoch record of the test AUC
    (reporting only) reads a PuzzleAE in the middle of its fit."""
    from skanomaly import PuzzleAE

    script = load_script(BENCHMARKS / "bench_puzzle_ae_fashion_mnist.py")
    rng = np.random.RandomState(0)
    X_train = rng.rand(24, 64).astype(np.float32) * 0.2
    X_test = np.vstack([rng.rand(6, 64) * 0.2, rng.rand(6, 64)]).astype(np.float32)
    y_test = np.r_[np.zeros(6), np.ones(6)].astype(int)
    det = PuzzleAE(
        base_width=2,
        discriminator_width=2,
        max_epochs=3,
        batch_size=8,
        input_shape=(1, 8, 8),
        random_state=0,
        device="cpu",
    )
    record = script.TestAUCAfterEpoch(det, X_train, X_test, y_test, last=2)
    det.set_params(callbacks=[("test_auc_reporting_only", record)])
    det.fit(X_train)
    assert [r["epoch"] for r in record.records] == [2, 3]
    assert all(0.0 <= r["max"] <= 1.0 for r in record.records)


def test_batch_clock_scores_inside_the_first_epoch():
    """The clock for long epochs (PuzzleAE's paper configuration) checks its
    marks after every training batch and ends the fit after the last."""
    from skanomaly import DenoisingAE

    curve = load_script(BENCHMARKS / "bench_budget_curve.py")
    seen = []
    clock = curve.BatchClock(
        [0.0], lambda module: seen.append(module) or 0.5, stop=curve.MarksReached
    )
    det = DenoisingAE(hidden_dims=(4, 2), max_epochs=5, batch_size=8, random_state=0)
    det._callbacks = lambda ctx: [("clock", clock)]
    with pytest.raises(curve.MarksReached):
        det.fit(np.random.RandomState(0).rand(40, 6))
    # 32 of the 40 rows train (8 calibrate): 4 batches of 8
    assert clock.batches == 1 and clock.batches_per_epoch == 4
    assert clock.points == [
        {"fit_s": clock.points[0]["fit_s"], "epochs": 0.25, "auc": 0.5}
    ]
    assert len(seen) == 1


def test_budget_curve_test_subset_keeps_every_normal_image():
    """``--anomalies-per-class``: all normal images, the same number of each
    anomaly class, a seeded draw, and a clear error when a class is too small."""
    curve = load_script(BENCHMARKS / "bench_budget_curve.py")
    labels = np.repeat(np.arange(4), 10)
    rows = curve.stratified_test_rows(labels, 2, 3, seed=0)
    assert np.array_equal(np.bincount(labels[rows]), [3, 3, 10, 3])
    assert np.all(np.diff(rows) > 0)
    assert np.array_equal(rows, curve.stratified_test_rows(labels, 2, 3, seed=0))
    assert not np.array_equal(rows, curve.stratified_test_rows(labels, 2, 3, seed=1))
    with pytest.raises(ValueError, match="exceeds the 10 test images of class 0"):
        curve.stratified_test_rows(labels, 2, 11, seed=0)


def test_budget_curve_subsample_standard_error():
    """No error when every anomaly is drawn; it shrinks as more are drawn."""
    curve = load_script(BENCHMARKS / "bench_budget_curve.py")
    se = curve.subsample_standard_error
    assert se(0.8, 9000, 9000) == 0.0
    assert se(0.8, 4000, 9000) < se(0.8, 1000, 9000) < se(0.8, 100, 9000)
    # Hanley and McNeil: Q2 - A^2 with Q2 = 2 A^2 / (1 + A)
    assert se(0.5, 100, 10**9) == pytest.approx(np.sqrt((0.5 / 1.5 - 0.25) / 100))


def test_budget_curve_scoring_threads_are_restored(monkeypatch):
    """``--score-threads``: the scoring at a mark runs on its own thread count
    and the training goes on with the one it had."""
    import torch

    curve = load_script(BENCHMARKS / "bench_budget_curve.py")
    rng = np.random.RandomState(0)
    X_train = rng.rand(24, 784).astype(np.float32) * 0.2
    X_test = np.vstack([rng.rand(4, 784) * 0.2, rng.rand(4, 784)]).astype(np.float32)
    y_test = np.r_[np.zeros(4), np.ones(4)].astype(int)
    before = torch.get_num_threads()
    seen = []
    scored = curve.puzzle_auc_on_test

    def recorded(*args):
        seen.append(torch.get_num_threads())
        return scored(*args)

    monkeypatch.setattr(curve, "puzzle_auc_on_test", recorded)
    for score_threads in (before + 1, None):
        curve.run_puzzle([0.0], 0, X_train, X_test, y_test, score_threads=score_threads)
        assert torch.get_num_threads() == before
    assert seen == [before + 1, before]


def test_paper_cost_times_every_stage_and_counts_its_steps():
    """bench_paper_cost.py cuts each stage of a fit to a few steps, times
    them, and counts the steps the stage would train (epochs times steps per
    epoch of the data the stage was given)."""
    from skanomaly import LISAE

    script = load_script(BENCHMARKS / "bench_paper_cost.py")
    X = np.random.RandomState(0).rand(40, 6)
    det = LISAE(
        architecture="mlp",
        latent_dim=2,
        width=4,
        max_epochs=7,
        phase2_epochs=3,
        batch_size=8,
        random_state=0,
    )
    costs = script.stage_costs(det, X, n_batches=3)
    assert list(costs) == ["feature_extraction", "latent_shaping"]
    extraction = costs["feature_extraction"]
    assert extraction["epochs"] == 7 and extraction["batch_size"] == 8
    assert extraction["steps"] == 7 * extraction["steps_per_epoch"] > 0
    assert extraction["fit_s"] == pytest.approx(
        extraction["s_per_step"] * extraction["steps"], abs=0.1
    )
    # cut after 3 steps: one epoch row per stage, each with 3 batches or fewer
    assert det.n_epochs_per_stage_ == {"feature_extraction": 1, "latent_shaping": 1}
    assert script.duration(30) == "30 s" and script.duration(5400) == "1.5 h"
