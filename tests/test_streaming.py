"""Streamed input: numpy memmaps and torch Datasets in fit and scoring (issue 14)."""

import hashlib

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset, TensorDataset

import skanomaly
from skanomaly import DenoisingAE, PuzzleAE
from skanomaly.utils._streaming import StreamedNetInput, StreamedRows
from skanomaly.utils._testing import (
    INIT_PARAMS,
    held_out_rows,
    make_detector_data,
    make_test_instance,
)

# the tiny test budgets leave some detectors near the plateau; the plateau
# warning is tested elsewhere, and these tests compare streamed with in-memory
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

DETECTORS = sorted(INIT_PARAMS)


def _memmap(tmp_path, array, name="x.npy"):
    """``array`` saved to ``tmp_path`` and opened read-only: writing would raise."""
    path = tmp_path / name
    np.save(path, array)
    return np.load(path, mmap_mode="r")


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _SampleDataset(Dataset):
    """Samples of an array, one at a time, optionally as (sample, target)."""

    def __init__(self, array, pairs=True):
        self.array, self.pairs = array, pairs

    def __len__(self):
        return len(self.array)

    def __getitem__(self, i):
        sample = torch.as_tensor(self.array[i])
        return (sample, 0) if self.pairs else sample


def test_denoising_memmap_fit_and_score_match_array(tmp_path):
    data = make_detector_data(DenoisingAE, n_train=100)
    X_train = data.X_train * 3 - 1  # outside [0, 1]: "auto" learns a scaling
    X_mm = _memmap(tmp_path, X_train)
    in_memory = make_test_instance(DenoisingAE).fit(X_train)
    streamed = make_test_instance(DenoisingAE).fit(X_mm)
    assert streamed.scaler_.mode_ == in_memory.scaler_.mode_ == "feature"
    np.testing.assert_array_equal(streamed.scaler_.min_, in_memory.scaler_.min_)
    np.testing.assert_array_equal(streamed.scaler_.scale_, in_memory.scaler_.scale_)
    assert streamed.n_features_in_ == in_memory.n_features_in_ == X_train.shape[1]
    assert streamed.input_shape_ == in_memory.input_shape_
    assert [r["train_loss"] for r in streamed.history_] == [
        r["train_loss"] for r in in_memory.history_
    ]
    assert streamed.offset_ == in_memory.offset_
    X_test = data.X_test * 3 - 1
    expected = in_memory.score_samples(X_test)
    np.testing.assert_array_equal(streamed.score_samples(X_test), expected)
    np.testing.assert_array_equal(
        streamed.score_samples(_memmap(tmp_path, X_test, "t.npy")), expected
    )


@pytest.mark.parametrize("scaling", ["auto", "feature", "global", "none"])
def test_streamed_scaling_equals_in_memory_scaling(tmp_path, scaling):
    X = make_detector_data(DenoisingAE).X_train
    X = X * 3 - 1 if scaling != "none" else X
    det = make_test_instance(DenoisingAE, scaling=scaling)
    a = det.fit(X).scaler_
    b = make_test_instance(DenoisingAE, scaling=scaling).fit(_memmap(tmp_path, X))
    b = b.scaler_
    assert a.mode_ == b.mode_
    for attr in ("min_", "scale_"):
        np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr))


@pytest.mark.parametrize("name", DETECTORS)
def test_every_detector_scores_a_memmap_as_the_array(tmp_path, name):
    cls = getattr(skanomaly, name)
    data = make_detector_data(cls)
    det = make_test_instance(cls).fit(data.X_train, **data.fit_params)
    X_mm = _memmap(tmp_path, data.X_test)
    for method in ("score_samples", "decision_function", "predict"):
        np.testing.assert_array_equal(
            getattr(det, method)(X_mm), getattr(det, method)(data.X_test)
        )
    # a torch Dataset of the same samples, as (sample, target) pairs
    np.testing.assert_array_equal(
        det.score_samples(_SampleDataset(data.X_test)), det.score_samples(data.X_test)
    )


