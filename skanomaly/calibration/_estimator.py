"""The calibrated threshold of a detector: ``offset_``, ``calibrate`` and
``conformal_pvalues`` (estimator glue over :mod:`skanomaly.calibration`)."""

from __future__ import annotations

import warnings
from numbers import Real

import joblib
import numpy as np
from sklearn.utils.validation import check_is_fitted

from skanomaly.calibration._conformal import (
    conformal_pvalues,
    conformal_threshold,
    min_calibration_rows,
)


def _fingerprint(value) -> str:
    """A hash of a parameter's value; an object that cannot be pickled (a
    callback class defined in a function, say) stands for itself."""
    try:
        return joblib.hash(value)
    except Exception:  # noqa: BLE001 (any pickling failure)
        return f"id:{id(value)}"


class ConformalThresholdMixin:
    """``offset_`` from calibration scores, recalibration and p-values.

    A detector mixes it in before scikit-learn's ``BaseEstimator`` and
    provides ``contamination`` and ``calibration`` parameters,
    ``score_samples(X)``, ``_prepare_input(X)`` (validated, net-ready rows)
    and ``_anomaly_scores(X_net)`` (the anomaly score of net-ready rows, an
    array, higher = more anomalous). Its ``fit`` calls
    :meth:`_set_calibration` last, with the rows it held out (``source=
    "held-out"``) or with its training rows (``source="training"``).
    """

    #: rows of the calibration data kept to tell, after ``set_params``, whether
    #: the score (and so the calibration) changed
    _calibration_reference_rows = 8

    def __sklearn_is_fitted__(self) -> bool:
        # scikit-learn's default looks for any attribute ending in "_", which
        # a parameter may (CRBND's ``lambda_``); the calibration is set last in
        # fit
        return "calibration_scores_" in self.__dict__

    def _set_calibration(self, X_net, *, source: str, stacklevel: int) -> None:
        """Score the net-ready calibration rows and keep what thresholds need.

        ``source`` is ``"held-out"`` (rows split off at fit), ``"training"``
        (the rows the networks trained on) or ``"calibrate"`` (rows the user
        passed to :meth:`calibrate`). A few rows and their scores are kept to
        tell later whether the score itself changed (:meth:`_calibration`).
        """
        scores = -self._anomaly_scores(X_net)
        n_reference = min(self._calibration_reference_rows, len(scores))
        self.calibration_scores_ = np.sort(scores)
        self.calibration_source_ = source
        self._calibration_reference_ = (
            np.array(X_net[:n_reference], dtype=np.float32, copy=True),
            scores[:n_reference].copy(),
            self._score_defining_params(),
        )
        if source != "training":
            self._warn_if_too_few_calibration_rows(stacklevel + 1)

    def _score_defining_params(self) -> dict:
        """The parameters a calibration was made with, hashed one by one; a
        change of ``contamination`` or ``calibration`` leaves scores alone."""
        return {
            name: _fingerprint(value)
            for name, value in self.get_params(deep=False).items()
            if name not in ("contamination", "calibration", "verbose")
        }

    def _calibration(self) -> np.ndarray:
        """``calibration_scores_``, after checking that the score they were
        computed with is still the score of the detector.

        When a parameter changed since the calibration (``set_params`` after
        ``fit``), the kept reference rows are scored again: the same scores
        mean the change leaves the score alone (the check is then not repeated
        until the next change); other scores raise ``ValueError``, because a
        threshold of the old score would silently mislabel.
        """
        check_is_fitted(self)
        rows, scores, params = self._calibration_reference_
        current = self._score_defining_params()
        if current != params:
            now = -self._anomaly_scores(rows)
            if not np.allclose(now, scores, rtol=1e-4, atol=1e-12):
                changed = sorted(
                    name
                    for name in current.keys() | params.keys()
                    if current.get(name) != params.get(name)
                )
                described = ", ".join(
                    f"{name}={getattr(self, name, None)!r}" for name in changed
                )
                raise ValueError(
                    f"{type(self).__name__}'s score changed since its threshold "
                    f"was calibrated (set_params after fit: {described}), so "
                    "offset_, decision_function, predict and conformal_pvalues "
                    "would use a stale threshold. Call calibrate(X) with normal "
                    "rows the detector did not train on, or fit again."
                )
            self._calibration_reference_ = (rows, scores, current)
        return self.calibration_scores_

    def _warn_if_too_few_calibration_rows(self, stacklevel: int) -> None:
        needed = min_calibration_rows(self.contamination)
        n_rows = len(self.calibration_scores_)
        if n_rows < needed:
            warnings.warn(
                f"{n_rows} calibration rows are too few for contamination="
                f"{self.contamination}: a threshold that flags at most that share "
                f"of unseen normal rows needs at least {needed}, so predict flags "
                "nothing (offset_ is -inf). Fit on more rows, raise calibration, "
                "or call calibrate() with more normal rows.",
                UserWarning,
                stacklevel=stacklevel,
            )

    @property
    def offset_(self) -> float:
        """The threshold on ``score_samples``: below it, a sample is an outlier.

        Computed from ``calibration_scores_`` at the current
        ``contamination``: the split-conformal threshold
        (:func:`~skanomaly.calibration.conformal_threshold`), or, when
        ``calibration_source_`` is ``"training"``, the ``100 * contamination``
        percentile of the training rows' scores.
        """
        scores = self._calibration()
        contamination = self.contamination
        if (
            isinstance(contamination, bool)
            or not isinstance(contamination, Real)
            or not 0 < contamination <= 0.5
        ):
            raise ValueError(
                f"contamination must be a float in (0, 0.5], got {contamination!r}."
            )
        if self.calibration_source_ == "training":
            return float(np.percentile(scores, 100.0 * contamination))
        return conformal_threshold(scores, contamination)

    def calibrate(self, X):
        """Reset the threshold from normal rows, without training again.

        The rows are scored and kept as ``calibration_scores_``; ``offset_``
        becomes their split-conformal threshold at ``contamination``, and
        :meth:`conformal_pvalues` compares new rows with them. Use rows known
        to be normal that the detector did not train on: fresh data from the
        deployment, after the data drifted, or after ``set_params`` changed
        the score (``anomaly_score``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Normal samples the detector did not train on; a numpy memmap or a
            torch ``Dataset`` is read a batch at a time.

        Returns
        -------
        self : object
            The detector, recalibrated.

        Examples
        --------
        >>> import numpy as np
        >>> from skanomaly import DenoisingAE
        >>> rng = np.random.RandomState(0)
        >>> det = DenoisingAE(hidden_dims=(8, 3), max_epochs=2, device="cpu",
        ...                   random_state=0).fit(rng.uniform(size=(60, 6)))
        >>> det = det.calibrate(rng.uniform(size=(200, 6)))
        >>> det.calibration_source_, len(det.calibration_scores_)
        ('calibrate', 200)
        """
        check_is_fitted(self)
        self._set_calibration(self._prepare_input(X), source="calibrate", stacklevel=3)
        return self

    def conformal_pvalues(self, X):
        """Split-conformal p-value of each sample: small means anomalous.

        ``p = (1 + #{calibration scores <= score}) / (n_calibration + 1)``,
        from ``calibration_scores_``. On normal data like the calibration rows
        the p-values are uniform (``P(p <= a) <= a``), which makes them
        comparable across detectors and lets
        :func:`~skanomaly.calibration.select_anomalies` flag anomalies at a
        false-discovery rate. With ``calibration="training"`` the calibration
        rows are the training rows and the p-values are too small for new
        normal rows (a ``UserWarning`` says so).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image array
            Samples to test.

        Returns
        -------
        pvalues : ndarray of shape (n_samples,), dtype float64
            In ``[1 / (n_calibration + 1), 1]``.

        Examples
        --------
        >>> import numpy as np
        >>> from skanomaly import DenoisingAE
        >>> from skanomaly.calibration import select_anomalies
        >>> rng = np.random.RandomState(0)
        >>> det = DenoisingAE(hidden_dims=(8, 3), max_epochs=2, device="cpu",
        ...                   random_state=0).fit(rng.uniform(size=(100, 6)))
        >>> pvalues = det.conformal_pvalues(rng.uniform(size=(5, 6)))
        >>> pvalues.shape, bool(((0 < pvalues) & (pvalues <= 1)).all())
        ((5,), True)
        >>> flagged = select_anomalies(pvalues, fdr=0.1)
        """
        calibration = self._calibration()
        if self.calibration_source_ == "training":
            warnings.warn(
                "conformal p-values need calibration rows the detector did not "
                "train on; with calibration='training' they come from the "
                "training rows and are too small for new normal rows. Fit with "
                "calibration=0.2 or call calibrate().",
                UserWarning,
                stacklevel=2,
            )
        return conformal_pvalues(calibration, self.score_samples(X))
