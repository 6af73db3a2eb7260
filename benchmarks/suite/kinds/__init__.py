"""The kinds of experiment: each module has ``KEYS`` (the settings it reads),
``run(experiment, context) -> rows`` and ``report(experiment, rows, metadata)
-> markdown``; ``summary(rows)`` (``{label: value}``) for kinds that can fill a
column of the README table."""

import importlib

#: the kinds an experiment may declare: modules of this package
KIND_NAMES = ("auc", "decisions", "memory", "robustness", "speed")


def get_kind(name):
    """The module of a kind.

    Raises
    ------
    ValueError
        For an unknown kind.
    """
    if name not in KIND_NAMES:
        raise ValueError(f"kind must be one of {list(KIND_NAMES)}, got {name!r}.")
    return importlib.import_module(f"benchmarks.suite.kinds.{name.replace('-', '_')}")
