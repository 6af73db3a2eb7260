"""
========================================
Teaching LISAE what to reject: negatives
========================================

Sometimes you know what a *near miss* looks like: data that is not normal
but resembles it. LIS-AE (:class:`skanomaly.LISAE`) can use such
**negative examples**: after training an autoencoder on the normal data, it
retrains the autoencoder's latent layer so that normal rows still
reconstruct well and negatives no longer do. Without given negatives it
makes its own, distorted copies of the training rows.

The task, on scikit-learn's 8x8 digits: eights are normal. A plain
autoencoder of eights separates ones from eights less well than it separates
the other digits (the first row of the table below), so half of the ones are
given as negatives; the other half, never seen in training, test whether the
detector learned to reject ones in general.
"""

# %%
# Normal rows, negatives and the test sets
# ----------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skanomaly import LISAE, Negatives
from skanomaly.datasets import load_digits_unit
from skanomaly.metrics import novelty_roc_auc

digits = load_digits_unit()
X, digit = digits.data, digits.target
train_rows, test_eights = train_test_split(
    np.flatnonzero(digit == 8), train_size=0.8, random_state=0
)
negative_rows, test_ones = train_test_split(
    np.flatnonzero(digit == 1), train_size=0.5, random_state=0
)
other_rows = np.flatnonzero((digit != 8) & (digit != 1))
print(f"{len(train_rows)} training eights, {len(negative_rows)} ones as negatives")
print(
    f"test: {len(test_eights)} eights, {len(test_ones)} unseen ones, "
    f"{len(other_rows)} other digits"
)

# %%
# Three fits of the same network
# ------------------------------
# - ``phase2_epochs=0`` stops after the first stage: a plain autoencoder,
#   the reference;
# - the default, with LIS-AE's built-in negatives;
# - the given negatives, wrapped in :class:`skanomaly.Negatives` and passed
#   to ``fit``. They are scaled like the training rows and paired with them
#   in the second stage.
#
# Each fit takes about a second here.
common = {"input_shape": digits.input_shape, "device": "cpu", "random_state": 0}
fits = {
    "autoencoder only": LISAE(phase2_epochs=0, **common).fit(X[train_rows]),
    "built-in negatives": LISAE(**common).fit(X[train_rows]),
    "ones as negatives": LISAE(**common).fit(
        X[train_rows], X_negative=Negatives(X[negative_rows])
    ),
}


# %%
# Which anomalies are caught?
# ---------------------------
# The AUC of the held-out eights against the unseen ones, and against all
# other digits.
def auc_against(det, anomaly_rows):
    normal = -det.score_samples(X[test_eights])
    anomalous = -det.score_samples(X[anomaly_rows])
    labels = np.r_[np.zeros(len(normal)), np.ones(len(anomalous))]
    return novelty_roc_auc(labels, np.r_[normal, anomalous])


table = {
    name: (auc_against(det, test_ones), auc_against(det, other_rows))
    for name, det in fits.items()
}
print(f"{'':20s}{'unseen ones':>12s}{'other digits':>14s}")
for name, (ones, others) in table.items():
    print(f"{name:20s}{ones:12.3f}{others:14.3f}")

fig, ax = plt.subplots(figsize=(6, 3.5))
x = np.arange(2)
for i, (name, values) in enumerate(table.items()):
    ax.bar(x + (i - 1) * 0.27, values, 0.27, label=name)
ax.set_xticks(x, ["eights vs unseen ones", "eights vs other digits"])
ax.set_ylim(0.8, 1.0)
ax.set_ylabel("ROC AUC")
ax.legend(ncol=3, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0))
fig.tight_layout()
plt.show()

# %%
# Negatives help against the kind of anomaly they stand for; on the other
# digits the change is small, and it can go either way. Choose negatives that
# resemble the anomalies you fear, keep them out of the test data as here,
# and compare with ``phase2_epochs=0`` on validation data before keeping
# them.
#
# Decisions
# ---------
# ``predict`` uses each model's own calibrated threshold (held-out training
# eights, ``contamination=0.1``), so the share of unseen ones it flags is
# comparable across the three models. The histograms show where the unseen
# ones fall relative to each threshold: ``decision_function`` is negative for
# rows flagged as outliers.
print(f"{'':20s}{'eights flagged':>16s}{'unseen ones flagged':>21s}")
for name, det in fits.items():
    eights_flagged = np.mean(det.predict(X[test_eights]) == -1)
    ones_flagged = np.mean(det.predict(X[test_ones]) == -1)
    print(f"{name:20s}{eights_flagged:16.3f}{ones_flagged:21.3f}")

fig, axes = plt.subplots(1, 2, figsize=(8, 3), sharey=True)
for ax, name in zip(axes, ["autoencoder only", "ones as negatives"], strict=True):
    det = fits[name]
    ax.hist(det.decision_function(X[test_eights]), bins=20, alpha=0.6, label="eights")
    ax.hist(
        det.decision_function(X[test_ones]), bins=20, alpha=0.6, label="unseen ones"
    )
    ax.axvline(0.0, color="k", linestyle="--")
    ax.set_title(name, fontsize=10)
    ax.set_xlabel("decision_function (< 0: outlier)")
axes[0].set_ylabel("test images")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()
