"""Parameter checks shared by several detectors."""

from __future__ import annotations

from numbers import Integral


def check_hidden_dims(hidden_dims, name="hidden_dims") -> tuple[int, ...]:
    """Return ``hidden_dims`` as a tuple of positive ints or raise ``ValueError``."""
    dims = tuple(hidden_dims)
    if not dims or not all(isinstance(d, Integral) and d > 0 for d in dims):
        raise ValueError(
            f"{name} must be a non-empty sequence of positive ints; got {hidden_dims!r}."
        )
    return tuple(int(d) for d in dims)
