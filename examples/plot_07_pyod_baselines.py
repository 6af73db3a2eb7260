"""
================================
Comparing with PyOD's baselines
================================

Before trusting a deep detector, compare it with cheap classical ones: on
small tabular data a nearest-neighbour distance or an isolation forest is
often as good. :func:`skanomaly.adapters.from_pyod` wraps any PyOD detector as
a scikit-learn style detector (``score_samples``, higher = more normal), so
skanomaly's and PyOD's detectors go through the same loop and the same
sign-safe metrics of :mod:`skanomaly.metrics`.

Four novelty tasks from data sets that ship with scikit-learn, each fitted on
normal rows only.
"""

# %%
# The tasks
# ---------
# Each task trains on a seeded 80 % of one class and tests on the rest of that
# class and every other class (protocol 1 of
# :func:`skanomaly.datasets.one_class_split`).
import time

import matplotlib.pyplot as plt
import numpy as np
from pyod.models.iforest import IForest
from pyod.models.knn import KNN
from pyod.models.lof import LOF
from scipy.stats import rankdata
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_wine

from skanomaly import ARAE, DenoisingAE
from skanomaly.adapters import from_pyod
from skanomaly.datasets import load_digits_unit, one_class_split
from skanomaly.metrics import anomaly_score, fpr_at_tpr, novelty_roc_auc

cancer = load_breast_cancer()
wine = load_wine()
digits = load_digits_unit()
sources = {
    # name: (X, y, the normal class)
    "cancer (benign)": (cancer.data, cancer.target, 1),
    "wine (class 1)": (wine.data, wine.target, 1),
    "digits (8)": (digits.data, digits.target, 8),
    "digits (9)": (digits.data, digits.target, 9),
}
tasks = {
    name: one_class_split(X, y, normal_classes=normal, protocol=1, random_state=0)
    for name, (X, y, normal) in sources.items()
}
for name, (X_train, _, y_test) in tasks.items():
    print(
        f"{name:16s} {X_train.shape[1]:3d} features, {len(X_train):3d} training rows,"
        f" test: {np.sum(y_test == 0)} normal, {np.sum(y_test == 1)} anomalies"
    )

# %%
# The detectors
# -------------
# skanomaly's two MLP autoencoders with their defaults, and three PyOD
# detectors with theirs, wrapped by ``from_pyod``. The autoencoders scale the
# features to [0, 1] themselves (``scaling="auto"``); PyOD's KNN and LOF
# measure raw distances, so they work on the data as given, as a user would
# first try them (a scaler in a Pipeline in front is one line more).
#
# PyOD's ECOD is left out on purpose: its ``decision_function`` re-estimates
# its per-feature distributions from the training rows *together with the
# rows being scored*, so on a test set made mostly of anomalies, as here, it
# is no longer a novelty detector of the training data.
detectors = {
    "DenoisingAE": DenoisingAE(device="cpu", random_state=0),
    "ARAE": ARAE(device="cpu", random_state=0),
    "PyOD KNN": from_pyod(KNN()),
    "PyOD IForest": from_pyod(IForest(random_state=0)),
    "PyOD LOF": from_pyod(LOF()),
}

# %%
# One loop for all
# ----------------
# :func:`skanomaly.metrics.anomaly_score` returns higher-is-more-anomalous
# scores for any detector (skanomaly, scikit-learn or PyOD), and the metrics
# take anomalies as the positive class.
auc = {name: {} for name in detectors}
fpr = {name: {} for name in detectors}
fit_seconds = dict.fromkeys(detectors, 0.0)
for task, (X_train, X_test, y_test) in tasks.items():
    for name, detector in detectors.items():
        start = time.perf_counter()
        fitted = clone(detector).fit(X_train)
        fit_seconds[name] += time.perf_counter() - start
        scores = anomaly_score(fitted, X_test)
        auc[name][task] = novelty_roc_auc(y_test, scores)
        fpr[name][task] = fpr_at_tpr(y_test, scores, tpr=0.95)

# %%
# Results
# -------
# ROC AUC per task, its mean, the mean rank over the tasks (1 = best) and the
# total fit time. The second table is a view closer to a decision: the share
# of normal test rows flagged by the threshold that catches 95 % of the
# anomalies (lower is better). Both are computed on the test labels, so they
# judge the ranking, not a deployable threshold.
names = list(detectors)
task_names = list(tasks)
auc_table = np.array([[auc[n][t] for t in task_names] for n in names])
ranks = rankdata(-auc_table, axis=0)  # ties share their mean rank
header = "".join(f"{t:>16s}" for t in task_names)
print(f"{'ROC AUC':14s}{header}{'mean':>8s}{'rank':>6s}{'fit s':>7s}")
for i, name in enumerate(names):
    cells = "".join(f"{v:16.3f}" for v in auc_table[i])
    print(
        f"{name:14s}{cells}{auc_table[i].mean():8.3f}{ranks[i].mean():6.1f}"
        f"{fit_seconds[name]:7.1f}"
    )
print()
print(f"{'FPR, TPR 0.95':14s}{header}{'mean':>8s}")
for name in names:
    values = [fpr[name][t] for t in task_names]
    print(f"{name:14s}{''.join(f'{v:16.3f}' for v in values)}{np.mean(values):8.3f}")

# %%
# The same AUCs as a figure, one group of bars per task. Ties are common on
# such small tasks, and one seed on one split says little about small
# differences: compare detectors over several seeds and tasks before
# choosing.
fig, ax = plt.subplots(figsize=(8, 3.8))
width = 0.8 / len(names)
x = np.arange(len(task_names))
for i, name in enumerate(names):
    ax.bar(x + (i - (len(names) - 1) / 2) * width, auc_table[i], width, label=name)
ax.set_xticks(x, task_names)
ax.set_ylim(max(0.0, auc_table.min() - 0.05), 1.0)
ax.set_ylabel("ROC AUC")
ax.legend(ncol=len(names), fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0))
fig.tight_layout()
plt.show()
