"""
==============================================
A novelty detector in a scikit-learn Pipeline
==============================================

Novelty detection learns what *normal* rows look like from normal rows only,
then flags new rows that do not fit. Every skanomaly detector is a
scikit-learn estimator, so it can sit at the end of a
:class:`~sklearn.pipeline.Pipeline` with your preprocessing, be fitted on
normal data, and score, threshold and label new rows.

Here the breast cancer data set of scikit-learn becomes a novelty task: benign
tumours are the normal class, malignant ones the anomalies the detector never
sees during training.
"""

# %%
# The task
# --------
# :func:`skanomaly.datasets.one_class_split` turns a labelled data set into a
# novelty task. With ``protocol=1`` a seeded 80 % of the normal rows (benign,
# label 1 in scikit-learn) train; the test set holds the other benign rows and
# every malignant one. In ``y_test`` the anomalies are marked 1, the
# convention of :mod:`skanomaly.metrics`.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skanomaly import ARAE
from skanomaly.datasets import one_class_split
from skanomaly.metrics import novelty_roc_auc

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_test = one_class_split(
    X, y, normal_classes=1, protocol=1, random_state=0
)
print(f"training rows (benign only): {len(X_train)}")
print(f"test rows: {np.sum(y_test == 0)} benign, {np.sum(y_test == 1)} malignant")

# %%
# The pipeline
# ------------
# The features live on very different scales (areas in the hundreds,
# smoothness around 0.1), so a :class:`~sklearn.preprocessing.MinMaxScaler`
# maps each one to [0, 1] on the training rows. ARAE measures its adversarial
# budget ``epsilon`` in those units. (The detectors would min-max scale data
# outside [0, 1] by themselves, ``scaling="auto"``; a Pipeline makes the step
# explicit and lets you put any other preprocessing in front.)
#
# The default training budget adapts to the data (here at least 600
# optimiser steps), which takes a few seconds on a CPU.
pipe = make_pipeline(MinMaxScaler(), ARAE(device="cpu", random_state=0))
pipe.fit(X_train)  # normal rows only: no labels

# %%
# Scores, ranking quality and decisions
# -------------------------------------
# ``score_samples`` is higher for more normal rows, as in scikit-learn, so the
# anomaly score is its negative. The ROC AUC measures how well the scores rank
# the malignant rows above the benign ones, whatever the threshold.
anomaly_scores = -pipe.score_samples(X_test)
print(f"ROC AUC on the test rows: {novelty_roc_auc(y_test, anomaly_scores):.3f}")

# %%
# ``predict`` decides: +1 for an inlier, -1 for an outlier. Its threshold was
# calibrated during ``fit`` on 20 % of the training rows held out from the
# network (``calibration=0.2``), so that about ``contamination`` (default 0.1)
# of *unseen* normal rows are flagged at most. The share of benign test rows
# flagged below is that false-positive rate; the share of malignant rows
# flagged is the detection rate.
labels = pipe.predict(X_test)
print(f"benign rows flagged:    {np.mean(labels[y_test == 0] == -1):.3f}")
print(f"malignant rows flagged: {np.mean(labels[y_test == 1] == -1):.3f}")

# %%
# The threshold follows ``contamination`` without refitting: a stricter false
# alarm budget flags fewer rows of both kinds. Parameters of a Pipeline's step
# are set as ``<step name>__<parameter>``.
pipe.set_params(arae__contamination=0.02)
labels_strict = pipe.predict(X_test)
print("contamination=0.02:")
print(f"benign rows flagged:    {np.mean(labels_strict[y_test == 0] == -1):.3f}")
print(f"malignant rows flagged: {np.mean(labels_strict[y_test == 1] == -1):.3f}")
pipe.set_params(arae__contamination=0.1)

# %%
# Where the threshold falls
# -------------------------
# The detector's threshold on ``score_samples`` is ``offset_`` (reached
# through the Pipeline's last step), so the anomaly score threshold is
# ``-offset_``; ``decision_function`` is ``score_samples - offset_``, negative
# for outliers. The anomaly scores (sums of squared reconstruction errors)
# span orders of magnitude, so the histogram uses a logarithmic axis.
threshold = -pipe[-1].offset_
assert np.array_equal(pipe.decision_function(X_test) < 0, anomaly_scores > threshold)
bins = np.geomspace(anomaly_scores.min(), anomaly_scores.max(), 40)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist(anomaly_scores[y_test == 0], bins=bins, alpha=0.6, label="benign (normal)")
ax.hist(anomaly_scores[y_test == 1], bins=bins, alpha=0.6, label="malignant (anomaly)")
ax.axvline(threshold, color="k", linestyle="--", label="threshold (contamination=0.1)")
ax.set_xscale("log")
ax.set_xlabel("anomaly score, -score_samples (log scale)")
ax.set_ylabel("test rows")
ax.set_ylim(top=ax.get_ylim()[1] * 1.4)  # room for the legend
ax.legend(loc="upper right", fontsize=8)
fig.tight_layout()
plt.show()
