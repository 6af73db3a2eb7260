"""Training through skorch's accelerate integration, in one CPU process."""

import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from skanomaly import ARAE, DenoisingAE
from skanomaly.training import accelerate

accelerate_lib = pytest.importorskip("accelerate")

X = np.random.RandomState(0).rand(64, 8).astype(np.float32)
PARAMS = {"hidden_dims": (8, 4), "max_epochs": 3, "random_state": 0}


def test_single_process_fit_matches_plain_fit_and_pickles():
    plain = DenoisingAE(device="cpu", **PARAMS).fit(X)
    with accelerate(accelerate_lib.Accelerator(cpu=True)):
        detector = DenoisingAE(**PARAMS).fit(X)
    # an ordinary net again, without the accelerator
    assert type(detector.net_).__name__ == "DenoisingNet"
    assert "accelerator" not in vars(detector.net_)
    assert detector.device_ == "cpu"
    scores = detector.score_samples(X)
    np.testing.assert_array_equal(scores, plain.score_samples(X))
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(detector)).score_samples(X), scores
    )


def test_unsupported_detector_raises():
    with (
        accelerate(accelerate_lib.Accelerator(cpu=True)),
        pytest.raises(ValueError, match="cannot train through accelerate"),
    ):
        ARAE(hidden_dims=(8, 4), max_epochs=1).fit(X)


def test_rejects_what_it_cannot_honour():
    with pytest.raises(TypeError, match="Accelerator"), accelerate(object()):
        pass
    accelerator = accelerate_lib.Accelerator(cpu=True, gradient_accumulation_steps=2)
    with (
        pytest.raises(ValueError, match="gradient_accumulation_steps"),
        accelerate(accelerator),
    ):
        pass


def test_scaling_guide_example_runs():
    page = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    block = next(b for b in blocks if "with accelerate(accelerator)" in b)
    exec(compile(block, "docs/scaling.md", "exec"), {})
