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

    A detector factory reads :meth:`detector_params` for a skanomaly
    detector's settings, ``budget.epochs(default)`` for a third-party deep
    model's epoch count and ``budget.device`` for the torch device.

    Parameters
    ----------
    name : str, default="quick"
        ``"quick"``, ``"standard"``, ``"paper"`` or a name of your own.
    max_epochs : int, "auto" or "paper", default="auto"
        ``"auto"``: every detector's own defaults (skanomaly's fast recipes,
        whose training length adapts to the data; PyOD's defaults). An int:
        that many epochs for every deep detector, other settings default.
        ``"paper"``: each skanomaly detector's paper configuration
        (``paper_params`` of the data set), PyOD's defaults.
    device : str, default="auto"
        Torch device of the deep detectors (``"auto"``: CUDA, MPS, then CPU).
    dataset : str or None, default=None
        The data set being benchmarked; :func:`run_benchmark` fills it in.

    Examples
    --------
    >>> from skanomaly import ARAE
    >>> from skanomaly.benchmarking import Budget, get_budget
    >>> get_budget("quick").epochs(10), get_budget("standard").epochs(10)
    (10, 200)
    >>> get_budget("quick").detector_params(ARAE)
    {}
    >>> Budget(max_epochs=3).detector_params(ARAE)
    {'max_epochs': 3}
    >>> paper = Budget("paper", "paper", dataset="mnist").detector_params(ARAE)
    >>> paper["epsilon"], paper["pgd_steps"], paper["max_epochs"]
    (0.2, 40, 1600)
    """

    name: str = "quick"
    max_epochs: int | str = "auto"
    device: str = "auto"
    dataset: str | None = None

    @property
    def is_paper(self) -> bool:
        """Whether detectors get their paper configuration."""
        return self.max_epochs == "paper"

    def epochs(self, default: int) -> int:
        """The budget's epoch count, or ``default`` under "auto" and "paper"."""
        return int(default if isinstance(self.max_epochs, str) else self.max_epochs)

    def detector_params(self, detector_class) -> dict:
        """The settings of a skanomaly detector class under this budget.

        ``{}`` under "auto"; ``{"max_epochs": n}`` for an int; the class's
        ``paper_params`` for the data set (MNIST's for data sets the paper did
        not use) under "paper".
        """
        if self.is_paper:
            known = detector_class._paper_params
            dataset = self.dataset
            if dataset != "mnist-subset" and dataset not in known:
                dataset = "mnist"
            return detector_class.paper_params(dataset)
        if self.max_epochs == "auto":
            return {}
        return {"max_epochs": int(self.max_epochs)}


#: the preset budgets: "quick" (the command's default: every detector's own
#: defaults, whose training length adapts to the data; the digits run takes
#: under a minute on 2 cores), "standard" (200 epochs: a GPU or a long CPU run)
#: and "paper" (each detector's paper configuration; days on a CPU)
BUDGETS = {
    "quick": Budget("quick", "auto"),
    "standard": Budget("standard", 200),
    "paper": Budget("paper", "paper"),
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
