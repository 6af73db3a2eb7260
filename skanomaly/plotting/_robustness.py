"""ROC AUC against the attack budget (the Puzzle-AE paper's Fig. 10)."""

from __future__ import annotations

import numpy as np

from skanomaly.plotting._common import import_pyplot


def _named_results(results) -> list[tuple[str, object]]:
    if isinstance(results, dict):
        pairs = [(str(name), res) for name, res in results.items()]
    elif isinstance(results, (list, tuple)):
        pairs = [(f"detector {i}", res) for i, res in enumerate(results)]
    else:
        pairs = [("", results)]
    if not pairs:
        raise ValueError("pass at least one result of auc_under_attack.")
    for name, res in pairs:
        if not (hasattr(res, "epsilons") and hasattr(res, "aucs")):
            raise TypeError(
                "results must be AUCUnderAttack objects (from "
                "skanomaly.robustness.auc_under_attack), a list or a dict of them; "
                f"got {type(res).__name__}" + (f" for {name!r}." if name else ".")
            )
    return pairs


def plot_auc_under_attack(results, *, ax=None, chance=True, marker="o"):
    """Draw the ROC AUC of one or more detectors against the attack budget.

    Parameters
    ----------
    results : AUCUnderAttack, list or dict of {name: AUCUnderAttack}
        What :func:`skanomaly.robustness.auc_under_attack` returned; a dict
        labels the curves.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure's axes when ``None``.
    chance : bool, default=True
        Draw the chance level (AUC 0.5) as a dashed line.
    marker : str, default="o"
        Marker of the budgets.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes, budget on x, AUC on y.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skanomaly.plotting import plot_auc_under_attack
    >>> from skanomaly.robustness import AUCUnderAttack
    >>> res = AUCUnderAttack(epsilons=np.array([0, 0.1]), aucs=np.array([0.9, 0.6]),
    ...                      anomaly_scores=np.zeros((2, 4)), norm="linf", steps=10)
    >>> ax = plot_auc_under_attack({"DAE": res})
    >>> ax.get_ylabel(), len(ax.get_lines())
    ('ROC AUC', 2)
    """
    pairs = _named_results(results)
    if ax is None:
        plt = import_pyplot()
        _, ax = plt.subplots(figsize=(5, 3.5))
    norms = sorted({str(getattr(res, "norm", "")) for _, res in pairs} - {""})
    for name, res in pairs:
        eps = np.asarray(res.epsilons, dtype=np.float64)
        aucs = np.asarray(res.aucs, dtype=np.float64)
        if eps.shape != aucs.shape:
            raise ValueError(
                f"epsilons and aucs differ in shape: {eps.shape} and {aucs.shape}."
            )
        order = np.argsort(eps, kind="stable")
        ax.plot(eps[order], aucs[order], marker=marker, label=name or None)
    if chance:
        ax.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="chance")
    label = "attack budget epsilon"
    if len(norms) == 1:
        label += f" ({'L-inf' if norms[0] == 'linf' else 'L2'})"
    ax.set_xlabel(label)
    ax.set_ylabel("ROC AUC")
    ax.set_ylim(0.0, 1.02)
    if len(pairs) > 1 or pairs[0][0]:
        ax.legend(loc="best", fontsize="small")
    return ax
