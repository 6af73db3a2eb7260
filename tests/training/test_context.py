"""skanomaly.training.FitContext: what fit hands to the hooks."""

import numpy as np
import pytest

from skanomaly import DenoisingAE
from skanomaly.training import FitContext


class ContextAE(DenoisingAE):
    def _fit_stages(self, ctx):
        self.ctx_ = ctx
        super()._fit_stages(ctx)


SMALL = {"hidden_dims": (4, 2), "max_epochs": 2, "device": "cpu", "random_state": 0}


def test_fit_fills_the_context():
    X = np.random.RandomState(0).uniform(size=(20, 1, 2, 3))
    det = ContextAE(**SMALL).fit(X)
    ctx = det.ctx_
    assert isinstance(ctx, FitContext)
    assert ctx.input_shape == (1, 2, 3) and ctx.n_features == 6
    # 4 of the 20 rows are held out to calibrate the threshold
    assert ctx.X.shape == (16, 6) and ctx.X.dtype == np.float32
    assert ctx.device == det.device_ and isinstance(ctx.seed, int)
    assert ctx.arrays == {}
    assert ctx.history is det.history_ and ctx.stage_epochs == det.n_epochs_per_stage_
    assert ctx.in_unit_interval()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_in_unit_interval_looks_at_the_scaled_data():
    raw = np.random.RandomState(0).normal(100, 10, size=(20, 3))
    assert ContextAE(**SMALL).fit(raw).ctx_.in_unit_interval()  # scaled per feature
    unscaled = ContextAE(**SMALL, scaling="none").fit(raw).ctx_
    assert not unscaled.in_unit_interval()
