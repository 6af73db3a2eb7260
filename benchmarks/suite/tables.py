"""Markdown helpers shared by the kinds' reports."""

from __future__ import annotations

import math


def fmt(value, digits=4):
    """A number for a table: ``–`` for missing or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(headers, rows):
    """A markdown table, the first column left-aligned, the others right."""
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append(
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"
    )
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def settings_line(metadata):
    """Seed, budget, threads, device and versions of a run, in one paragraph."""
    env = metadata.get("environment", {})
    declared = metadata.get("declaration", {})
    parts = [
        f"seeds {declared.get('seeds', [0])}",
        f"budget {declared.get('budget', 'quick')}",
        f"{metadata.get('torch_threads')} torch thread(s)",
        f"device {env.get('device')} ({env.get('cpu')}, {env.get('cpu_count')} cores)",
        f"python {env.get('python')}, torch {env.get('torch')}, scikit-learn "
        f"{env.get('sklearn')}, skorch {env.get('skorch')}, PyOD {env.get('pyod')}, "
        f"skanomaly {env.get('skanomaly')} (commit {metadata.get('commit')})",
        f"finished {metadata.get('finished')}, {metadata.get('wall_s')} s of wall time "
        "in the last run",
    ]
    return "Run: " + "; ".join(parts) + "."
