"""Offline data sets and the papers' one-class protocols.

The image loaders return float32 rows in [0, 1] with the image shape in
``input_shape``; nothing is downloaded unless asked (``download=True``).
:func:`load_adbench` reads ADBench-format tabular ``.npz`` files from a folder
the user names (``data_home`` or ``$SKANOMALY_DATA``) and never downloads.
"""

from skanomaly.datasets._adbench import list_adbench, load_adbench
from skanomaly.datasets._idx import read_idx
from skanomaly.datasets._protocols import one_class_split
from skanomaly.datasets._vision import (
    get_data_home,
    load_digits_unit,
    load_fashion_mnist,
    load_mnist,
    load_mnist_subset,
)

__all__ = [
    "get_data_home",
    "list_adbench",
    "load_adbench",
    "load_digits_unit",
    "load_fashion_mnist",
    "load_mnist",
    "load_mnist_subset",
    "one_class_split",
    "read_idx",
]
