"""The detector registry: factories that build a named detector for a budget.

:data:`DETECTOR_FACTORIES` maps the names ``skanomaly benchmark --detectors``
accepts to ``factory(budget, seed)`` functions returning unfitted estimators
(skanomaly, scikit-learn or PyOD); :func:`make_detector` calls one and
:func:`describe_detectors` lists them. The papers' settings live with each
detector (``Detector.paper_params(dataset)``); the budget picks them.
"""

from __future__ import annotations

from collections.abc import Callable

from skanomaly.benchmarking._budgets import Budget, get_budget
from skanomaly.utils._torch import resolve_device


def _pyod_device(budget):
    return resolve_device(budget.device)


def _pyod_knn(budget, seed):
    """PyOD KNN: distance to the 5th nearest training sample."""
    from pyod.models.knn import KNN

    return KNN()


def _pyod_iforest(budget, seed):
    """PyOD IForest (100 trees)."""
    from pyod.models.iforest import IForest

    return IForest(random_state=seed)


def _pyod_autoencoder(budget, seed):
    """PyOD AutoEncoder (64-32, batch norm, dropout; paper: 10 epochs default)."""
    from pyod.models.auto_encoder import AutoEncoder

    return AutoEncoder(
        epoch_num=budget.epochs(10),
        random_state=seed,
        device=_pyod_device(budget),
        verbose=0,
    )


def _pyod_vae(budget, seed):
    """PyOD VAE (128-64-32, latent 2; default 30 epochs)."""
    from pyod.models.vae import VAE

    return VAE(
        epoch_num=budget.epochs(30),
        random_state=seed,
        device=_pyod_device(budget),
        verbose=0,
    )


def _pyod_ecod(budget, seed):
    """PyOD ECOD: empirical-CDF tail probabilities, no parameter to tune."""
    from pyod.models.ecod import ECOD

    return ECOD()


def _pyod_deepsvdd(budget, seed):
    """PyOD DeepSVDD (one-class hypersphere; default 100 epochs)."""
    from pyod.models.deep_svdd import DeepSVDD

    # n_features None: run_benchmark sets it from the data
    return DeepSVDD(
        n_features=None,
        epochs=budget.epochs(100),
        random_state=seed,
        verbose=0,
    )


def _sklearn_iforest(budget, seed):
    """scikit-learn IsolationForest (100 trees)."""
    from sklearn.ensemble import IsolationForest

    return IsolationForest(random_state=seed)


def _sklearn_lof(budget, seed):
    """scikit-learn LocalOutlierFactor(novelty=True), 20 neighbours."""
    from sklearn.neighbors import LocalOutlierFactor

    return LocalOutlierFactor(novelty=True)


def _sklearn_ocsvm(budget, seed):
    """scikit-learn OneClassSVM (RBF, gamma='scale', nu=0.5)."""
    from sklearn.svm import OneClassSVM

    return OneClassSVM(gamma="scale")


def paper_value(detector_class, dataset, name, default):
    """One setting of a detector's paper configuration for a data set, or
    ``default`` when the paper did not use that data set.

    Examples
    --------
    >>> from skanomaly import ARAE
    >>> from skanomaly.benchmarking import paper_value
    >>> paper_value(ARAE, "mnist-subset", "epsilon", 0.05)
    0.2
    >>> paper_value(ARAE, "digits", "epsilon", 0.05)
    0.05
    """
    try:
        return detector_class.paper_params(dataset)[name]
    except ValueError:
        return default


def _skanomaly(detector_class, budget, seed, **params):
    """A skanomaly detector with the budget's settings, then ``params``."""
    return detector_class(
        **{**budget.detector_params(detector_class), **params},
        device=budget.device,
        random_state=seed,
    )


def _denoising_ae(budget, seed):
    """skanomaly DenoisingAE (MLP 512-256-128, U(0, 0.1) noise; paper: all sigmoid)."""
    from skanomaly import DenoisingAE

    return _skanomaly(DenoisingAE, budget, seed)


def _arae(budget, seed, **params):
    from skanomaly import ARAE

    if not budget.is_paper:
        # the paper's radius for the data set also under other budgets
        params.setdefault("epsilon", paper_value(ARAE, budget.dataset, "epsilon", 0.05))
    return _skanomaly(ARAE, budget, seed, **params)


def _arae_latent(budget, seed):
    """skanomaly ARAE (MLP 512-256-128, latent-space L-inf attack; paper: 40-step PGD)."""
    return _arae(budget, seed)


def _arae_reconstruction(budget, seed):
    """skanomaly ARAE-R (ARAE with the attack on the reconstruction error)."""
    return _arae(budget, seed, attack_target="reconstruction")


