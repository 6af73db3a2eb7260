"""Markdown helpers shared by the kinds' reports."""

from __future__ import annotations

import math

import numpy as np

from skanomaly.benchmarking._results import _markdown_table

#: the engine's table writer: one markdown format for every page (the first
#: column left-aligned, the others right)
markdown_table = _markdown_table


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


def finite_mean(values):
    """The mean of the values that are neither None nor NaN (NaN if none)."""
    values = [
        v
        for v in values
        if v is not None and not (isinstance(v, float) and math.isnan(v))
    ]
    return float(np.mean(values)) if values else math.nan


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
