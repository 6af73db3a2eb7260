"""Save and load fitted detectors in a file that runs no code when loaded.

A file is written by :func:`torch.save` and read by ``torch.load(...,
weights_only=True)``, whose unpickler builds only tensors and plain
containers: a tampered file cannot execute code (a pickle can). It holds

- ``format`` and ``format_version``, which :func:`load` checks first;
- ``detector``: the class name, looked up among skanomaly's own detectors
  (never imported by a name the file chooses);
- ``header``: one JSON text with the estimator's parameters, its fitted
  attributes and what rebuilds its networks without the data;
- ``tensors``: the networks' weights and every fitted array;
- ``checksum``: the SHA-256 of the header and of every tensor's name, dtype,
  shape and bytes, so that a corrupted or edited file is refused.

Loading builds the networks again from the parameters and the fitted facts
(``_derive_facts``), fills them with the stored weights, and checks that the
detector gives the scores it gave when saved on a few stored rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from skanomaly.training import FitContext
from skanomaly.utils._torch import resolve_device, seed_context
from skanomaly.utils._validation import UnitIntervalScaler

#: what the ``format`` entry of every file says
FORMAT = "skanomaly-detector"
#: the layout this module writes; :func:`load` reads this one only
FORMAT_VERSION = 1

#: relative tolerance of the score check at load (another device or CPU may
#: round float32 kernels differently)
_SCORE_CHECK_RTOL = 1e-4


class _Encoder:
    """A value tree as JSON, with its arrays and tensors set aside by name."""

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}

    def _store(self, value: torch.Tensor) -> str:
        key = f"data.{len(self.tensors)}"
        self.tensors[key] = value.detach().cpu().contiguous().clone()
        return key

    def encode(self, value, where: str):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.generic):
            if value.dtype.kind in "OUSV":
                raise TypeError(f"{where}: unsupported value {value!r}")
            return {"__npscalar__": self._store(torch.from_numpy(np.array(value)))}
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, torch.Tensor):
            return {"__tensor__": self._store(value)}
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "US":
                return {"__strings__": value.tolist(), "dtype": value.dtype.str}
            if value.dtype.kind == "O":
                if all(isinstance(item, str) for item in value.ravel()):
                    return {"__strings__": value.tolist(), "dtype": "O"}
                raise TypeError(f"{where}: an object array of non-strings")
            return {"__ndarray__": self._store(torch.from_numpy(value.copy()))}
        if isinstance(value, torch.device):
            return {"__device__": str(value)}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v, where) for v in value]}
        if isinstance(value, list):
            return [self.encode(v, where) for v in value]
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                raise TypeError(f"{where}: a dict with keys that are not strings")
            return {"__dict__": {k: self.encode(v, where) for k, v in value.items()}}
        if isinstance(value, UnitIntervalScaler):
            return {"__scaler__": self.encode(dict(vars(value)), where)}
        raise TypeError(f"{where} holds {type(value).__name__} {value!r}")


def _decode(tree, tensors: dict[str, torch.Tensor]):
    if isinstance(tree, list):
        return [_decode(v, tensors) for v in tree]
    if not isinstance(tree, dict):
        return tree
    (tag,) = (key for key in tree if key.startswith("__"))
    body = tree[tag]
    if tag == "__tensor__":
        return tensors[body]
    if tag == "__ndarray__":
        return tensors[body].numpy().copy()
    if tag == "__npscalar__":
        return tensors[body].numpy()[()]
    if tag == "__strings__":
        return np.array(body, dtype=tree["dtype"])
    if tag == "__device__":
        return torch.device(body)
    if tag == "__tuple__":
        return tuple(_decode(v, tensors) for v in body)
    if tag == "__dict__":
        return {k: _decode(v, tensors) for k, v in body.items()}
    if tag == "__scaler__":
        scaler = UnitIntervalScaler.__new__(UnitIntervalScaler)
        scaler.__dict__.update(_decode(body, tensors))
        return scaler
    raise ValueError(f"unknown entry {tag!r}")


def _checksum(header: str, tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256(header.encode("utf-8"))
    for key in sorted(tensors):
        tensor = tensors[key].detach().cpu().contiguous()
        digest.update(f"|{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _detector_classes() -> dict[str, type]:
    from skanomaly.base import BaseDeepDetector
    from skanomaly.utils.discovery import all_estimators

    return {
        name: cls
        for name, cls in all_estimators()
        if isinstance(cls, type) and issubclass(cls, BaseDeepDetector)
    }


def save(detector, path) -> Path:
    """Write a fitted detector to a file that runs no code when loaded.

    The file holds the parameters, the fitted attributes (the calibration
    included, so thresholds, ``predict`` and p-values survive) and the
    networks' weights, with a format version and a checksum (see
    :func:`load`). The optimizers' states are not kept: a loaded detector
    scores, thresholds, recalibrates, explains and exports; ``fit`` trains it
    again from scratch, as always. Pickling keeps working as well, but
    unpickling a file runs whatever code it names: only unpickle files you
    trust, and prefer this format for files that travel.

    Parameters
    ----------
    detector : BaseDeepDetector
        A fitted skanomaly detector.
    path : str or path-like
        Where to write (conventionally ``*.skanomaly``); an existing file is
        replaced, atomically.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    TypeError
        If a parameter holds an object such a file cannot describe (a
        callback instance, say): set it to None first, or pickle.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skanomaly import DenoisingAE, load, save
    >>> X = np.random.RandomState(0).normal(size=(64, 5))
    >>> det = DenoisingAE(hidden_dims=(8, 3), max_epochs=2, device="cpu",
    ...                   random_state=0).fit(X)
    >>> path = save(det, os.path.join(tempfile.mkdtemp(), "det.skanomaly"))
    >>> restored = load(path)
    >>> bool(np.array_equal(restored.score_samples(X), det.score_samples(X)))
    True
    """
    from skanomaly import __version__
    from skanomaly.base import BaseDeepDetector

    if not isinstance(detector, BaseDeepDetector):
        raise TypeError(
            "save writes skanomaly detectors; got "
            f"{type(detector).__name__}. Pickle other estimators."
        )
    check_is_fitted(detector)
    name = type(detector).__name__
    if _detector_classes().get(name) is not type(detector):
        raise TypeError(
            f"save writes skanomaly's own detectors; {name} is not one of them "
            "(a subclass is rebuilt from its class, which a safe file cannot "
            "name). Pickle it instead."
        )
    encoder = _Encoder()
    params = detector.get_params(deep=False)
    encoded_params = {}
    for key, value in params.items():
        try:
            encoded_params[key] = encoder.encode(value, f"parameter {key!r}")
        except TypeError as exc:
            raise TypeError(
                f"cannot save {name}: {exc}. A safe file holds numbers, strings, "
                "sequences, dicts and arrays; set the parameter to None before "
                "saving, or pickle the detector."
            ) from None
    attributes = {}
    for key, value in vars(detector).items():
        if key in params or not key.endswith("_") or key == "net_":
            continue
        if key.startswith("_cached_"):
            continue
        attributes[key] = encoder.encode(value, f"attribute {key!r}")
    tensors = encoder.tensors
    net = detector.net_
    for module_name in [*net._modules, *net._criteria]:
        module = getattr(net, module_name + "_")
        for key, value in module.state_dict().items():
            tensors[f"net.{module_name}.{key}"] = value.detach().cpu().clone()
    header = json.dumps(
        {"params": encoded_params, "attributes": attributes},
        sort_keys=True,
    )
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skanomaly_version": __version__,
        "torch_version": str(torch.__version__),
        "detector": name,
        "header": header,
        "tensors": tensors,
        "checksum": _checksum(header, tensors),
    }
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent or ".", suffix=".partial")
    os.close(handle)
    try:
        torch.save(payload, temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def _read_payload(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no detector file at {str(path)!r}.")
    try:
        with warnings.catch_warnings():
            # torch notes a pickle protocol other than its own (a file that
            # is not ours): the error below says what matters
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = [
            line.strip()
            for line in str(exc).splitlines()
            if "WeightsUnpickler error" in line
        ]
        raise ValueError(
            f"{str(path)!r} is not a skanomaly detector file: it holds objects "
            "that a weights-only load refuses to build (a pickle of code, "
            "say), and nothing of it was run." + (f" ({reason[0]})" if reason else "")
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as exc:
        raise ValueError(
            f"{str(path)!r} is not a readable skanomaly detector file "
            f"(corrupted or truncated?): {exc}"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(
            f"{str(path)!r} is not a skanomaly detector file (written by "
            "skanomaly.save)."
        )
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} has format version {version!r} (written by "
            f"skanomaly {payload.get('skanomaly_version')}); this skanomaly "
            f"reads version {FORMAT_VERSION}. Load it with the skanomaly "
            "version that wrote it, or fit again."
        )
    header, tensors = payload.get("header"), payload.get("tensors")
    if not isinstance(header, str) or not isinstance(tensors, dict):
        raise ValueError(f"{str(path)!r} is incomplete: no header or tensors.")
    if _checksum(header, tensors) != payload.get("checksum"):
        raise ValueError(
            f"{str(path)!r} fails its checksum: the file is corrupted or was "
            "modified after it was written."
        )
    return payload


def _load_device(saved: str, device) -> str:
    if device is not None:
        return resolve_device(device)
    kind = torch.device(saved).type
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }.get(kind, False)
    if available:
        return saved
    warnings.warn(
        f"the detector was fitted on {saved!r}, which this machine lacks; it "
        "is loaded on the CPU. Pass device= to choose.",
        UserWarning,
        stacklevel=3,
    )
    return "cpu"


def load(path, *, device=None, detector_class=None):
    """Read a detector written by :func:`save`.

    The file is read with ``torch.load(weights_only=True)``: only tensors
    and plain containers are built, no code runs. Its format version and
    checksum are checked, the networks are rebuilt from the parameters and
    filled with the stored weights, and the restored detector must give the
    scores it gave when saved on a few stored rows.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    device : str or torch.device, default=None
        Where the networks go (``device_``): ``"cpu"``, ``"cuda"``,
        ``"auto"``... None: the device they were fitted on, or the CPU (with
        a warning) when this machine has none of that kind. The ``device``
        parameter keeps its saved value (it says where ``fit`` trains).
    detector_class : type, default=None
        The class the file must hold (``DenoisingAE.load`` passes its own);
        None accepts any skanomaly detector.

    Returns
    -------
    detector : BaseDeepDetector
        The fitted detector.

    Raises
    ------
    ValueError
        If the file is not a detector file, has an unknown format version,
        fails its checksum, holds another detector than ``detector_class``,
        or does not reproduce its saved scores.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skanomaly import ARAE, DenoisingAE, save
    >>> X = np.random.RandomState(0).normal(size=(64, 5))
    >>> det = DenoisingAE(hidden_dims=(8, 3), max_epochs=2, device="cpu",
    ...                   random_state=0).fit(X)
    >>> path = save(det, os.path.join(tempfile.mkdtemp(), "det.skanomaly"))
    >>> restored = DenoisingAE.load(path)
    >>> bool(np.array_equal(restored.predict(X), det.predict(X)))
    True
    >>> ARAE.load(path)
    Traceback (most recent call last):
    ...
    ValueError: ... holds a DenoisingAE, not an ARAE.
    """
    payload = _read_payload(path)
    name = payload.get("detector")
    classes = _detector_classes()
    cls = classes.get(name)
    if cls is None:
        raise ValueError(
            f"{str(path)!r} holds a {name!r}, which is not a skanomaly "
            f"detector; known: {sorted(classes)}."
        )
    if detector_class is not None and cls is not detector_class:
        wanted = detector_class.__name__
        article = "an" if wanted[0] in "AEIOU" else "a"
        raise ValueError(f"{str(path)!r} holds a {name}, not {article} {wanted}.")
    tensors = payload["tensors"]
    header = json.loads(payload["header"])
    params = {key: _decode(v, tensors) for key, v in header["params"].items()}
    detector = cls(**params)
    for key, value in header["attributes"].items():
        setattr(detector, key, _decode(value, tensors))
    detector.device_ = _load_device(detector.device_, device)
    detector.net_ = _rebuilt_net(detector, tensors, str(path))
    _check_scores(detector, str(path))
    return detector


def _rebuilt_net(detector, tensors: dict, where: str):
    """The detector's skorch net, built as ``fit`` built it (from the saved
    facts) and filled with the stored weights."""
    context = detector._network_context_
    ctx = FitContext(
        X=None,
        seed=context["seed"],
        device=detector.device_,
        input_shape=tuple(detector.input_shape_),
        batch_size=detector.batch_size_,
        max_epochs=context["max_epochs"],
        facts={name: getattr(detector, name + "_") for name in context["facts"]},
        n_samples=context["n_samples"],
        unit_interval=context["unit_interval"],
    )
    with seed_context(ctx.seed, ctx.device):
        net = detector._make_net(ctx)
        net.initialize()
    for module_name in [*net._modules, *net._criteria]:
        prefix = f"net.{module_name}."
        state = {
            key[len(prefix) :]: value
            for key, value in tensors.items()
            if key.startswith(prefix)
        }
        try:
            getattr(net, module_name + "_").load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ValueError(
                f"{where!r}: the stored weights do not fit the "
                f"{type(detector).__name__} networks rebuilt from its "
                f"parameters ({exc})."
            ) from None
    return net


def _check_scores(detector, where: str) -> None:
    rows, scores, _ = detector._calibration_reference_
    now = -detector._anomaly_scores(rows)
    if not np.allclose(now, scores, rtol=_SCORE_CHECK_RTOL, atol=1e-12):
        raise ValueError(
            f"{where!r}: the loaded {type(detector).__name__} does not give the "
            "scores it gave when saved (largest relative difference "
            f"{float(np.max(np.abs(now - scores) / np.abs(scores).clip(1e-12))):.2g})."
            " The file may come from an incompatible version of skanomaly or "
            "torch."
        )
