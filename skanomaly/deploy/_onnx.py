"""Export of a fitted detector's scoring function, threshold included, to ONNX."""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import re
import tempfile
import warnings

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn

__all__ = ["export_onnx"]

#: names of the graph's input and outputs
INPUT_NAME = "input"
OUTPUT_NAMES = ("anomaly_score", "label", "is_outlier")

#: rows of the check when ``X_example`` is None
_N_CHECK_ROWS = 16
#: rows the exporter traces with (not 0 or 1, which torch.export specialises)
_N_TRACE_ROWS = 2

#: parameters that define a detector's score, named in error messages
_SCORE_PARAMS = ("anomaly_score", "aggregation", "architecture", "scaling")

_INSTALL_HINT = 'pip install "skanomaly[onnx]"'


class _ExportedScore(nn.Module):
    """Raw input to ``(anomaly_score, label, is_outlier)`` with the threshold
    as a constant: what the ONNX graph computes."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        # float64 as score_samples, and compared in float64 with the float64
        # threshold as predict does (a float32 comparison would round it)
        score = self.module(x).double()
        is_outlier = score > self.module.threshold
        label = torch.where(is_outlier, -1, 1).to(torch.int64)
        return score, label, is_outlier


def _require_onnx():
    try:
        import onnx  # noqa: F401
        import onnxruntime
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "export_onnx needs onnx, onnxscript (the exporter) and onnxruntime "
            f"(the parity check): {_INSTALL_HINT}; {exc}"
        ) from exc
    return onnxruntime


def _configuration(detector) -> str:
    """``Name(anomaly_score='nap', ...)`` with the score-defining parameters
    and the fitted sample shape."""
    params = detector.get_params(deep=False)
    parts = [f"{name}={params[name]!r}" for name in _SCORE_PARAMS if name in params]
    resolve = getattr(detector, "_resolved_anomaly_score", None)
    if params.get("anomaly_score") == "auto" and resolve is not None:
        parts[0] += f" ({resolve()})"
    parts.append(f"input_shape_={tuple(detector.input_shape_)!r}")
    return f"{type(detector).__name__}({', '.join(parts)})"


def _operators(exc: BaseException) -> list[str]:
    """The ATen operators an exporter exception names, in order of mention."""
    text, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    found = re.findall(r"aten(?:::|\.)(\w+)", "\n".join(text))
    return list(dict.fromkeys(found))


def _example_rows(detector, n: int) -> np.ndarray:
    """``n`` rows in the units of ``fit``'s X: uniform over the fitted range of
    each feature and a quarter of it either side (so that the outlier label
    also comes up), in the fitted sample layout."""
    n_features = int(np.prod(detector.input_shape_))
    unit = np.random.RandomState(0).uniform(-0.25, 1.25, size=(n, n_features))
    scaler = detector.scaler_
    if not scaler.is_identity:
        unit = unit * scaler.scale_ + scaler.min_
    return unit.astype(np.float32).reshape(n, *detector.input_shape_)


def _onnx_input(detector, X) -> np.ndarray:
    """``X`` as float32 of shape ``(n, *input_shape_)``."""
    rows = np.asarray(X, dtype=np.float32)
    shape = tuple(detector.input_shape_)
    n_features = int(np.prod(shape))
    accepted = {shape, (n_features,)}
    if len(shape) == 3 and shape[0] == 1:
        accepted.add(shape[1:])
    if rows.ndim < 2 or tuple(rows.shape[1:]) not in accepted:
        raise ValueError(
            f"X_example must hold samples of shape {shape} or ({n_features},) "
            f"(flat rows); got an array of shape {rows.shape}."
        )
    if len(rows) < 1:
        raise ValueError("X_example needs at least one sample.")
    return np.ascontiguousarray(rows.reshape(len(rows), *shape))


@contextlib.contextmanager
def _quiet():
    """Silence the exporter: its warnings, its logging and its printing."""
    sink = io.StringIO()
    loggers = [logging.getLogger(name) for name in ("torch", "onnxscript", "onnx_ir")]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def export_onnx(
    detector,
    path,
    X_example=None,
    *,
    opset_version: int | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-9,
) -> str:
    """Export a fitted detector's scoring function, threshold included, to ONNX.

    The file computes what the detector's
    :meth:`~skanomaly.base.BaseDeepDetector.anomaly_score_module` computes, from
    raw samples in the units and layout of ``fit``'s ``X``: the fitted input
    scaling, the network(s) and the method's anomaly score; then compares the
    score with the detector's threshold, as ``predict`` does. One input and
    three outputs, ``batch`` being any number of samples:

    - ``"input"``: float32 of shape ``(batch, n_features)`` for a detector
      fitted on rows, ``(batch, C, H, W)`` for one fitted on images
      (``input_shape_`` of three entries);
    - ``"anomaly_score"``: float64 of shape ``(batch,)``, larger = more
      anomalous: ``-score_samples``;
    - ``"label"``: int64 of shape ``(batch,)``, +1 inlier, -1 outlier: ``predict``;
    - ``"is_outlier"``: bool of shape ``(batch,)``: ``label == -1``.

    The threshold is a constant of the file, ``-offset_`` at export: export
    again after :meth:`~skanomaly.base.BaseDeepDetector.calibrate` or
    ``set_params(contamination=...)``. The detector is left untouched: the
    export traces a CPU copy of its scoring module, whatever its device.

    The file is written next to ``path`` and checked before it replaces
    ``path``: onnxruntime runs it on ``X_example`` and its scores must equal
    ``-detector.score_samples(X_example)``, its labels
    ``detector.predict(X_example)``, within the tolerance below.

    Parameters
    ----------
    detector : fitted skanomaly detector
        Any detector of skanomaly (with ``anomaly_score_module``).
    path : str or path-like
        Where to write the ``.onnx`` file; an existing file is replaced once the
        new one has passed the check.
    X_example : array-like of shape (n_samples, n_features) or image array, default=None
        Samples for the check, in a layout ``score_samples`` takes; real data
        with inliers and outliers makes the strongest check. None checks 16
        rows drawn uniformly over the fitted scaling's range of each feature,
        widened by a quarter of it on either side (mostly outliers). Any number
        of samples: the file is traced with another.
    opset_version : int, default=None
        ONNX opset of the file; None: the exporter's default (20 with torch
        2.14).
    rtol : float, default=1e-4
        Relative tolerance of the score check: per sample, ``|onnx - score| <=
        atol + rtol * max(|score|, |threshold|)`` (the threshold sets the scale
        of centred scores near 0, such as RobustGMMDAE's ``"combined"``).
        The networks run in float32, and onnxruntime's kernels round otherwise
        than torch's: measured differences reach ``2e-6`` of that scale for
        most detectors and scores and ``1e-5`` for PuzzleAE's
        ``"puzzle+features"`` and RobustGMMDAE's ``"combined"``
        (docs/deployment.md has the table). Labels must be equal for every
        sample farther from the threshold than this tolerance.
    atol : float, default=1e-9
        Absolute tolerance of the score check.

    Returns
    -------
    path : str
        The path of the written file.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``detector`` is not fitted.
    ValueError
        If the calibration is stale (the threshold is NaN: calibrate or refit),
        ``X_example`` does not hold samples of the fitted shape, or the file's
        scores or labels differ from the detector's beyond the tolerance
        (nothing is written then).
    NotImplementedError
        If the detector's configuration cannot be expressed in ONNX, or
        onnxruntime cannot run the file; the message names the detector, its
        score parameters and the operator or the reason (the exporter's or
        onnxruntime's exception is its ``__cause__``).
    ImportError
        If onnx, onnxscript or onnxruntime is missing: ``pip install
        "skanomaly[onnx]"``.

    See Also
    --------
    skanomaly.save : A file of the whole detector for Python, without pickle.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from skanomaly import DenoisingAE
    >>> from skanomaly.deploy import export_onnx
    >>> X = np.random.RandomState(0).normal(size=(64, 5)).astype(np.float32)
    >>> det = DenoisingAE(hidden_dims=(8, 3), max_epochs=2, device="cpu",
    ...                   random_state=0).fit(X)
    >>> path = export_onnx(det, os.path.join(tempfile.mkdtemp(), "det.onnx"), X)
    >>> session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    >>> score, label, is_outlier = session.run(None, {"input": X[:3]})
    >>> score.dtype, label.dtype, is_outlier.dtype
    (dtype('float64'), dtype('int64'), dtype('bool'))
    >>> bool(np.allclose(score, -det.score_samples(X[:3]), rtol=1e-4))
    True
    >>> bool(np.array_equal(label, det.predict(X[:3])))
    True
    """
    onnxruntime = _require_onnx()
    if not hasattr(detector, "anomaly_score_module"):
        raise TypeError(
            "export_onnx takes a skanomaly detector (one with "
            f"anomaly_score_module); got {type(detector).__name__}."
        )
    check_is_fitted(detector)
    module = detector.anomaly_score_module()
    if not np.isfinite(float(module.threshold)):
        raise ValueError(
            f"{type(detector).__name__}'s threshold is stale: offset_ no longer "
            "matches the score (set_params changed a score-defining parameter "
            "after fit). Call calibrate(X) with normal samples, or refit, before "
            "exporting: the threshold is part of the file."
        )
    path = os.fspath(path)
    configuration = _configuration(detector)
    if X_example is None:
        check_input = _example_rows(detector, _N_CHECK_ROWS)
        X_check = check_input
    else:
        check_input = _onnx_input(detector, X_example)
        X_check = X_example

    # a CPU copy in eval mode is traced: the detector's own module (its
    # weights, device, mode, flags) is never touched; torch's global random
    # state neither
    with torch.random.fork_rng(devices=[]):
        copied = _ExportedScore(copy.deepcopy(module).cpu().eval())
        copied.requires_grad_(False)
        trace_input = torch.as_tensor(_example_rows(detector, _N_TRACE_ROWS))
        program = _export_program(copied, trace_input, configuration)
        # written next to ``path`` and moved there once checked: a file at
        # ``path`` is always one that passed the check
        directory = os.path.dirname(os.path.abspath(path))
        handle, scratch = tempfile.mkstemp(suffix=".onnx", dir=directory)
        os.close(handle)
        try:
            _write_onnx(program, trace_input, scratch, opset_version, configuration)
            _check_parity(
                detector,
                scratch,
                check_input,
                X_check,
                onnxruntime,
                rtol=rtol,
                atol=atol,
            )
            os.replace(scratch, path)
        finally:
            if os.path.exists(scratch):
                os.remove(scratch)
    return path


def _export_program(module: nn.Module, example: Tensor, configuration: str):
    """``torch.export`` of ``module`` with a dynamic batch axis: traced from
    Python first (non-strict), else by TorchDynamo (strict, which keeps sizes
    that Python code reads, such as ``len(x)``, symbolic)."""
    batch = torch.export.Dim("batch", min=1)
    dynamic_shapes = ({0: batch},)
    errors = []
    for strict in (False, True):
        try:
            with _quiet(), torch.no_grad():
                return torch.export.export(
                    module, (example,), dynamic_shapes=dynamic_shapes, strict=strict
                )
        except Exception as exc:
            errors.append(exc)
    error = _not_exportable(configuration, "torch.export", errors[0])
    strict_error = errors[1]
    error.add_note(
        "torch.export(strict=True) failed too: "
        f"{type(strict_error).__name__}: {_first_line(strict_error)}"
    )
    raise error from errors[0]


def _write_onnx(program, trace_input, path, opset_version, configuration) -> None:
    """Translate the exported program to an ONNX file whose batch axis, on the
    input and every output, is named ``"batch"``."""
    import onnx

    try:
        with _quiet():
            torch.onnx.export(
                program,
                (trace_input,),
                path,
                input_names=[INPUT_NAME],
                output_names=list(OUTPUT_NAMES),
                opset_version=opset_version,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
    except Exception as exc:
        raise _not_exportable(configuration, "the ONNX translation", exc) from exc
    model = onnx.load(path)
    symbol = model.graph.input[0].type.tensor_type.shape.dim[0].dim_param
    if not symbol:  # pragma: no cover (torch.export enforces the dynamic axis)
        raise NotImplementedError(
            f"{configuration} cannot be exported to ONNX with a dynamic batch axis."
        )
    for value in (*model.graph.input, *model.graph.output, *model.graph.value_info):
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param == symbol:
                dim.dim_param = "batch"
    onnx.save(model, path)


def _not_exportable(configuration: str, stage: str, exc: BaseException):
    operators = _operators(exc)
    named = ""
    if operators:
        plural = "s" if len(operators) > 1 else ""
        named = f" (operator{plural} " + ", ".join(f"aten::{op}" for op in operators)
        named += ")"
    text = str(exc)
    if "Constraints violated" in text or "specialized it to be a constant" in text:
        reason = (
            "the scoring code fixes the batch size (it reads the number of "
            "samples as a Python int, e.g. to loop over chunks), so the file "
            "could not take any batch size"
        )
    else:
        reason = f"{type(exc).__name__}: {_first_line(exc)}"
    return NotImplementedError(
        f"{configuration} cannot be exported to ONNX: {stage} failed{named}: {reason}."
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def _tolerance(expected, threshold, rtol, atol):
    """``atol + rtol * max(|score|, |threshold|)`` per sample: relative to the
    score, or to the threshold for scores near 0 (centred scores)."""
    return atol + rtol * np.maximum(np.abs(expected), abs(threshold))


def _check_parity(detector, path, onnx_input, X, onnxruntime, *, rtol, atol):
    """Run the file on ``onnx_input`` and compare with the detector on ``X``."""
    try:
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        scores, labels, _ = session.run(None, {INPUT_NAME: onnx_input})
    except Exception as exc:
        # e.g. an operator or a dtype onnxruntime's CPU kernels lack
        found = re.findall(r"implementation for (\w+)\(", str(exc))
        named = f" (ONNX operator {found[0]})" if found else ""
        raise NotImplementedError(
            f"{_configuration(detector)} was exported to ONNX, but onnxruntime "
            f"cannot run the file{named}: {type(exc).__name__}: {_first_line(exc)}; "
            "nothing was written."
        ) from exc
    with warnings.catch_warnings():
        # rows built for the check carry no feature names
        warnings.filterwarnings(
            "ignore", message=".*feature names", category=UserWarning
        )
        expected = -detector.score_samples(X)
        expected_labels = detector.predict(X)
    threshold = -float(detector.offset_)
    tolerance = _tolerance(expected, threshold, rtol, atol)
    difference = np.abs(scores - expected)
    bad = ~(difference <= tolerance)
    if bad.any():
        i = int(np.argmax(difference - tolerance))
        raise ValueError(
            f"the ONNX file's anomaly scores of {_configuration(detector)} differ "
            f"from -score_samples beyond rtol={rtol}, atol={atol} for "
            f"{int(bad.sum())} of {len(expected)} samples (sample {i}: "
            f"{scores[i]!r} vs {expected[i]!r}); nothing was written."
        )
    near = np.abs(expected - threshold) <= tolerance
    wrong = (labels != expected_labels) & ~near
    if wrong.any():
        raise ValueError(
            f"the ONNX file's labels of {_configuration(detector)} differ from "
            f"predict for {int(wrong.sum())} of {len(expected)} samples away "
            f"from the threshold; nothing was written."
        )