def test_encode_and_reconstruct_stream(tmp_path):
    data = make_detector_data(DenoisingAE)
    det = make_test_instance(DenoisingAE).fit(data.X_train)
    X_mm = _memmap(tmp_path, data.X_test)
    np.testing.assert_array_equal(det.encode(X_mm), det.encode(data.X_test))
    np.testing.assert_array_equal(det.reconstruct(X_mm), det.reconstruct(data.X_test))


@pytest.mark.parametrize("name", DETECTORS)
def test_streamed_fit_matches_in_memory_fit(tmp_path, name):
    cls = getattr(skanomaly, name)
    data = make_detector_data(cls)
    in_memory = make_test_instance(cls).fit(data.X_train, **data.fit_params)
    streamed = make_test_instance(cls).fit(
        _memmap(tmp_path, data.X_train), **data.fit_params
    )
    assert streamed.offset_ == in_memory.offset_
    np.testing.assert_array_equal(
        streamed.score_samples(data.X_test), in_memory.score_samples(data.X_test)
    )


def test_index_batches_are_the_batch_samplers_batches():
    from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler

    from skanomaly.training._batches import IndexBatches

    for n, size, drop_last in [(10, 4, False), (10, 4, True), (12, 4, True)]:
        for shuffle in (True, False):
            g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
            order = (
                RandomSampler(range(n), generator=g1)
                if shuffle
                else SequentialSampler(range(n))
            )
            reference = BatchSampler(order, size, drop_last)
            ours = IndexBatches(n, size, drop_last, g2, shuffle=shuffle)
            for _ in range(2):  # the generator carries over between epochs
                assert [batch.tolist() for batch in ours] == list(reference)
            assert len(ours) == len(reference)
            # the same draws: the generators end in the same state
            assert torch.equal(g1.get_state(), g2.get_state())


def _image_folder(root, n=24, size=16, seed=0):
    """A one-class ImageFolder of grayscale PNG ramps with noise."""
    from PIL import Image

    rng = np.random.RandomState(seed)
    folder = root / "normal"
    folder.mkdir(parents=True)
    ramp = np.linspace(40, 210, size)
    for i in range(n):
        pixels = np.clip(ramp + rng.uniform(-12, 12, size=(size, size)), 0, 255)
        Image.fromarray(pixels.astype(np.uint8), mode="L").convert("RGB").save(
            folder / f"{i:03d}.png"
        )


def test_image_folder_with_a_transform_fits_and_scores(tmp_path):
    datasets = pytest.importorskip("torchvision.datasets")
    transforms = pytest.importorskip("torchvision.transforms")
    _image_folder(tmp_path / "images")
    transform = transforms.Compose([transforms.Grayscale(), transforms.ToTensor()])
    folder = datasets.ImageFolder(tmp_path / "images", transform=transform)
    images = np.stack([folder[i][0].numpy() for i in range(len(folder))])
    assert images.shape == (24, 1, 16, 16)
    det = make_test_instance(PuzzleAE).fit(folder)
    assert det.input_shape_ == (1, 16, 16)
    assert det.n_features_in_ == 256
    reference = make_test_instance(PuzzleAE).fit(images)
    np.testing.assert_array_equal(
        det.score_samples(folder), reference.score_samples(images)
    )
    np.testing.assert_array_equal(
        det.score_samples(images), reference.score_samples(images)
    )


def test_tensor_dataset_of_rows_fits_as_the_array():
    X = make_detector_data(DenoisingAE).X_train
    streamed = make_test_instance(DenoisingAE).fit(TensorDataset(torch.as_tensor(X)))
    in_memory = make_test_instance(DenoisingAE).fit(X)
    np.testing.assert_array_equal(streamed.score_samples(X), in_memory.score_samples(X))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_bad_value_names_the_batch(tmp_path, bad):
    data = make_detector_data(DenoisingAE, n_train=100)
    X = data.X_train.copy()
    X[70, 3] = bad
    X_mm = _memmap(tmp_path, X)
    # batch_size=32: the scaling pass reads the training rows (80 of the 100;
    # the seeded split keeps row 70) 32 at a time, and names the batch's rows
    assert 70 in held_out_rows(make_test_instance(DenoisingAE), 100)[0]
    with pytest.raises(
        ValueError, match=r"the batch of rows \d+-\d+ contains NaN or infinity.*row 70"
    ):
        make_test_instance(DenoisingAE).fit(X_mm)
    det = make_test_instance(DenoisingAE).fit(data.X_train)
    with pytest.raises(ValueError, match=r"rows 64-95 .*row 70"):
        det.score_samples(X_mm)


