"""skanomaly.benchmarking._results: BenchmarkResult tables, summaries and files."""

import csv
import json

import numpy as np
import pytest

from skanomaly.benchmarking import BenchmarkResult


def test_summary_means(small_result):
    summary = {s["detector"]: s for s in small_result.summary()}
    assert set(summary) == {"ae", "forest"}
    forest_rows = [r for r in small_result.rows if r["detector"] == "forest"]
    assert summary["forest"]["roc_auc"] == pytest.approx(
        np.mean([r["roc_auc"] for r in forest_rows])
    )
    assert summary["forest"]["n_classes"] == 2 and summary["forest"]["n_failed"] == 0


@pytest.mark.parametrize("suffix", [".csv", ".md", ".json"])
def test_written_files_carry_results_and_metadata(small_result, tmp_path, suffix):
    path = tmp_path / "sub" / f"result{suffix}"
    small_result.save(path)
    text = path.read_text()
    auc = small_result.rows[0]["roc_auc"]
    if suffix == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        assert len(rows) == 4 + 2  # per class, then one mean row per detector
        assert float(rows[0]["roc_auc"]) == pytest.approx(auc)
        assert rows[-1]["normal_class"] == "mean"
        assert {
            "seed",
            "budget",
            "device",
            "torch",
            "sklearn",
            "pyod",
            "date",
            "cpu",
        } <= set(rows[0])
    elif suffix == ".json":
        payload = json.loads(text)
        assert payload["results"][0]["roc_auc"] == pytest.approx(auc)
        assert payload["metadata"]["seed"] == 0
        assert payload["summary"][0]["detector"] == "ae"
    else:
        assert f"{auc:.4f}" in text
        assert "## Summary" in text and "## forest" in text
        assert "- seed: 0" in text and "- torch:" in text


def test_format_tables(small_result):
    text = small_result.format_tables()
    assert "== ae" in text and "== forest" in text and "== summary" in text
    assert "FPR@TPR0.995" in text
    assert "== ae" not in small_result.format_tables(per_class=False)


def test_save_rejects_unknown_suffix(small_result, tmp_path):
    with pytest.raises(ValueError, match=".csv, .md or .json"):
        small_result.save(tmp_path / "result.txt")


def test_result_object_is_plain():
    empty = BenchmarkResult(rows=[], metadata={})
    assert empty.summary() == [] and empty.detectors == []
