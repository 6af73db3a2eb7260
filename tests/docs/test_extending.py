"""docs/extending.md: its worked example runs as written and keeps the contract,
and its lists of hooks and FitContext fields match the code.

The worked example is the Python block after the marker comment; it is executed
into a module registered in ``sys.modules`` so that its classes pickle.
"""

import contextlib
import dataclasses
import io
import pickle
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import check_estimator, check_param_validation

from skanomaly.base import BaseDeepDetector
from skanomaly.training import DetectorNet, FitContext
from skanomaly.utils._testing import HELD_OUT_THRESHOLD_CHECKS

PAGE = Path(__file__).resolve().parents[2] / "docs" / "extending.md"
MARKER = "<!-- worked example: run by tests/docs/test_extending.py -->"
MODULE_NAME = "skanomaly_docs_extending_example"

#: the budget of the page's example (it leaves the plateau on 120 digits)
BUDGET = {"max_epochs": 40, "batch_size": 16, "lr": 1e-2, "random_state": 0}
#: small settings for scikit-learn's checks, as an INIT_PARAMS entry would be
CHECK_PARAMS = {
    "hidden_dims": (16, 8),
    "max_epochs": 2,
    "head_epochs": 2,
    "batch_size": 32,
    "device": "cpu",
    "random_state": 0,
}


def _page():
    return PAGE.read_text()


def _section(title):
    """The text of the ``## title`` section, up to the next ``## `` heading."""
    match = re.search(
        rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", _page(), re.S | re.M
    )
    assert match, f"docs/extending.md has no section {title!r}"
    return match.group(1)


def _hook_names(title):
    """Every name in backticks in the ``###`` headings of a section."""
    headings = re.findall(r"^### (.*)$", _section(title), re.M)
    return [name for heading in headings for name in re.findall(r"`(\w+)", heading)]


def _global_rng_states():
    numpy_state = np.random.get_state()  # noqa: NPY002 (the global is the point)
    return torch.random.get_rng_state(), numpy_state


def _same_rng_states(a, b):
    return (
        torch.equal(a[0], b[0])
        and a[1][0] == b[1][0]
        and np.array_equal(a[1][1], b[1][1])
    )


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """The networks are tiny: more intra-op threads only cost time on 2 cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def example():
    """The example block run once: its module, what it printed, RNG untouched."""
    match = re.search(re.escape(MARKER) + r"\s*```python\n(.*?)```", _page(), re.S)
    assert match, f"no python block right after {MARKER!r}"
    module = types.ModuleType(MODULE_NAME)
    sys.modules[MODULE_NAME] = module  # pickle finds the classes by module name
    before = _global_rng_states()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(match.group(1), str(PAGE), "exec"), module.__dict__)
        rng_kept = _same_rng_states(before, _global_rng_states())
        yield types.SimpleNamespace(
            module=module, out=out.getvalue().splitlines(), rng_kept=rng_kept
        )
    finally:
        del sys.modules[MODULE_NAME]


@pytest.fixture(scope="module")
def digits():
    """Digits in [0, 1]: the example's 120 training zeros, every other image."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    train = np.flatnonzero(y == 0)[:120]
    test = np.setdiff1d(np.arange(len(X)), train)
    return types.SimpleNamespace(
        X_train=X[train], X_test=X[test], y_test=(y[test] != 0).astype(int), X=X, y=y
    )


@pytest.fixture(scope="module")
def fitted(example, digits):
    return example.module.TwoStageAE(**BUDGET, device="cpu").fit(digits.X_train)


def _copy(det):
    return pickle.loads(pickle.dumps(det))


# ------------------------------------------------------------ the example
def test_worked_example_runs_as_written(example):
    assert example.out[0] == "{'reconstruct': 40, 'calibrate': 10}"
    assert float(example.out[1]) > 0.99  # AUC, training images included
    assert example.rng_kept, "the example changed the global random state"


def test_learns_digit_zero(fitted, digits):
    auc = roc_auc_score(digits.y_test, -fitted.score_samples(digits.X_test))
    assert auc > 0.95


def test_history_has_both_stages_in_order(fitted):
    assert fitted.n_epochs_per_stage_ == {"reconstruct": 40, "calibrate": 10}
    assert list(fitted.n_epochs_per_stage_) == ["reconstruct", "calibrate"]
    assert fitted.n_epochs_ == 50
    history = fitted.history_
    stages = ["reconstruct"] * 40 + ["calibrate"] * 10
    assert [row["stage"] for row in history] == stages
    assert [row["epoch"] for row in history] == list(range(1, 51))
    assert all(np.isfinite(row["train_loss"]) for row in history)
    # the calibrate stage trains on the 96 training images (20 % of the 120
    # are held out for the threshold) and 96 negatives, batch 16
    assert {row["train_batch_count"] for row in history[40:]} == {12}
    assert {row["train_batch_count"] for row in history[:40]} == {6}


def test_each_optimizer_sees_only_its_module(fitted):
    net = fitted.net_
    assert net._modules == ["module", "head"]
    assert net._optimizers == ["optimizer", "optimizer_head"]

    def ids(params):
        return {id(p) for p in params}

    def optimized(optimizer):
        return ids(p for group in optimizer.param_groups for p in group["params"])

    assert optimized(net.optimizer_) == ids(net.module_.parameters())
    assert optimized(net.optimizer_head_) == ids(net.head_.parameters())
    assert net.optimizer_head_.param_groups[0]["lr"] == fitted.head_lr


