"""PyOD interop, both directions.

:func:`to_pyod` wraps a scikit-learn outlier detector (any skanomaly detector)
as a PyOD detector; :func:`from_pyod` wraps a PyOD detector as a scikit-learn
outlier detector. Only ``skanomaly.adapters.pyod`` knows PyOD's conventions,
and PyOD is imported only when a wrapper is built.
"""

from skanomaly.adapters.pyod import FromPyOD, from_pyod, to_pyod

__all__ = ["FromPyOD", "from_pyod", "to_pyod"]
