"""The benchmark suite: declarations, every experiment's smoke run, resuming,
and the report (pages and the README table)."""

import json

import numpy as np
import pytest

from benchmarks.suite.experiments import EXPERIMENTS_FILE, load_experiments
from benchmarks.suite.kinds import KIND_NAMES
from benchmarks.suite.report import MARKERS, write_report
from benchmarks.suite.runner import load_result, run_experiment

EXPERIMENTS = load_experiments()


@pytest.fixture
def adbench_home(tmp_path, monkeypatch):
    """Two tiny ADBench-format files, found through $SKANOMALY_DATA."""
    rng = np.random.RandomState(0)
    folder = tmp_path / "adbench"
    folder.mkdir()
    for name in ("1_alpha", "2_beta"):
        X = np.r_[rng.normal(size=(80, 5)), rng.normal(3, 1, size=(12, 5))]
        y = np.r_[np.zeros(80), np.ones(12)].astype(int)
        np.savez(folder / f"{name}.npz", X=X, y=y)
    monkeypatch.setenv("SKANOMALY_DATA", str(folder))
    return folder


def test_every_declared_experiment_has_a_known_kind():
    assert set(EXPERIMENTS) >= {"digits", "tabular", "images", "decisions"}
    assert {e.kind for e in EXPERIMENTS.values()} <= set(KIND_NAMES)


def test_the_declaration_is_checked(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[x]\nkind = "auc"\ndatasets = ["digits"]\nepochz = 3\n')
    with pytest.raises(ValueError, match="unknown keys \\['epochz'\\]"):
        load_experiments(path)
    path.write_text('[x]\nkind = "nope"\n')
    with pytest.raises(ValueError, match="kind must be one of"):
        load_experiments(path)


def _smoke_cases():
    # the memory kind measures a child process (about 13 s): slow
    return [
        pytest.param(name, marks=pytest.mark.slow) if name == "memory" else name
        for name in sorted(EXPERIMENTS)
    ]


@pytest.mark.parametrize("name", _smoke_cases())
def test_every_experiment_runs_in_smoke_mode(name, tmp_path, adbench_home):
    """The smoke version goes through the real code path: rows, no failure,
    the result file with the environment; a rerun reuses every row."""
    experiment = EXPERIMENTS[name].as_smoke()
    results = tmp_path / "results"
    rows, metadata = run_experiment(experiment, results=results, progress=False)
    assert rows
    assert not [row for row in rows if row.get("error")]
    saved_rows, saved = load_result(name, results)
    assert len(saved_rows) == len(rows)
    assert saved["smoke"] is True
    assert saved["environment"]["device"] == "cpu"
    assert {"torch", "skanomaly", "sklearn"} <= set(saved["environment"])
    checkpoint = results / f"{name}.jsonl"
    if checkpoint.exists() and checkpoint.read_text():
        lines = checkpoint.read_text().count("\n")
        run_experiment(experiment, results=results, progress=False)
        assert checkpoint.read_text().count("\n") == lines  # nothing recomputed


def test_the_report_writes_pages_and_the_readme_table(tmp_path, adbench_home):
    results, pages = tmp_path / "results", tmp_path / "pages"
    experiments = {name: EXPERIMENTS[name] for name in ("tabular", "decisions")}
    # the smoke version keeps the headline here, to exercise the README table
    for experiment in experiments.values():
        smoke = experiment.as_smoke()
        smoke.settings["headline"] = experiment.get("headline")
        run_experiment(smoke, results=results, progress=False)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{MARKERS[0]}\nold table\n{MARKERS[1]}\nrest\n")
    written = write_report(experiments, results=results, pages=pages, readme=readme)
    assert pages / "tabular.md" in written and readme in written
    text = readme.read_text()
    assert "old table" not in text and text.startswith("intro") and "rest" in text
    assert "| PyOD KNN |" in text and "ADBench mean AUC" in text
    page = (pages / "tabular.md").read_text()
    assert page.startswith("# Tabular") and "mean rank" in page
    index = (pages / "index.md").read_text()
    assert "```{toctree}" in index and "tabular" in index and "decisions" in index
    # a README without the markers is left alone
    other = tmp_path / "OTHER.md"
    other.write_text("no markers\n")
    write_report(experiments, results=results, pages=pages, readme=other)
    assert other.read_text() == "no markers\n"


def test_result_files_are_json_without_nan(tmp_path, adbench_home):
    run_experiment(EXPERIMENTS["tabular"].as_smoke(), results=tmp_path, progress=False)
    text = (tmp_path / "tabular.json").read_text()
    assert "NaN" not in text
    json.loads(text)


def test_the_declarations_file_is_the_one_in_benchmarks():
    assert EXPERIMENTS_FILE.name == "experiments.toml"
    assert EXPERIMENTS_FILE.parent.name == "benchmarks"


def test_a_partial_run_says_so_and_stays_out_of_the_summary(tmp_path):
    from dataclasses import replace

    from benchmarks.suite.report import headline_table

    smoke = EXPERIMENTS["images"].as_smoke()  # one class: class 0
    run_experiment(smoke, results=tmp_path, progress=False)
    declared = replace(
        smoke, settings={**smoke.settings, "classes": [0, 1], "headline": "AUC"}
    )
    assert "| DenoisingAE |" not in headline_table({"images": declared}, tmp_path)
    pages = tmp_path / "pages"
    write_report({"images": declared}, results=tmp_path, pages=pages, readme=None)
    assert "A partial run: 1 of 2 tasks" in (pages / "images.md").read_text()
    complete = replace(declared, settings={**declared.settings, "classes": [0]})
    assert "| DenoisingAE |" in headline_table({"images": complete}, tmp_path)
