"""
======================================
Saving, loading and exporting to ONNX
======================================

A fitted detector leaves the notebook in one of two files:

- ``detector.save(path)`` writes a **safe file**: the parameters, the fitted
  attributes and the weights, read back by ``skanomaly.load`` without running
  any code of the file's, with a format version and a checksum. The loaded
  detector is the whole detector: it scores, decides, recalibrates, explains.
- ``skanomaly.export_onnx(detector, path)`` writes the **scoring function**
  (input scaling, networks, score and threshold) to an ONNX file that any
  ONNX runtime runs, without Python or torch (needs ``pip install
  "skanomaly[onnx]"``).

See "Saving and loading" and "Deployment" in the user guide.
"""

# %%
# Fit, save, load
# ---------------
# A DenoisingAE learns the zeros of scikit-learn's digits; the other digits
# are the anomalies.
import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits

import skanomaly
from skanomaly import ARAE, DenoisingAE

X, digit = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
normal = X[digit == 0]
X_new = np.concatenate([normal[:5], X[digit != 0][:5]])  # 5 zeros, 5 others

detector = DenoisingAE(random_state=0).fit(normal[5:])
folder = tempfile.mkdtemp()
path = detector.save(os.path.join(folder, "zeros.skanomaly"))
print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")

restored = skanomaly.load(path)
print(
    "same scores:",
    np.array_equal(restored.score_samples(X_new), detector.score_samples(X_new)),
)
print("labels:", restored.predict(X_new))

# %%
# What the loader refuses
# -----------------------
# A file of another detector, an edited file and a pickle of code are refused
# with a ``ValueError`` that says why; nothing in them is run.
import pickle  # noqa: E402

try:
    ARAE.load(path)
except ValueError as error:
    print("ARAE.load:", error)

edited = bytearray(path.read_bytes())
edited[len(edited) // 2] ^= 0xFF  # one flipped byte among the weights
edited_path = os.path.join(folder, "edited.skanomaly")
with open(edited_path, "wb") as handle:
    handle.write(bytes(edited))
try:
    skanomaly.load(edited_path)
except ValueError as error:
    print("edited file:", error)


class RunsCode:
    """What an attacker would put in a pickle: a call made when it is read."""

    def __reduce__(self):
        return (print, ("this would have run",))


pickle_path = os.path.join(folder, "evil.pkl")
with open(pickle_path, "wb") as handle:
    pickle.dump(RunsCode(), handle)
try:
    skanomaly.load(pickle_path)
except ValueError as error:
    print("pickle of code:", str(error)[:100], "...")

# %%
# Export to ONNX and score with onnxruntime
# -----------------------------------------
# ``export_onnx`` checks the file against the detector on the rows it is
# given before writing it. The file takes raw rows of any batch size and
# returns the anomaly score (``-score_samples``), the label (``predict``) and
# whether each row is an outlier.
import onnxruntime as ort  # noqa: E402

onnx_path = os.path.join(folder, "zeros.onnx")
skanomaly.export_onnx(detector, onnx_path, X[:100])
session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
score, label, is_outlier = session.run(None, {"input": X_new})
print("labels from ONNX:", label)
print("scores agree:", np.allclose(score, -detector.score_samples(X_new), rtol=1e-4))
