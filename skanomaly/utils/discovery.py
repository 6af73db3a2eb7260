"""Find the estimators skanomaly exports."""

from __future__ import annotations

import inspect


def all_estimators():
    """List the public detectors as ``(name, class)`` pairs, sorted by name.

    Returns
    -------
    estimators : list of tuple of (str, type)
        Every :class:`~skanomaly.base.BaseDeepDetector` subclass the package exports.

    Examples
    --------
    >>> from skanomaly.utils import all_estimators
    >>> "DenoisingAE" in dict(all_estimators())
    True
    """
    import skanomaly
    from skanomaly.base import BaseDeepDetector

    found = []
    for name in skanomaly.__all__:
        obj = getattr(skanomaly, name)
        if inspect.isclass(obj) and issubclass(obj, BaseDeepDetector):
            found.append((name, obj))
    return sorted(found)