def test_pickle_round_trip_keeps_both_modules(fitted, digits):
    restored = _copy(fitted)
    np.testing.assert_array_equal(
        restored.score_samples(digits.X_test), fitted.score_samples(digits.X_test)
    )
    for a, b in zip(
        restored.net_.head_.state_dict().values(),
        fitted.net_.head_.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b)
    assert restored.net_.optimizer_head_.state_dict()["state"]


# ----------------------------------------------------------------- scoring
@pytest.mark.parametrize("training", [True, False])
def test_scoring_uses_eval_mode_and_restores_it(fitted, digits, training):
    det = _copy(fitted)
    modules = [det.net_.module_, det.net_.head_]
    seen = []
    hooks = [
        module.register_forward_pre_hook(lambda m, args: seen.append(m.training))
        for module in modules
    ]
    try:
        for module in modules:
            module.train(training)
        det.score_samples(digits.X_test[:40])
    finally:
        for hook in hooks:
            hook.remove()
    assert seen and not any(seen)  # both modules ran, in eval mode
    assert len(seen) >= 2 * 3  # three batches of 16, each through both modules
    assert [module.training for module in modules] == [training, training]


def test_scores_do_not_depend_on_the_batch_split(fitted, digits):
    X = digits.X_test[:50]
    full = fitted.score_samples(X)
    parts = [fitted.score_samples(X[a:b]) for a, b in ((0, 7), (7, 23), (23, 50))]
    np.testing.assert_array_equal(np.concatenate(parts), full)
    order = np.random.RandomState(0).permutation(len(X))
    np.testing.assert_array_equal(fitted.score_samples(X[order]), full[order])
    assert full.dtype == np.float64


def test_anomaly_score_module_matches_score_samples_with_gradients(fitted, digits):
    det = _copy(fitted)
    module = det.anomaly_score_module()
    x = torch.tensor(digits.X_test[:10], requires_grad=True)
    score = module(x)
    np.testing.assert_allclose(
        score.detach().double().numpy(),
        -det.score_samples(digits.X_test[:10]),
        rtol=1e-5,
    )
    score.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    # the head's term is part of the differentiable score
    codes = det.net_.module_.encode(x)
    head_term = torch.nn.functional.softplus(det.net_.head_(codes).squeeze(1))
    (grad_head,) = torch.autograd.grad(head_term.sum(), x)
    assert grad_head.abs().sum() > 0


# ------------------------------------------------------------ extra array
def test_negatives_reach_only_the_head(example, fitted, digits):
    ones = digits.X[digits.y == 1][:100]
    det = example.module.TwoStageAE(**BUDGET, device="cpu")
    det.fit(digits.X_train, X_negative=ones)
    # the reconstruct stage is the same; the frozen encoder stays as it was
    np.testing.assert_array_equal(
        det.reconstruct(digits.X_test), fitted.reconstruct(digits.X_test)
    )
    assert not torch.equal(det.net_.head_.weight, fitted.net_.head_.weight)
    # 96 training images and 100 negatives, batch 16
    assert {row["train_batch_count"] for row in det.history_[40:]} == {13}


def test_negatives_are_optional_and_validated(example, fitted, digits):
    cls = example.module.TwoStageAE
    det = cls(**BUDGET, device="cpu").fit(digits.X_train, X_negative=None)
    np.testing.assert_array_equal(
        det.score_samples(digits.X_test), fitted.score_samples(digits.X_test)
    )
    small = cls(**CHECK_PARAMS)
    with pytest.raises(ValueError, match="X_negative"):
        small.fit(digits.X_train, X_negative=digits.X_train[:, :10])
    with pytest.raises(ValueError, match="unexpected fit parameters"):
        small.fit(digits.X_train, X_negatives=digits.X_train)


# -------------------------------------------------------------- scikit-learn
@pytest.mark.foreign_rng  # scikit-learn's checks draw from numpy's global RNG
def test_passes_check_estimator(example):
    check_estimator(
        example.module.TwoStageAE(**CHECK_PARAMS),
        on_skip=None,
        expected_failed_checks=HELD_OUT_THRESHOLD_CHECKS,
    )


def test_every_parameter_has_a_constraint(example):
    check_param_validation("TwoStageAE", example.module.TwoStageAE(**CHECK_PARAMS))


# ------------------------------------------------------- the page's lists
def test_documented_estimator_hooks_exist_on_the_base():
    names = _hook_names("Estimator hooks")
    assert len(names) >= 15
    missing = [name for name in names if not hasattr(BaseDeepDetector, name)]
    assert not missing, f"docs/extending.md documents hooks the base lacks: {missing}"
    undocumented = set(BaseDeepDetector.__abstractmethods__) - set(names)
    assert not undocumented, f"required hooks missing from the page: {undocumented}"


def test_documented_net_hooks_exist_on_detector_net():
    names = _hook_names("Net hooks")
    assert len(names) >= 10
    missing = [name for name in names if not hasattr(DetectorNet, name)]
    assert not missing, f"docs/extending.md documents net hooks that lack: {missing}"


def test_fit_context_table_lists_every_field():
    documented = re.findall(r"^\| `(\w+)", _section("FitContext"), re.M)
    fields = {spec.name for spec in dataclasses.fields(FitContext)}
    members = {name for name in vars(FitContext) if not name.startswith("_")}
    assert set(documented) == fields | members
