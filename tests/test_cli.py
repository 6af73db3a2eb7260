"""Tests of the ``skanomaly`` command through ``main(argv)``."""

import csv
import json
import subprocess
import sys

import pytest

from skanomaly.benchmarking import DETECTOR_FACTORIES
from skanomaly.cli import build_parser, main


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """One quick run on two digits classes, 1 epoch, writing all three formats."""
    out = tmp_path_factory.mktemp("cli")
    argv = [
        "benchmark",
        "--normal-class",
        "0",
        "1",
        "--detectors",
        "denoising-ae",
        "sklearn-iforest",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--seed",
        "3",
        "--output",
        str(out / "r.csv"),
        "--output",
        str(out / "r.md"),
        "--output",
        str(out / "r.json"),
    ]
    return out, argv


def test_benchmark_writes_every_format(cli_run, capsys):
    out, argv = cli_run
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert "== denoising-ae" in printed.out and "== sklearn-iforest" in printed.out
    assert "== summary" in printed.out
    assert "seed=3" in printed.out and "max_epochs=1" in printed.out
    assert "benchmark" in printed.err  # the progress bar

    rows = list(csv.DictReader((out / "r.csv").read_text().splitlines()))
    assert [(r["detector"], r["normal_class"]) for r in rows] == [
        ("denoising-ae", "0"),
        ("sklearn-iforest", "0"),
        ("denoising-ae", "1"),
        ("sklearn-iforest", "1"),
        ("denoising-ae", "mean"),
        ("sklearn-iforest", "mean"),
    ]
    assert all(r["seed"] == "3" and r["device"] == "cpu" for r in rows)
    assert all(r["max_epochs"] == "1" for r in rows)
    for row in rows:
        assert 0.0 <= float(row["roc_auc"]) <= 1.0

    payload = json.loads((out / "r.json").read_text())
    assert payload["metadata"]["command"].startswith(
        "skanomaly benchmark --normal-class 0 1"
    )
    assert payload["metadata"]["budget"] == "quick"
    assert len(payload["results"]) == 4
    first_auc = float(rows[0]["roc_auc"])
    assert payload["results"][0]["roc_auc"] == pytest.approx(first_auc)

    markdown = (out / "r.md").read_text()
    assert f"{first_auc:.4f}" in markdown and "- seed: 3" in markdown


def test_quiet_prints_only_the_summary(capsys):
    argv = ["benchmark", "--normal-class", "2", "--detectors", "sklearn-lof", "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert "== summary" in printed.out
    assert "== sklearn-lof" not in printed.out
    assert printed.err == ""


def test_grouped_normal_classes_and_anomaly_fraction(tmp_path, capsys):
    path = tmp_path / "g.json"
    argv = [
        "benchmark",
        "--normal-class",
        "1,7",
        "--detectors",
        "sklearn-lof",
        "--anomaly-fraction",
        "all",
        "--quiet",
        "--output",
        str(path),
    ]
    assert main(argv) == 0
    capsys.readouterr()
    payload = json.loads(path.read_text())
    assert payload["metadata"]["normal_classes"] == ["1+7"]
    assert payload["metadata"]["anomaly_fraction"] is None
    assert payload["results"][0]["anomaly_share"] > 0.9


def test_checkpoint_resumes_a_run(tmp_path, capsys):
    checkpoint = tmp_path / "runs" / "digits.jsonl"
    argv = [
        "benchmark",
        "--normal-class",
        "0",
        "1",
        "--detectors",
        "sklearn-lof",
        "sklearn-iforest",
        "--quiet",
        "--checkpoint",
        str(checkpoint),
    ]
    assert main([*argv, "--output", str(tmp_path / "first.json")]) == 0
    assert f"resumed 0 of 4 rows from {checkpoint}" in capsys.readouterr().out
    lines = [json.loads(line) for line in checkpoint.read_text().splitlines()]
    assert [
        (line["row"]["detector"], line["row"]["normal_class"]) for line in lines
    ] == [
        ("sklearn-lof", "0"),
        ("sklearn-iforest", "0"),
        ("sklearn-lof", "1"),
        ("sklearn-iforest", "1"),
    ]

    assert main([*argv, "--output", str(tmp_path / "again.json")]) == 0
    assert f"resumed 4 of 4 rows from {checkpoint}" in capsys.readouterr().out
    first = json.loads((tmp_path / "first.json").read_text())
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["results"] == first["results"]
    assert again["metadata"]["resumed_rows"] == 4
    assert again["metadata"]["checkpoint"] == str(checkpoint)
    assert len(checkpoint.read_text().splitlines()) == 4

    # another seed is another setting: computed again, appended to the same file
    assert main([*argv, "--seed", "1"]) == 0
    assert "resumed 0 of 4 rows" in capsys.readouterr().out
    assert len(checkpoint.read_text().splitlines()) == 8


def test_unwritable_checkpoint_is_an_error_not_a_traceback(tmp_path, capsys):
    folder = tmp_path / "taken"
    folder.mkdir()
    argv = ["benchmark", "--detectors", "sklearn-lof", "--checkpoint", str(folder)]
    assert main([*argv, "--quiet"]) == 1
    assert "skanomaly benchmark: error:" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "usage: skanomaly" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--help"], ["benchmark", "--help"]])
def test_help_explains_every_option(argv, capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(argv)
    assert excinfo.value.code == 0
    text = capsys.readouterr().out
    if argv == ["--help"]:
        assert "benchmark" in text and "detectors" in text
    else:
        benchmark = build_parser()._subparsers._group_actions[0].choices["benchmark"]
        for action in benchmark._actions:
            assert action.help, action.dest
            for option in action.option_strings:
                assert option in text


@pytest.mark.parametrize(
    "argv",
    [
        ["benchmark", "--dataset", "cifar"],
        ["benchmark", "--detectors", "no-such"],
        ["benchmark", "--epochs", "0"],
        ["benchmark", "--normal-class", "a"],
        ["benchmark", "--anomaly-fraction", "1.5"],
        ["benchmark", "--output", "result.txt"],
        ["frobnicate"],
    ],
)
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(argv)
    assert excinfo.value.code == 2
    capsys.readouterr()


def test_missing_data_is_an_error_not_a_traceback(tmp_path, monkeypatch, capsys):
    from skanomaly.datasets import _vision

    monkeypatch.delenv("SKANOMALY_DATA", raising=False)
    monkeypatch.setattr(_vision, "DEFAULT_DATA_HOME", tmp_path / "home")
    monkeypatch.setattr(_vision, "SYSTEM_DATA_DIRS", ())
    argv = ["benchmark", "--dataset", "mnist", "--data-home", str(tmp_path), "--quiet"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "MNIST train split not found" in err and "download=True" in err


def test_protocol_2_on_digits_is_refused(capsys):
    assert main(["benchmark", "--protocol", "2", "--quiet"]) == 1
    assert "protocol 1" in capsys.readouterr().err


def test_detectors_lists_the_registry(capsys):
    assert main(["detectors"]) == 0
    out = capsys.readouterr().out
    for name in DETECTOR_FACTORIES:
        assert name in out
    assert "(default)" in out


def test_python_dash_m(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "skanomaly", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0
    assert completed.stdout.startswith("skanomaly ")
