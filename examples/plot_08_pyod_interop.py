"""
=======================
PyOD interop: both ways
=======================

scikit-learn and PyOD score in opposite directions (``score_samples``: higher
= more normal; PyOD's ``decision_function``: higher = more abnormal) and label
differently (+1/-1 against 0/1). :mod:`skanomaly.adapters` converts detectors
both ways:

- :func:`skanomaly.adapters.to_pyod` makes a skanomaly detector a PyOD
  detector, for PyOD's score combination and ensembles;
- :func:`skanomaly.adapters.from_pyod` makes a PyOD detector a scikit-learn
  one, for Pipelines, searches and :mod:`skanomaly.calibration`.

The task: benign tumours of scikit-learn's breast cancer data are normal,
malignant ones are anomalies.
"""

# %%
# The task
# --------
import matplotlib.pyplot as plt
import numpy as np
from pyod.models.combination import average
from pyod.models.iforest import IForest
from pyod.models.knn import KNN
from pyod.utils.utility import standardizer
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skanomaly import DenoisingAE
from skanomaly.adapters import from_pyod, to_pyod
from skanomaly.calibration import conformal_pvalues, conformal_threshold
from skanomaly.datasets import one_class_split
from skanomaly.metrics import get_novelty_scorer, novelty_roc_auc
from skanomaly.model_selection import InlierKFold, InlierOnly

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_test = one_class_split(
    X, y, normal_classes=1, protocol=1, random_state=0
)

# %%
# skanomaly inside PyOD
# ---------------------
# ``to_pyod`` returns a PyOD ``BaseDetector``: after ``fit`` it has PyOD's
# ``decision_scores_`` (anomaly scores of the training rows), ``threshold_``
# and ``labels_`` (0 = inlier, 1 = outlier), and ``predict`` and
# ``predict_proba`` behave as PyOD's. The threshold is the skanomaly
# detector's calibrated one (``threshold_ = -offset_``), not PyOD's
# percentile of the training scores.
dae = to_pyod(DenoisingAE(device="cpu", random_state=0)).fit(X_train)
some = np.r_[np.flatnonzero(y_test == 0)[:3], np.flatnonzero(y_test == 1)[:3]]
print("true labels (1 = malignant):", y_test[some])
print("PyOD labels:                ", dae.predict(X_test[some]))
print("P(outlier):                 ", dae.predict_proba(X_test[some])[:, 1].round(2))
print(
    f"share of benign test rows labelled 1: {dae.predict(X_test[y_test == 0]).mean():.3f}"
)

# %%
# PyOD's combination functions then take it beside PyOD's own detectors. The
# scores of each detector are standardised on its training scores, then
# averaged.
members = {
    "DenoisingAE": dae,
    "KNN": KNN().fit(X_train),
    "IForest": IForest(random_state=0).fit(X_train),
}
train_scores = np.column_stack([m.decision_scores_ for m in members.values()])
test_scores = np.column_stack([m.decision_function(X_test) for m in members.values()])
train_std, test_std = standardizer(train_scores, test_scores)
combined = average(test_std)
for i, name in enumerate(members):
    print(f"{name:12s} AUC {novelty_roc_auc(y_test, test_scores[:, i]):.3f}")
print(f"{'average':12s} AUC {novelty_roc_auc(y_test, combined):.3f}")

# %%
# The standardised scores of two members side by side show where they agree
# and where one catches anomalies the other misses.
fig, ax = plt.subplots(figsize=(5, 4))
for label, name, marker in [(0, "benign", "o"), (1, "malignant", "x")]:
    rows = y_test == label
    ax.scatter(test_std[rows, 0], test_std[rows, 1], s=14, marker=marker, label=name)
ax.set_xscale("symlog")
ax.set_yscale("symlog")
ax.set_xlabel("DenoisingAE, standardised anomaly score")
ax.set_ylabel("KNN, standardised anomaly score")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# PyOD inside scikit-learn
# ------------------------
# ``from_pyod`` wraps an unfitted PyOD detector as a scikit-learn outlier
# detector: ``score_samples`` is higher for normal rows, ``predict`` returns
# +1/-1. It fits in a Pipeline (here behind a scaler, as KNN measures raw
# distances) and its parameters can be searched. ``InlierOnly`` keeps the
# anomalies out of every training fold and of the refit; the search uses the
# training rows and a few anomalies held apart from the test set.
rng = np.random.RandomState(0)
anomalies = rng.choice(np.flatnonzero(y_test == 1), 60, replace=False)
X_dev = np.r_[X_train, X_test[anomalies]]
y_dev = np.r_[np.zeros(len(X_train), dtype=int), np.ones(len(anomalies), dtype=int)]
keep = np.setdiff1d(np.arange(len(X_test)), anomalies)
X_eval, y_eval = X_test[keep], y_test[keep]

knn = make_pipeline(StandardScaler(), from_pyod(KNN()))
search = GridSearchCV(
    InlierOnly(knn),
    {"estimator__frompyod__detector__n_neighbors": [1, 5, 20]},
    scoring=get_novelty_scorer("roc_auc"),
    cv=InlierKFold(n_splits=3, shuffle=True, random_state=0),
).fit(X_dev, y_dev)
print("best:", search.best_params_)
print(
    f"AUC on the remaining test rows: "
    f"{novelty_roc_auc(y_eval, -search.score_samples(X_eval)):.3f}"
)

# %%
# A calibrated threshold for a PyOD detector
# ------------------------------------------
# The functions of :mod:`skanomaly.calibration` work on the scores of any
# detector. Hold out some normal rows, fit on the rest, and take the
# split-conformal threshold of the held-out rows' scores: at most
# ``contamination`` of unseen normal rows fall below it, on average. The same
# calibration scores give conformal p-values.
X_fit, X_calibration = train_test_split(X_train, test_size=0.3, random_state=0)
knn_fitted = make_pipeline(StandardScaler(), from_pyod(KNN(n_neighbors=5)))
knn_fitted.fit(X_fit)
calibration_scores = knn_fitted.score_samples(X_calibration)
threshold = conformal_threshold(calibration_scores, contamination=0.1)
flagged = knn_fitted.score_samples(X_eval) < threshold
print(f"benign rows flagged:    {flagged[y_eval == 0].mean():.3f}")
print(f"malignant rows flagged: {flagged[y_eval == 1].mean():.3f}")
pvalues = conformal_pvalues(calibration_scores, knn_fitted.score_samples(X_eval))
print(
    f"median p-value, benign: {np.median(pvalues[y_eval == 0]):.2f}, "
    f"malignant: {np.median(pvalues[y_eval == 1]):.2f}"
)