def _arae_union(budget, seed):
    """skanomaly ARAE-A (union of L-inf, L2 and rotation/translation attacks)."""
    n_rotations = 31 if budget.is_paper else 5
    return _arae(budget, seed, attack="union", n_rotations=n_rotations)


def _puzzle_ae(budget, seed):
    """skanomaly PuzzleAE (U-Net width 16, paper 64; 23 puzzles, FGSM, discriminator)."""
    from skanomaly import PuzzleAE

    params = {}
    if not budget.is_paper:
        params["epsilon"] = paper_value(PuzzleAE, budget.dataset, "epsilon", 0.07)
    return _skanomaly(PuzzleAE, budget, seed, **params)


def _crbnd(budget, seed):
    """skanomaly CRBND (residual encoder-decoder, then a connective-sample classifier)."""
    from skanomaly import CRBND

    return _skanomaly(CRBND, budget, seed)


def _lis_ae(budget, seed):
    """skanomaly LISAE (conv or MLP autoencoder, tanh latent; built-in negatives)."""
    from skanomaly import LISAE

    return _skanomaly(LISAE, budget, seed)


def _robust_gmm_dae(budget, seed):
    """skanomaly RobustGMMDAE (FC 200x4, GMM prior, latent FGSM with coupled codes)."""
    from skanomaly import RobustGMMDAE

    return _skanomaly(RobustGMMDAE, budget, seed)


#: ``name -> factory(budget, seed)`` returning an unfitted estimator. Add a
#: detector with one entry, e.g.::
#:
#:     DETECTOR_FACTORIES["arae"] = lambda budget, seed: ARAE(
#:         **budget.detector_params(ARAE), device=budget.device, random_state=seed
#:     )
#:
#: A factory's docstring's first line describes it in ``skanomaly detectors``.
#: Estimators with an ``input_shape`` parameter left at None get the data
#: set's image shape.
DETECTOR_FACTORIES: dict[str, Callable[[Budget, int], object]] = {
    "arae": _arae_latent,
    "arae-a": _arae_union,
    "crbnd": _crbnd,
    "arae-r": _arae_reconstruction,
    "denoising-ae": _denoising_ae,
    "lis-ae": _lis_ae,
    "pyod-autoencoder": _pyod_autoencoder,
    "pyod-deepsvdd": _pyod_deepsvdd,
    "pyod-ecod": _pyod_ecod,
    "pyod-iforest": _pyod_iforest,
    "pyod-knn": _pyod_knn,
    "pyod-vae": _pyod_vae,
    "puzzle-ae": _puzzle_ae,
    "robust-gmm-dae": _robust_gmm_dae,
    "sklearn-iforest": _sklearn_iforest,
    "sklearn-lof": _sklearn_lof,
    "sklearn-ocsvm": _sklearn_ocsvm,
}

#: what ``skanomaly benchmark`` runs without ``--detectors``
DEFAULT_DETECTORS = ("denoising-ae", "arae", "lis-ae", "sklearn-iforest", "pyod-knn")


def make_detector(name, budget="quick", seed=0):
    """Build a registered detector.

    Parameters
    ----------
    name : str
        A key of :data:`DETECTOR_FACTORIES`.
    budget : str or Budget, default="quick"
        The training budget.
    seed : int, default=0
        The detector's ``random_state``.

    Returns
    -------
    estimator : object
        An unfitted detector.

    Examples
    --------
    >>> from skanomaly.benchmarking import make_detector
    >>> make_detector("sklearn-iforest", seed=3)
    IsolationForest(random_state=3)
    """
    if name not in DETECTOR_FACTORIES:
        raise ValueError(
            f"unknown detector {name!r}; choose from {sorted(DETECTOR_FACTORIES)}."
        )
    try:
        return DETECTOR_FACTORIES[name](get_budget(budget), seed)
    except ImportError as exc:
        raise ImportError(
            f"detector {name!r} needs a package that is missing: {exc}"
        ) from exc


def describe_detectors():
    """``{name: one-line description}`` of the registered detectors.

    Returns
    -------
    descriptions : dict of str to str

    Examples
    --------
    >>> from skanomaly.benchmarking import describe_detectors
    >>> describe_detectors()["sklearn-lof"]
    'scikit-learn LocalOutlierFactor(novelty=True), 20 neighbours.'
    """
    out = {}
    for name in sorted(DETECTOR_FACTORIES):
        doc = (DETECTOR_FACTORIES[name].__doc__ or "").strip()
        out[name] = doc.splitlines()[0] if doc else ""
    return out
