"""Experiments declared as data: reading and checking ``experiments.toml``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import tomllib

BENCHMARKS = Path(__file__).resolve().parents[1]
EXPERIMENTS_FILE = BENCHMARKS / "experiments.toml"
RESULTS = BENCHMARKS / "results"

#: keys every experiment may carry, whatever its kind
COMMON_KEYS = {"title", "description", "kind", "torch_threads", "smoke", "headline"}


@dataclass(frozen=True)
class Experiment:
    """One declared experiment.

    Parameters
    ----------
    name : str
        Its key in the experiments file; names its result files and page.
    kind : str
        A module of :mod:`benchmarks.suite.kinds`.
    title, description : str
        The heading and the introduction of its page.
    settings : dict
        Every other key of the declaration (the kind says which it reads).
    smoke : bool
        Whether this is the smoke version (:meth:`as_smoke`).
    """

    name: str
    kind: str
    title: str
    description: str = ""
    settings: dict = field(default_factory=dict)
    smoke: bool = False

    def get(self, key, default=None):
        """A setting, or ``default``."""
        return self.settings.get(key, default)

    def as_smoke(self):
        """The smoke version: the declaration's ``smoke`` overrides, one seed,
        one class, one epoch (what the tests run)."""
        settings = {**self.settings, **self.settings.get("smoke", {})}
        settings["seeds"] = settings.get("seeds", [0])[:1]
        if "classes" in settings:
            settings["classes"] = settings["classes"][:1]
        settings["budget"] = 1
        settings.pop("headline", None)
        return replace(self, settings=settings, smoke=True)


def load_experiments(path=EXPERIMENTS_FILE):
    """``{name: Experiment}`` of an experiments file, checked.

    Raises
    ------
    ValueError
        For an unknown kind, or a key the kind does not read.
    """
    from benchmarks.suite.kinds import KIND_NAMES, get_kind

    with open(path, "rb") as f:
        declared = tomllib.load(f)
    experiments = {}
    for name, spec in declared.items():
        spec = dict(spec)
        kind = spec.pop("kind", None)
        if kind not in KIND_NAMES:
            raise ValueError(
                f"experiment {name!r}: kind must be one of {list(KIND_NAMES)}, "
                f"got {kind!r}."
            )
        allowed = COMMON_KEYS | set(get_kind(kind).KEYS)
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ValueError(
                f"experiment {name!r} ({kind}): unknown keys {unknown}; "
                f"a {kind} experiment reads {sorted(allowed)}."
            )
        experiments[name] = Experiment(
            name=name,
            kind=kind,
            title=spec.pop("title", name),
            description=" ".join(spec.pop("description", "").split()),
            settings=spec,
        )
    return experiments