def test_the_callers_memmap_is_never_written(tmp_path):
    data = make_detector_data(DenoisingAE)
    path = tmp_path / "rw.npy"
    np.save(path, data.X_train * 3 - 1)
    before = _digest(path)
    X_rw = np.load(path, mmap_mode="r+")  # writable: a write would go to the file
    det = make_test_instance(DenoisingAE).fit(X_rw)
    det.score_samples(X_rw)
    det.reconstruct(X_rw)
    del X_rw
    assert _digest(path) == before


def test_rows_read_at_once_are_bounded_by_the_batch_size(tmp_path, monkeypatch):
    data = make_detector_data(DenoisingAE, n_train=400)
    X_mm = _memmap(tmp_path, data.X_train * 3 - 1)
    largest = []
    read = StreamedRows.read

    def recording_read(self, index):
        rows = read(self, index)
        largest.append(len(rows))
        return rows

    monkeypatch.setattr(StreamedRows, "read", recording_read)
    det = make_test_instance(DenoisingAE, batch_size=16).fit(X_mm)
    det.score_samples(X_mm)
    # the scaling pass, the epochs, offset_ and the scoring: one batch per read;
    # the plateau check reads its fixed 256 rows once, whatever the data size
    assert largest.count(256) == 1
    assert max(size for size in largest if size != 256) == 16
    assert len(largest) > 400 // 16 * 4


def test_streamed_input_is_never_one_array(tmp_path):
    X_mm = _memmap(tmp_path, make_detector_data(DenoisingAE).X_train)
    rows = StreamedRows(X_mm)
    net_input = StreamedNetInput(rows, lambda x: x, (rows.n_features,), 8)
    assert net_input.shape == X_mm.shape
    np.testing.assert_array_equal(net_input[5:9], X_mm[5:9])
    np.testing.assert_array_equal(net_input[np.array([7, 2])], X_mm[[7, 2]])
    np.testing.assert_array_equal(net_input.take([3, 1])[1:], X_mm[[1]])
    with pytest.raises(TypeError, match="not converted to one array"):
        np.asarray(net_input)


def test_streamed_input_errors(tmp_path):
    data = make_detector_data(DenoisingAE)
    with pytest.raises(ValueError, match="minimum of 2"):
        make_test_instance(DenoisingAE).fit(_memmap(tmp_path, data.X_train[:1]))
    det = make_test_instance(DenoisingAE).fit(data.X_train)
    wide = np.ones((4, data.n_features + 1), np.float32)
    with pytest.raises(ValueError, match="has 17 features, but DenoisingAE"):
        det.score_samples(_memmap(tmp_path, wide, "wide.npy"))
    with pytest.raises(ValueError, match="2-D"):
        det.score_samples(_memmap(tmp_path, np.ones(5, np.float32), "flat.npy"))

    class Unsized(torch.utils.data.IterableDataset):
        def __iter__(self):
            yield torch.zeros(16)

    with pytest.raises(TypeError, match="needs a length"):
        det.score_samples(Unsized())

    class Ragged(_SampleDataset):
        def __getitem__(self, i):
            return torch.zeros(16 if i < 3 else 15)

    with pytest.raises(ValueError, match="sample 3 has shape"):
        det.score_samples(Ragged(np.zeros((5, 16))))

    class Strings(_SampleDataset):
        def __getitem__(self, i):
            return "not an image"

    with pytest.raises(TypeError, match="ToTensor"):
        det.score_samples(Strings(np.zeros((5, 16))))


def test_image_detector_rejects_streamed_flat_rows_without_input_shape(tmp_path):
    X = make_detector_data(PuzzleAE).X_train.reshape(50, -1)
    with pytest.raises(ValueError, match="works on images"):
        make_test_instance(PuzzleAE).fit(_memmap(tmp_path, X))
    det = make_test_instance(PuzzleAE, input_shape=(1, 16, 16))
    assert det.fit(_memmap(tmp_path, X, "flat.npy")).input_shape_ == (1, 16, 16)
