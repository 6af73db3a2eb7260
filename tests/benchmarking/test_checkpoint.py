"""skanomaly.benchmarking._checkpoint: resumable runs through a JSON lines file."""

import json
from pathlib import Path

import pytest
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor

from skanomaly.benchmarking import TIME_COLUMNS, run_benchmark


class _RecordingForest(IsolationForest):
    """IsolationForest that records its fits, and fails or stops on request.

    The benchmark fits clones, so the records and switches live on the class
    (reset by the ``recording`` fixture); its ``repr`` is that of a plain
    estimator, so switching them does not change the checkpoint fingerprint.
    """

    #: the number of lines of ``checkpoint`` at each fit
    fits = []
    checkpoint = Path("run.jsonl")
    #: raise RuntimeError in fit (a failed row)
    fail = False
    #: raise KeyboardInterrupt at the fit with this index (a killed run)
    interrupt_at = None

    def fit(self, X, y=None, sample_weight=None):
        cls = type(self)
        if cls.interrupt_at == len(cls.fits):
            raise KeyboardInterrupt
        path = cls.checkpoint
        lines = len(path.read_text().splitlines()) if path.exists() else 0
        cls.fits.append(lines)
        if cls.fail:
            raise RuntimeError("failed on request")
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.fixture
def recording(monkeypatch, tmp_path):
    """A fresh _RecordingForest record, watching tmp_path / "run.jsonl"."""
    path = tmp_path / "run.jsonl"
    monkeypatch.setattr(_RecordingForest, "fits", [])
    monkeypatch.setattr(_RecordingForest, "checkpoint", path)
    monkeypatch.setattr(_RecordingForest, "fail", False)
    monkeypatch.setattr(_RecordingForest, "interrupt_at", None)
    return path


def _checkpointed(path=None, *, n_estimators=10, classes=(0, 1), **kwargs):
    detectors = {
        "forest": _RecordingForest(n_estimators=n_estimators, random_state=0),
        "lof": LocalOutlierFactor(novelty=True),
    }
    return run_benchmark(
        detectors,
        normal_classes=list(classes),
        progress=False,
        checkpoint=path,
        **kwargs,
    )


def _without_times(rows):
    return [{k: v for k, v in row.items() if k not in TIME_COLUMNS} for row in rows]


def _checkpoint_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_checkpoint_rows_are_written_as_they_finish(recording):
    result = _checkpointed(recording)
    # forest 0, lof 0, forest 1, lof 1: each fit saw every earlier row on disk
    assert _RecordingForest.fits == [0, 2]
    lines = _checkpoint_lines(recording)
    assert [line["row"] for line in lines] == result.rows
    fingerprints = [line["settings"] for line in lines]
    assert len(set(fingerprints)) == 4
    assert all(len(f) == 64 and int(f, 16) >= 0 for f in fingerprints)
    assert result.metadata["checkpoint"] == str(recording)
    assert result.metadata["resumed_rows"] == 0
    assert "resumed_rows" not in _checkpointed().metadata  # no checkpoint


def test_rerun_reuses_checkpointed_rows_without_fitting(recording):
    first = _checkpointed(recording)
    assert len(_RecordingForest.fits) == 2
    again = _checkpointed(recording)
    assert len(_RecordingForest.fits) == 2  # no refit
    assert again.rows == first.rows  # seconds included: loaded, not measured
    assert again.metadata["resumed_rows"] == 4
    assert len(_checkpoint_lines(recording)) == 4  # nothing appended


def test_resumed_run_equals_an_uninterrupted_one(recording):
    uninterrupted = _checkpointed(classes=(0, 1, 2))
    _RecordingForest.fits.clear()
    # forest 0, lof 0, forest 1 (killed before it fits), ...
    _RecordingForest.interrupt_at = 1
    with pytest.raises(KeyboardInterrupt):
        _checkpointed(recording, classes=(0, 1, 2))
    assert [line["row"]["normal_class"] for line in _checkpoint_lines(recording)] == [
        "0",
        "0",
    ]
    _RecordingForest.interrupt_at = None
    resumed = _checkpointed(recording, classes=(0, 1, 2))
    assert resumed.metadata["resumed_rows"] == 2
    assert len(_RecordingForest.fits) == 1 + 2  # classes 1 and 2 only
    assert _without_times(resumed.rows) == _without_times(uninterrupted.rows)
    assert resumed.metadata["normal_classes"] == ["0", "1", "2"]
    assert resumed.summary()[0]["roc_auc"] == pytest.approx(
        uninterrupted.summary()[0]["roc_auc"]
    )


def test_changed_settings_are_computed_again(recording):
    first = _checkpointed(recording)
    assert len(_RecordingForest.fits) == 2
    other_seed = _checkpointed(recording, random_state=1)
    assert other_seed.metadata["resumed_rows"] == 0
    assert len(_RecordingForest.fits) == 4
    assert [r["n_test"] for r in other_seed.rows] == [r["n_test"] for r in first.rows]
    # other forest parameters: the forest runs again, LOF's rows are reused
    other_params = _checkpointed(recording, n_estimators=5)
    assert other_params.metadata["resumed_rows"] == 2
    assert len(_RecordingForest.fits) == 6
    lof = [r for r in other_params.rows if r["detector"] == "lof"]
    assert lof == [r for r in first.rows if r["detector"] == "lof"]
    # every earlier setting is still in the file and reused
    assert _checkpointed(recording, random_state=1).metadata["resumed_rows"] == 4
    assert len(_RecordingForest.fits) == 6


def test_truncated_last_line_is_ignored(recording):
    first = _checkpointed(recording)
    text = recording.read_text()
    recording.write_text(text[: len(text) - len(text.splitlines()[-1]) // 2 - 1])
    resumed = _checkpointed(recording)  # the cut-short line: lof on class 1
    assert resumed.metadata["resumed_rows"] == 3
    assert len(_RecordingForest.fits) == 2  # the forest did not run again
    assert _without_times(resumed.rows) == _without_times(first.rows)
    # the row written after the broken line is readable on its own
    assert _checkpointed(recording).metadata["resumed_rows"] == 4
    recording.write_text(recording.read_text() + '{"settings": "ab')
    assert _checkpointed(recording).metadata["resumed_rows"] == 4


def test_failed_rows_are_computed_again(recording):
    _RecordingForest.fail = True
    failed = _checkpointed(recording, on_error="record")
    assert [r["error"] for r in failed.rows] == [
        "RuntimeError: failed on request",
        "",
        "RuntimeError: failed on request",
        "",
    ]
    assert len(_checkpoint_lines(recording)) == 4  # failures are recorded too
    _RecordingForest.fail = False
    fixed = _checkpointed(recording, on_error="record")
    assert fixed.metadata["resumed_rows"] == 2  # LOF's rows
    assert len(_RecordingForest.fits) == 4
    assert all(r["error"] == "" for r in fixed.rows)
    assert _checkpointed(recording).metadata["resumed_rows"] == 4
