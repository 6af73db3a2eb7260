"""
=================================
Training curves from ``history_``
=================================

A fitted detector keeps one record per training epoch in ``history_``: the
epoch, the training ``stage``, the mean training loss, the epoch's duration
and each method's own losses. Plotting it is the quickest check that a
network learned something, that the budget was long enough, and what each
stage of a multi-stage method did.

The data: eights of scikit-learn's 8x8 digits (scaled to [0, 1]) are normal.
"""

# %%
# One record per epoch
# --------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skanomaly import LISAE, DenoisingAE
from skanomaly.datasets import load_digits_unit, one_class_split
from skanomaly.metrics import novelty_roc_auc

digits = load_digits_unit()
X_train, X_test, y_test = one_class_split(
    digits.data, digits.target, normal_classes=8, protocol=1, random_state=0
)

det = DenoisingAE(device="cpu", random_state=0).fit(X_train)
print(f"{det.n_epochs_} epochs of {det.history_[0]['train_batch_count']} batches")
last = det.history_[-1]
print(
    {key: round(float(v), 4) if isinstance(v, float) else v for key, v in last.items()}
)

# %%
# The plateau of an all-sigmoid network
# -------------------------------------
# The ARAE paper's network has sigmoid hidden layers; skanomaly's default uses
# LeakyReLU hidden layers (``activation="leaky_relu"``). Fitting both at the
# same default budget and plotting ``train_loss`` shows why: the sigmoid
# network first learns to output the mean training image and stays there for
# a while. The dashed line is the loss of that constant output, the mean
# squared distance of the training images to their mean (the per-pixel mean
# squared error the networks minimise).
sigmoid = DenoisingAE(activation="sigmoid", device="cpu", random_state=0)
sigmoid.fit(X_train)

mean_output_loss = np.mean((X_train - X_train.mean(axis=0)) ** 2)

fig, ax = plt.subplots(figsize=(6, 3.5))
for name, model in [("leaky_relu (default)", det), ("sigmoid", sigmoid)]:
    epochs = [row["epoch"] for row in model.history_]
    losses = [row["train_loss"] for row in model.history_]
    ax.plot(epochs, losses, label=name)
ax.axhline(mean_output_loss, color="k", linestyle="--", label="output = mean image")
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend()
fig.tight_layout()
plt.show()

for name, model in [("leaky_relu", det), ("sigmoid", sigmoid)]:
    auc = novelty_roc_auc(y_test, -model.score_samples(X_test))
    print(
        f"{name:10s}: final loss {model.history_[-1]['train_loss']:.4f}, AUC {auc:.3f}"
    )

# %%
# A budget that ends on the plateau
# ---------------------------------
# With too short a budget the sigmoid network never leaves the plateau: it
# then reconstructs every image as the same mean image, and its scores are
# only distances to that mean. ``fit`` detects this and warns with a
# :class:`~sklearn.exceptions.ConvergenceWarning` that says what to change.
# Catching the warning lets a script react, here by training longer.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", ConvergenceWarning)
    short = DenoisingAE(
        activation="sigmoid", max_epochs=20, device="cpu", random_state=0
    ).fit(X_train)
for w in caught:
    if issubclass(w.category, ConvergenceWarning):
        print("ConvergenceWarning:", w.message)

if any(issubclass(w.category, ConvergenceWarning) for w in caught):
    short.set_params(max_epochs=200).fit(X_train)
    print(
        f"refitted for {short.n_epochs_} epochs, final loss "
        f"{short.history_[-1]['train_loss']:.4f}"
    )

# %%
# Several training stages
# -----------------------
# LIS-AE trains in two stages: an autoencoder first (``feature_extraction``),
# then its latent space is shaped so that negative examples reconstruct badly
# (``latent_shaping``; by default the negatives are distorted copies of the
# training images). ``history_`` runs over both stages, each row names its
# stage, and ``n_epochs_per_stage_`` counts them. The second stage records the
# reconstruction errors of the normal rows (``positive_error``) and of the
# negatives (``negative_error``). The two stages minimise different losses, so
# the training loss jumps where the second one starts.
lis = LISAE(device="cpu", random_state=0).fit(X_train)
print(lis.n_epochs_per_stage_)

shaping = [row for row in lis.history_ if row["stage"] == "latent_shaping"]
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
for stage in lis.n_epochs_per_stage_:
    rows = [row for row in lis.history_ if row["stage"] == stage]
    axes[0].plot(
        [row["epoch"] for row in rows], [row["train_loss"] for row in rows], label=stage
    )
axes[0].set_xlabel("epoch")
axes[0].set_ylabel("training loss")
axes[0].set_title("both stages")
axes[0].legend()
for key in ["positive_error", "negative_error"]:
    axes[1].plot(
        [row["epoch"] for row in shaping], [row[key] for row in shaping], label=key
    )
axes[1].set_yscale("log")
axes[1].set_xlabel("epoch")
axes[1].set_title("latent shaping")
axes[1].legend()
fig.tight_layout()
plt.show()

auc = novelty_roc_auc(y_test, -lis.score_samples(X_test))
print(f"LISAE AUC: {auc:.3f}")
