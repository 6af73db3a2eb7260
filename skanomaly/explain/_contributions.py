"""Per-feature contributions to a fitted detector's anomaly score."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

#: the values of ``method`` of :func:`explain_samples`
METHODS = ("reconstruction", "gradient")


def _check_detector(detector) -> None:
    """A fitted skanomaly detector: ``TypeError``, then ``NotFittedError``."""
    if not (
        callable(getattr(detector, "anomaly_score_module", None))
        and callable(getattr(detector, "_prepare_input", None))
        and callable(getattr(detector, "_reconstructions", None))
    ):
        raise TypeError(
            "detector must be a skanomaly detector (with anomaly_score_module() "
            f"and reconstruct()); got {type(detector).__name__}. For other "
            "detectors, skanomaly.plotting.occlusion_saliency needs only "
            "score_samples."
        )
    check_is_fitted(detector)


def _sample_shape(detector) -> tuple[int, ...]:
    """``input_shape_`` for image detectors (3 entries), else ``(n_features,)``."""
    shape = tuple(int(s) for s in detector.input_shape_)
    if len(shape) == 3:
        return shape
    return (int(np.prod(shape)),)


def reconstruction_contributions(detector, X):
    """Squared reconstruction error of each feature (or pixel) of each sample.

    ``(x_hat_j - x_j)**2`` with ``x`` the sample in the detector's fitted
    [0, 1] scale (``scaler_``, the scale its network sees and its scores are
    computed in) and ``x_hat`` the network's reconstruction of it. Every value
    is non-negative, and the values do not depend on the units of the
    features. For detectors scored by the reconstruction error (``DenoisingAE``,
    ``ARAE``, ``RobustGMMDAE`` and ``CRBND`` with
    ``anomaly_score="reconstruction"``) the contributions of a sample sum to
    its anomaly score, ``-score_samples``, up to float32 rounding; LIS-AE's
    reconstruction score, ``||x_hat - x||_2``, is the square root of their
    sum. For other scores (the defaults with the latent-neighbour term, NAP,
    PuzzleAE's puzzle errors, CRBND's classifier, the GMM likelihood) they
    show where the reconstruction fails, which the score depends on but does
    not sum; :func:`gradient_contributions` follows the score itself.

    Parameters
    ----------
    detector : BaseDeepDetector
        A fitted skanomaly detector.
    X : array-like of shape (n_samples, n_features) or image array
        Samples in the units and layout of ``fit``'s ``X`` (flat rows,
        ``(n, H, W)`` or ``(n, C, H, W)`` images); a numpy memmap or a torch
        ``Dataset`` is read a batch at a time, as in ``score_samples``. ``X``
        is not modified.

    Returns
    -------
    contributions : ndarray of shape (n_samples, n_features) or (n_samples, C, H, W), dtype float64
        Non-negative; ``(n_samples, *input_shape_)`` for detectors fitted on
        images (``input_shape_`` of 3 entries), flat rows otherwise.

    Raises
    ------
    TypeError
        If ``detector`` is not a skanomaly detector.
    sklearn.exceptions.NotFittedError
        If ``detector`` is not fitted.
    ValueError
        If ``X`` does not match the data the detector was fitted on (as in
        ``score_samples``).

    See Also
    --------
    gradient_contributions : Gradient times input, for any anomaly score.
    explain_samples : Either method by name.

    Examples
    --------
    >>> import numpy as np
    >>> from skanomaly import DenoisingAE
    >>> from skanomaly.explain import reconstruction_contributions
    >>> X = np.random.RandomState(0).uniform(size=(50, 6))
    >>> det = DenoisingAE(hidden_dims=(8, 3), anomaly_score="reconstruction",
    ...                   max_epochs=2, device="cpu", random_state=0).fit(X)
    >>> odd = X[:3].copy()
    >>> odd[:, 4] = 3.0  # far above the training range [0, 1] of feature 4
    >>> contributions = reconstruction_contributions(det, odd)
    >>> contributions.shape
    (3, 6)
    >>> contributions.argmax(axis=1)
    array([4, 4, 4])
    >>> bool(np.allclose(contributions.sum(axis=1), -det.score_samples(odd),
    ...                  rtol=1e-5))
    True
    """
    _check_detector(detector)
    X_net = detector._prepare_input(X)
    n_samples = X_net.shape[0]
    sample_shape = _sample_shape(detector)
    n_features = int(np.prod(sample_shape))
    module = detector.net_.module_

    def squared_errors(batch):
        # one pass over X_net: a streamed input (memmap, Dataset) is read once
        reconstruction = detector._reconstruct_batch(module, batch).flatten(1)
        if reconstruction.shape[1] != n_features:
            raise TypeError(
                f"{type(detector).__name__}'s network returns "
                f"{tuple(reconstruction.shape[1:])} values per sample, not a "
                f"reconstruction of its {n_features} input values; use "
                "method='gradient'."
            )
        # the float32 reconstruction against the input, in float64
        return (reconstruction.double() - batch.flatten(1).double()).pow(2)

    contributions = detector._map_batches(X_net, squared_errors, np.float64)
    return contributions.reshape(n_samples, *sample_shape)


def gradient_contributions(detector, X):
    """Gradient times input of each feature (or pixel) through the anomaly score.

    For a sample ``x`` (in the units of ``fit``'s ``X``) and the detector's
    anomaly score ``s`` (larger = more anomalous, ``-score_samples``; the
    module of :meth:`~skanomaly.base.BaseDeepDetector.anomaly_score_module`),
    the contribution of feature ``j`` is::

        c_j(x) = ds/dx_j (x) * (x_j - m_j)

    with ``m`` the training minimum the detector's scaling subtracts
    (``scaler_.min_``, per feature or global; 0 when the scaling is the
    identity, as for images in [0, 1]). That is gradient times input in the
    detector's fitted [0, 1] scale, ``u = (x - m) / scale``:
    ``c_j = ds/du_j * u_j``. So the contributions do not depend on the units
    of the features (rescaling or shifting a feature in the data the detector
    is fitted on leaves them unchanged), and they are measured against the
    training minimum, ``u = 0``: to first order, ``c_j`` is how much the
    score would drop if feature ``j`` moved there from its value.

    The values are signed: positive where the feature's value pushes the
    score up (the sample looks more anomalous because of it), negative where
    it pulls the score down. Unlike :func:`reconstruction_contributions` they
    exist for every score (NAP, PuzzleAE's puzzle and feature terms, CRBND's
    classifier, ...) and follow the score itself, but they do not sum to it:
    they are a local, linear reading of it. A feature that is anomalously
    low, near the training minimum (a black pixel where a stroke is missing),
    gets a small contribution however wrong it is, since its ``u_j`` is near
    0; its reconstruction error shows it.

    Gradients are taken with :func:`torch.autograd.grad` with respect to the
    input only, batch by batch (``batch_size_`` rows), with the network in
    eval mode on ``device_``; no parameter's ``.grad``, no fitted network's
    train/eval mode and no global random state changes.

    Parameters
    ----------
    detector : BaseDeepDetector
        A fitted skanomaly detector.
    X : array-like of shape (n_samples, n_features) or image array
        Samples in the units and layout of ``fit``'s ``X`` (flat rows,
        ``(n, H, W)`` or ``(n, C, H, W)`` images); a numpy memmap or a torch
        ``Dataset`` is read a batch at a time, as in ``score_samples``. ``X``
        is not modified.

    Returns
    -------
    contributions : ndarray of shape (n_samples, n_features) or (n_samples, C, H, W), dtype float64
        Signed; ``(n_samples, *input_shape_)`` for detectors fitted on images
        (``input_shape_`` of 3 entries), flat rows otherwise.

    Raises
    ------
    TypeError
        If ``detector`` is not a skanomaly detector, or its anomaly score is
        not differentiable with respect to the input.
    sklearn.exceptions.NotFittedError
        If ``detector`` is not fitted.
    ValueError
        If ``X`` does not match the data the detector was fitted on (as in
        ``score_samples``).

    See Also
    --------
    reconstruction_contributions : Squared reconstruction error per feature.
    explain_samples : Either method by name.

    Examples
    --------
    >>> import numpy as np
    >>> from skanomaly import DenoisingAE
    >>> from skanomaly.explain import gradient_contributions
    >>> X = np.random.RandomState(0).uniform(size=(50, 6))
    >>> det = DenoisingAE(hidden_dims=(8, 3), max_epochs=2, device="cpu",
    ...                   random_state=0).fit(X)
    >>> odd = X[:3].copy()
    >>> odd[:, 4] = 3.0  # far above the training range [0, 1] of feature 4
    >>> contributions = gradient_contributions(det, odd)
    >>> contributions.shape, contributions.dtype
    ((3, 6), dtype('float64'))
    >>> contributions.argmax(axis=1)
    array([4, 4, 4])
    """
    _check_detector(detector)
    X_net = detector._prepare_input(X)
    sample_shape = _sample_shape(detector)
    n_features = int(np.prod(sample_shape))
    contributions = np.empty((X_net.shape[0], n_features), dtype=np.float64)
    # _evaluating restores the mode of every fitted module afterwards, also
    # those the score module (a view on them) puts in eval mode
    with detector._evaluating():
        module = detector.anomaly_score_module()
        with torch.enable_grad():
            for rows, batch in detector._batches(X_net):
                # the gradient with respect to the scaled input u is the raw
                # gradient times the scale, so grad_u * u is the raw gradient
                # times (x - minimum)
                scaled = batch.detach().requires_grad_(True)
                score = module.score_net_input(scaled)
                if not score.requires_grad:
                    raise TypeError(
                        f"{type(detector).__name__}'s anomaly score is not "
                        "differentiable with respect to its input; use "
                        "method='reconstruction'."
                    )
                (grad,) = torch.autograd.grad(
                    score.sum(), scaled, allow_unused=True, materialize_grads=True
                )
                values = grad.double() * scaled.detach().double()
                n_valid = rows.stop - rows.start
                contributions[rows] = (
                    values[:n_valid].reshape(n_valid, n_features).cpu().numpy()
                )
    return contributions.reshape(len(contributions), *sample_shape)


def explain_samples(detector, X, method="reconstruction"):
    """Each feature's (or pixel's) contribution to each sample's anomaly score.

    Fitted detectors call it from their
    :meth:`~skanomaly.base.BaseDeepDetector.explain` method. Read more in the
    user guide's "Explaining anomalies".

    Parameters
    ----------
    detector : BaseDeepDetector
        A fitted skanomaly detector.
    X : array-like of shape (n_samples, n_features) or image array
        Samples in the units and layout of ``fit``'s ``X``; a numpy memmap or
        a torch ``Dataset`` is read a batch at a time. ``X`` is not modified.
    method : {"reconstruction", "gradient"}, default="reconstruction"
        ``"reconstruction"``: the squared reconstruction error of each feature
        in the detector's [0, 1] scale (:func:`reconstruction_contributions`),
        non-negative, summing to the anomaly score for reconstruction-error
        scores; ``"gradient"``: gradient times input through the fitted
        anomaly score (:func:`gradient_contributions`), signed, for any score.

    Returns
    -------
    contributions : ndarray of shape (n_samples, n_features) or (n_samples, C, H, W), dtype float64
        Larger = the feature makes the sample look more anomalous;
        ``(n_samples, *input_shape_)`` for detectors fitted on images.

    Raises
    ------
    ValueError
        If ``method`` is not one of the above, or ``X`` does not match the
        data the detector was fitted on.
    TypeError
        If ``detector`` is not a skanomaly detector.
    sklearn.exceptions.NotFittedError
        If ``detector`` is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from skanomaly import DenoisingAE
    >>> from skanomaly.explain import explain_samples
    >>> X = np.random.RandomState(0).uniform(size=(50, 1, 3, 3))
    >>> det = DenoisingAE(hidden_dims=(8, 3), max_epochs=2, device="cpu",
    ...                   random_state=0).fit(X)
    >>> explain_samples(det, X[:2], method="gradient").shape
    (2, 1, 3, 3)
    >>> bool((det.explain(X[:2]) >= 0).all())  # method="reconstruction"
    True
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(
            f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}."
        )
    if method == "gradient":
        return gradient_contributions(detector, X)
    return reconstruction_contributions(detector, X)
