"""skanomaly.datasets.load_adbench / list_adbench on small files written here."""

import numpy as np
import pytest

from skanomaly.datasets import list_adbench, load_adbench


@pytest.fixture
def folder(tmp_path):
    rng = np.random.RandomState(0)
    np.savez(
        tmp_path / "6_cardio.npz", X=rng.normal(size=(20, 3)), y=[0] * 18 + [1] * 2
    )
    np.savez(
        tmp_path / "42_WBC.npz",
        X=rng.normal(size=(10, 2)).astype(np.float32),
        y=[0] * 10,
    )
    return tmp_path


def test_loads_by_file_name_or_short_name(folder):
    data = load_adbench("6_cardio", data_home=folder)
    assert data.data.shape == (20, 3) and data.data.dtype == np.float64
    assert data.target.dtype == np.int64 and data.target.sum() == 2
    assert data.name == "6_cardio" and data.filename.endswith("6_cardio.npz")
    assert "20 rows" in data.DESCR
    X, y = load_adbench("wbc", data_home=folder, return_X_y=True)
    assert X.shape == (10, 2) and (y == 0).all()


def test_list_and_the_environment_variable(folder, monkeypatch, tmp_path_factory):
    assert list_adbench(data_home=folder) == ["42_WBC", "6_cardio"]
    home = tmp_path_factory.mktemp("home")
    (home / "adbench").mkdir()
    np.savez(home / "adbench" / "2_annthyroid.npz", X=np.ones((3, 2)), y=[0, 0, 1])
    monkeypatch.setenv("SKANOMALY_DATA", str(home))
    assert list_adbench() == ["2_annthyroid"]
    assert load_adbench("annthyroid").data.shape == (3, 2)
    # data_home comes first
    assert list_adbench(data_home=folder)[0] == "42_WBC"


def test_missing_file_says_where_it_looked(folder, monkeypatch):
    monkeypatch.delenv("SKANOMALY_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="downloads nothing") as info:
        load_adbench("thyroid", data_home=folder)
    assert str(folder) in str(info.value)
    assert list_adbench(data_home=folder / "nowhere") == []


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"X": np.ones((3, 2))}, "holds X and y"),
        ({"X": np.ones(3), "y": [0, 0, 1]}, "2-D numeric"),
        ({"X": np.ones((3, 2)), "y": [0, 1]}, "3 rows but y has 2"),
        ({"X": np.ones((3, 2)), "y": [0, 2, 1]}, "0 .normal. and 1"),
        ({"X": np.array([[1.0, np.nan], [0, 0]]), "y": [0, 1]}, "NaN or infinite"),
    ],
)
def test_bad_files_raise_value_errors(tmp_path, arrays, match):
    np.savez(tmp_path / "1_bad.npz", **arrays)
    with pytest.raises(ValueError, match=match):
        load_adbench("bad", data_home=tmp_path)


def test_a_file_with_objects_is_refused_without_running_them(tmp_path):
    np.savez(tmp_path / "1_evil.npz", X=np.array([object()], dtype=object), y=[0])
    with pytest.raises(ValueError, match="not a readable .npz"):
        load_adbench("evil", data_home=tmp_path)
