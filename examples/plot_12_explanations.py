"""
=====================================
Explaining anomalies: which features
=====================================

A detector's score says how anomalous a sample is. ``explain`` says where:
it splits the score over the sample's features, or over the pixels of an
image. Two methods are available (see "Explaining anomalies" in the user
guide):

- ``method="reconstruction"``: the squared reconstruction error of each
  feature in the detector's [0, 1] scale; never negative, and for detectors
  scored by the reconstruction error it adds up to the anomaly score;
- ``method="gradient"``: gradient times input through the detector's score,
  for any score; signed (positive raises the score).

First a table of sensor readings with one drifting sensor, then handwritten
digits with a blot, and digits of another kind.
"""

# %%
# A drifting sensor
# -----------------
# Six sensors follow two hidden factors, each in its own units. In the test
# rows sensor 4 drifts by 12 units: its values stay inside the range seen in
# training, but no longer agree with the other sensors.
import matplotlib.pyplot as plt
import numpy as np

from skanomaly import DenoisingAE
from skanomaly.datasets import load_digits_unit
from skanomaly.plotting import plot_explanations

rng = np.random.RandomState(0)
mixing = rng.normal(size=(2, 6))


def readings(n):
    return 20 + 3 * (rng.normal(size=(n, 2)) @ mixing) + 0.1 * rng.normal(size=(n, 6))


sensors = np.array(["pressure", "flow", "temp_in", "temp_out", "vibration", "load"])
X_train = readings(500)
X_test = readings(4)
X_test[:, 4] += 12

tabular = DenoisingAE(
    hidden_dims=(16, 2),
    anomaly_score="reconstruction",
    max_epochs=40,
    batch_size=32,
    lr=3e-3,
    device="cpu",
    random_state=0,
).fit(X_train)
print("anomaly scores:", (-tabular.score_samples(X_test)).round(2))
print(f"threshold {-tabular.offset_:.2f}, flagged:", tabular.predict(X_test) == -1)

# %%
# The reconstruction error of each sensor adds up to the anomaly score (the
# detector is scored by its reconstruction error), so each row's shares show
# which sensors make it anomalous. The drifting sensor leads every row; the
# sensors the autoencoder reconstructs from it get part of the error.
contributions = tabular.explain(X_test)
print(np.allclose(contributions.sum(axis=1), -tabular.score_samples(X_test)))
shares = contributions / contributions.sum(axis=1, keepdims=True)
for row, share in enumerate(shares):
    top = np.argsort(share)[::-1][:3]
    listed = ", ".join(f"{sensors[j]} {share[j]:.0%}" for j in top)
    print(f"row {row}: {listed}")

# %%
# Gradient times input agrees here. Its values are signed: a positive one
# raises the score.
gradient = tabular.explain(X_test, method="gradient")
print("top sensor by gradient:", sensors[gradient.argmax(axis=1)])

# %%
# Digits with a blot
# ------------------
# A denoising autoencoder learns the zeros of scikit-learn's 8x8 digits. The
# explained images are two unseen zeros, two zeros with a bright blot in the
# hole, a one and a seven. Image detectors return one map per image,
# ``(n, C, H, W)``.
digits = load_digits_unit()
images = digits.data.reshape(-1, *digits.input_shape)
zeros = np.flatnonzero(digits.target == 0)
blotted = images[zeros[152:154]].copy()
blotted[:, :, 3:5, 3:5] = 1.0
shown = np.concatenate(
    [
        images[zeros[150:152]],
        blotted,
        images[[np.flatnonzero(digits.target == d)[0] for d in (1, 7)]],
    ]
)
labels = ["zero", "zero", "zero + blot", "zero + blot", "one", "seven"]

detector = DenoisingAE(
    hidden_dims=(32, 8),
    anomaly_score="reconstruction",
    max_epochs=60,
    batch_size=16,
    lr=3e-3,
    device="cpu",
    random_state=0,
).fit(images[zeros[:150]])
print("anomaly scores:", (-detector.score_samples(shown)).round(2))
print(f"threshold {-detector.offset_:.2f}, flagged:", detector.predict(shown) == -1)

# %%
# The squared reconstruction errors, on one colour scale
# (``shared_scale=True``) so that the images compare: the blots stand out,
# the unseen zeros are nearly blank, and the one and the seven show both
# their own strokes and the strokes of a zero they lack.
fig = plot_explanations(
    shown,
    detector.explain(shown),
    n=len(shown),
    labels=labels,
    shared_scale=True,
    map_title="squared error",
)
plt.show()

# %%
# Gradient times input, each map on its own scale with a diverging colour bar
# centred at 0: red pixels raise the anomaly score, blue ones lower it. It is
# zero on black pixels (gradient times a value at the training minimum), so
# the strokes of a zero that the one and the seven lack do not appear: use
# the reconstruction error for what is missing, the gradient for how each
# present pixel moves the score.
fig = plot_explanations(
    shown,
    detector.explain(shown, method="gradient"),
    n=len(shown),
    labels=labels,
    map_title="gradient x input",
)
plt.show()
