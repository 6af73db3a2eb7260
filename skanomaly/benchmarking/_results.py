"""The result of a benchmark run: rows, summary, console tables and files.

:class:`BenchmarkResult` holds one row per (detector, normal class) and the
run's metadata; it computes the per-detector means and writes them as text
tables, markdown, CSV or JSON. :data:`METRIC_COLUMNS` and :data:`TIME_COLUMNS`
name the measured columns of a row, and :data:`TPR_LEVEL` the true positive
rate at which the false positive rate is reported.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: the TPR at which the false positive rate is reported (ARAE, Puzzle-AE)
TPR_LEVEL = 0.995

#: the metric columns of a result table, each computed per one-class task
METRIC_COLUMNS = ("roc_auc", "average_precision", "fpr_at_tpr", "best_f1")
#: the timing columns of a result table: seconds to fit, seconds to score
TIME_COLUMNS = ("fit_s", "score_s")
_HEADERS = {
    "normal_class": "normal class",
    "roc_auc": "AUC",
    "average_precision": "AP",
    "fpr_at_tpr": f"FPR@TPR{TPR_LEVEL:g}",
    "best_f1": "best F1",
    "fit_s": "fit s",
    "score_s": "score s",
    "n_train": "n train",
    "n_test": "n test",
}


def _fmt(value, column):
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.2f}" if column in TIME_COLUMNS else f"{value:.4f}"
    return str(value)


def _text_table(headers, rows):
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for k, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _markdown_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append(
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"
    )
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class BenchmarkResult:
    """Per-task rows of a benchmark run, with the run's metadata.

    Attributes
    ----------
    rows : list of dict
        One dict per detector and normal class: ``detector``, ``normal_class``,
        ``roc_auc``, ``average_precision``, ``fpr_at_tpr`` (at TPR 0.995),
        ``best_f1``, ``fit_s``, ``score_s`` (seconds), ``n_train``, ``n_test``,
        ``anomaly_share`` and ``error`` (empty unless the detector failed).
    metadata : dict
        Seed, budget, data set, protocol, :func:`environment_info`, and
        ``wall_s``: the run's seconds (loading, splits, fits, scoring, metrics).

    Examples
    --------
    >>> from sklearn.neighbors import LocalOutlierFactor
    >>> from skanomaly.benchmarking import run_benchmark
    >>> result = run_benchmark({"lof": LocalOutlierFactor(novelty=True)},
    ...                        normal_classes=[0, 1], progress=False)
    >>> [row["normal_class"] for row in result.rows]
    ['0', '1']
    >>> summary = result.summary()[0]
    >>> summary["detector"], summary["n_classes"]
    ('lof', 2)
    >>> print(result.to_csv().splitlines()[0][:40])
    detector,normal_class,roc_auc,average_pr
    """

    rows: list = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    @property
    def detectors(self):
        """Detector names in run order."""
        return list(dict.fromkeys(row["detector"] for row in self.rows))

    def summary(self):
        """One row per detector: means over its normal classes.

        Metrics and seconds are means over the classes that ran without error;
        ``n_classes`` counts them and ``n_failed`` the others; ``n_plateau``
        counts the classes whose fit warned that training ended on the plateau
        where every input is reconstructed alike.

        Returns
        -------
        summary : list of dict
        """
        out = []
        for name in self.detectors:
            rows = [r for r in self.rows if r["detector"] == name]
            ok = [r for r in rows if not r["error"]]
            entry = {"detector": name, "normal_class": "mean"}
            for column in METRIC_COLUMNS + TIME_COLUMNS:
                entry[column] = (
                    float(np.mean([r[column] for r in ok])) if ok else math.nan
                )
            entry["n_classes"] = len(ok)
            entry["n_failed"] = len(rows) - len(ok)
            entry["n_plateau"] = sum(bool(r.get("plateau")) for r in ok)
            out.append(entry)
        return out

    # -------------------------------------------------------------- text
    def _detector_rows(self, name):
        columns = ("normal_class", *METRIC_COLUMNS, *TIME_COLUMNS)
        rows = [r for r in self.rows if r["detector"] == name]
        body = [
            [_fmt(r[c], c) for c in columns]
            + [r["error"][:60] or ("plateau" if r.get("plateau") else "")]
            for r in rows
        ]
        mean = next(s for s in self.summary() if s["detector"] == name)
        body.append([_fmt(mean[c], c) for c in columns] + [""])
        headers = [_HEADERS[c] for c in columns] + ["note"]
        if not any(r["error"] or r.get("plateau") for r in rows):
            headers, body = headers[:-1], [row[:-1] for row in body]
        return headers, body

    def _summary_rows(self):
        columns = (*METRIC_COLUMNS, *TIME_COLUMNS)
        headers = ["detector"] + [f"mean {_HEADERS[c]}" for c in columns] + ["classes"]
        body = [
            [s["detector"]]
            + [_fmt(s[c], c) for c in columns]
            + [
                f"{s['n_classes']}"
                + (f" ({s['n_failed']} failed)" if s["n_failed"] else "")
                + (f" ({s['n_plateau']} on plateau)" if s["n_plateau"] else "")
            ]
            for s in self.summary()
        ]
        return headers, body

    def _settings_line(self):
        m = self.metadata
        return (
            f"dataset={m.get('dataset')} protocol={m.get('protocol')} "
            f"budget={m.get('budget')} max_epochs={m.get('max_epochs')} "
            f"seed={m.get('seed')} device={m.get('device')}"
            + (
                f" anomaly_fraction={m.get('anomaly_fraction') or 'all'}"
                if m.get("protocol") == 1
                else ""
            )
        )

    def format_tables(self, *, per_class=True):
        """The console report: a table per detector, then the summary.

        Parameters
        ----------
        per_class : bool, default=True
            Include the per-class tables; otherwise only the summary.

        Returns
        -------
        text : str
        """
        parts = [self._settings_line(), ""]
        if per_class:
            for name in self.detectors:
                parts += [f"== {name}", _text_table(*self._detector_rows(name)), ""]
        parts += [
            "== summary (means over normal classes)",
            _text_table(*self._summary_rows()),
        ]
        seconds = "; fit s and score s are seconds per normal class"
        parts.append(f"FPR@TPR{TPR_LEVEL:g}: lower is better{seconds}.")
        return "\n".join(parts)

    def to_markdown(self, path=None):
        """The report as markdown: settings, summary, a table per detector.

        Parameters
        ----------
        path : str or path-like, default=None
            Also write it there.

        Returns
        -------
        text : str
        """
        m = self.metadata
        lines = [
            f"# skanomaly benchmark: {m.get('dataset')}, protocol {m.get('protocol')}",
            "",
            "Written by `skanomaly.benchmarking` "
            f"(command: `{m.get('command', 'run_benchmark(...)')}`).",
            "",
        ]
        lines += [f"- {key}: {value}" for key, value in m.items() if key != "command"]
        lines += [
            "",
            "Anomalies are the positive class; AUC, AP and best F1: higher is "
            f"better; FPR@TPR{TPR_LEVEL:g}: lower is better. Best F1 picks its "
            "threshold on the test data (an oracle figure). Seconds are per "
            "normal class.",
            "",
            "## Summary (means over normal classes)",
            "",
            _markdown_table(*self._summary_rows()),
        ]
        for name in self.detectors:
            lines += ["", f"## {name}", "", _markdown_table(*self._detector_rows(name))]
        text = "\n".join(lines) + "\n"
        if path is not None:
            Path(path).write_text(text)
        return text

    def _flat_rows(self):
        meta = {
            key: self.metadata.get(key)
            for key in (
                "dataset",
                "protocol",
                "budget",
                "max_epochs",
                "seed",
                "device",
                "date",
                "python",
                "torch",
                "sklearn",
                "pyod",
                "skanomaly",
                "cpu",
            )
        }
        summary = [
            {
                **s,
                "n_train": "",
                "n_test": "",
                "anomaly_share": "",
                "plateau": "",
                "error": "",
            }
            for s in self.summary()
        ]
        rows = [
            {
                **row,
                "n_classes": 1,
                "n_failed": int(bool(row["error"])),
                "n_plateau": int(bool(row["plateau"]) and not row["error"]),
            }
            for row in self.rows
        ]
        return [{**row, **meta} for row in rows + summary]

    def to_csv(self, path=None):
        """Per-class rows and per-detector means (``normal_class="mean"``) as CSV.

        Every row carries the seed, budget, epochs, device, versions, date and
        CPU, so files from different runs can be concatenated.

        Parameters
        ----------
        path : str or path-like, default=None
            Also write it there.

        Returns
        -------
        text : str
        """
        rows = self._flat_rows()
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_json(self, path=None):
        """``{"metadata", "summary", "results"}`` as JSON (NaN written as null).

        Parameters
        ----------
        path : str or path-like, default=None
            Also write it there.

        Returns
        -------
        text : str
        """

        def clean(value):
            if isinstance(value, float) and math.isnan(value):
                return None
            return value

        payload = {
            "metadata": self.metadata,
            "summary": [{k: clean(v) for k, v in s.items()} for s in self.summary()],
            "results": [{k: clean(v) for k, v in r.items()} for r in self.rows],
        }
        text = json.dumps(payload, indent=2, default=str) + "\n"
        if path is not None:
            Path(path).write_text(text)
        return text

    def save(self, path):
        """Write the result in the format the suffix names (.csv, .md, .json).

        Parameters
        ----------
        path : str or path-like
            The file; its folder is created when missing.
        """
        path = Path(path)
        writers = {".csv": self.to_csv, ".md": self.to_markdown, ".json": self.to_json}
        if path.suffix not in writers:
            raise ValueError(
                f"cannot tell the format of {path}: use a .csv, .md or .json suffix."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        writers[path.suffix](path)
