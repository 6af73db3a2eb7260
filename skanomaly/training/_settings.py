"""Build a net's settings object from the estimator's parameters of the same name."""

from __future__ import annotations

import dataclasses


def settings_from(estimator, settings_class, **derived):
    """An instance of the dataclass ``settings_class`` filled from ``estimator``.

    Every field takes the estimator parameter of the same name, unless
    ``derived`` gives it (values fit computed, such as a radius resolved from
    the data). So each hyperparameter is documented once, on the estimator,
    and reaches the net under its own name.

    Parameters
    ----------
    estimator : BaseEstimator
        The detector whose ``get_params(deep=False)`` supplies the fields.
    settings_class : type
        A dataclass.
    **derived
        Field values that do not come straight from a parameter.

    Returns
    -------
    settings : settings_class

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> from sklearn.ensemble import IsolationForest
    >>> from skanomaly.training import settings_from
    >>> @dataclass(frozen=True)
    ... class TreeSettings:
    ...     n_estimators: int
    ...     depth: int
    >>> settings_from(IsolationForest(n_estimators=5), TreeSettings, depth=3)
    TreeSettings(n_estimators=5, depth=3)
    """
    params = estimator.get_params(deep=False)
    values = {}
    for spec in dataclasses.fields(settings_class):
        if spec.name in derived:
            values[spec.name] = derived[spec.name]
        elif spec.name in params:
            values[spec.name] = params[spec.name]
        else:
            raise TypeError(
                f"{settings_class.__name__}.{spec.name} is neither a parameter of "
                f"{type(estimator).__name__} nor given as derived."
            )
    extra = set(derived) - {spec.name for spec in dataclasses.fields(settings_class)}
    if extra:
        raise TypeError(f"{settings_class.__name__} has no fields {sorted(extra)}.")
    return settings_class(**values)
