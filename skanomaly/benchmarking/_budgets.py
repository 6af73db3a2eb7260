"""Training budgets: how many epochs the registered deep detectors get, and where.

A :class:`Budget` is what every detector factory of
:data:`skanomaly.benchmarking.DETECTOR_FACTORIES` receives; :data:`BUDGETS`
holds the presets of ``skanomaly benchmark --budget`` and :func:`get_budget`
turns a preset name (or a budget) and overrides into one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """How much training a registered detector gets, and where.

    A detector factory reads ``budget.epochs(paper_epochs)`` for its epoch
    count, ``budget.device`` for its torch device and, when its settings
    depend on the data (as the papers' epochs do), ``budget.dataset``.

    Parameters
    ----------
    name : str, default="quick"
        ``"quick"``, ``"standard"``, ``"paper"`` or a name of your own.
    max_epochs : int or None, default=30
        Epochs for every deep detector; ``None`` lets each factory use its
        paper's count (the ``"paper"`` budget).
    device : str, default="auto"
        Torch device of the deep detectors (``"auto"``: CUDA, MPS, then CPU).
    dataset : str or None, default=None
        The data set being benchmarked; :func:`run_benchmark` fills it in.

    Examples
    --------
    >>> from skanomaly.benchmarking import Budget, get_budget
    >>> get_budget("quick").epochs(1600)
    30
    >>> get_budget("paper").epochs(1600)
    1600
    >>> Budget(max_epochs=3, device="cpu").epochs(1600)
    3
    """

    name: str = "quick"
    max_epochs: int | None = 30
    device: str = "auto"
    dataset: str | None = None

    def epochs(self, paper_epochs: int) -> int:
        """``max_epochs``, or ``paper_epochs`` when the budget leaves it open."""
        return int(paper_epochs if self.max_epochs is None else self.max_epochs)


#: the preset budgets: "quick" (the command's default: the scikit-learn digits
#: run takes seconds per detector, a Fashion-MNIST class about 20 s for
#: DenoisingAE on 2 CPU cores), "standard" (200 epochs: a GPU or a long CPU
#: run) and "paper" (each factory's paper epochs; days on a CPU)
BUDGETS = {
    "quick": Budget("quick", 30),
    "standard": Budget("standard", 200),
    "paper": Budget("paper", None),
}


def get_budget(budget="quick", *, max_epochs=None, device=None):
    """A :class:`Budget` from a preset name, with optional overrides.

    Parameters
    ----------
    budget : str or Budget, default="quick"
        A name in :data:`BUDGETS` or a :class:`Budget`.
    max_epochs : int, default=None
        Overrides the epochs of every deep detector.
    device : str, default=None
        Overrides the device.

    Returns
    -------
    budget : Budget

    Examples
    --------
    >>> from skanomaly.benchmarking import get_budget
    >>> get_budget("standard", max_epochs=5, device="cpu")
    Budget(name='standard', max_epochs=5, device='cpu', dataset=None)
    """
    if isinstance(budget, str):
        if budget not in BUDGETS:
            raise ValueError(
                f"unknown budget {budget!r}; choose one of {list(BUDGETS)}."
            )
        budget = BUDGETS[budget]
    elif not isinstance(budget, Budget):
        raise ValueError(f"budget must be a name or a Budget, got {budget!r}.")
    if max_epochs is not None:
        if not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError(f"max_epochs must be a positive int, got {max_epochs!r}.")
        budget = dataclasses.replace(budget, max_epochs=max_epochs)
    if device is not None:
        budget = dataclasses.replace(budget, device=device)
    return budget
