"""The one report: result files -> the benchmarks pages of the docs and the
README's summary table."""

from __future__ import annotations

from pathlib import Path

from benchmarks.suite.experiments import BENCHMARKS, RESULTS
from benchmarks.suite.kinds import get_kind
from benchmarks.suite.runner import load_result
from benchmarks.suite.tables import fmt, markdown_table

ROOT = BENCHMARKS.parent
PAGES = ROOT / "docs" / "benchmarks"
README = ROOT / "README.md"
#: the README lines between which the summary table is written
MARKERS = ("<!-- suite-summary:start -->", "<!-- suite-summary:end -->")
#: hand-written pages of docs/benchmarks/ that the index links when present
HAND_WRITTEN = ("findings",)


def headline_table(experiments, results=RESULTS, link_prefix="docs/benchmarks/"):
    """Markdown: one row per detector, one column per experiment with a
    ``headline``; ``*`` marks a detector that finished fewer tasks than the
    others of its experiment."""
    columns = []
    for name, experiment in experiments.items():
        result = load_result(name, results)
        if not experiment.get("headline") or result is None:
            continue
        rows, metadata = result
        kind = get_kind(experiment.kind)
        expected = getattr(kind, "expected_tasks", lambda _: None)(experiment)
        finished = {
            (r.get("dataset"), r.get("normal_class"), r.get("seed")) for r in rows
        }
        if expected is not None and len(finished) < expected:
            continue  # a partial run stays on its page, out of the summary
        done = {}
        for row in rows:
            if not row.get("error"):
                done[row["detector"]] = done.get(row["detector"], 0) + 1
        values = kind.summary(rows)
        ranks = getattr(kind, "mean_ranks", None)
        ranks = ranks(rows, list(values)) if ranks else {}
        columns.append((name, experiment, values, ranks, done, metadata))
    if not columns:
        return "No headline experiment has results yet."
    labels = []
    for _, _, values, _, _, _ in columns:
        labels += [label for label in values if label not in labels]
    table = []
    partial = False
    for label in labels:
        line = [label]
        for _, _, values, ranks, done, _ in columns:
            value = values.get(label)
            cell = fmt(value)
            if value is not None and ranks.get(label) is not None:
                cell += f" ({fmt(ranks[label], 2)})"
            if value is not None and done.get(label, 0) < max(done.values()):
                cell += "*"
                partial = True
            line.append(cell)
        table.append(line)
    headers = ["detector"] + [
        f"[{experiment.get('headline')}]({link_prefix}{name}.md)"
        for name, experiment, _, _, _, _ in columns
    ]
    notes = [
        "Mean ROC AUC (mean rank among these detectors, 1 = best) at every "
        "detector's defaults; "
        + "; ".join(
            f"{experiment.get('headline')}: {max(done.values())} tasks, "
            f"seeds {experiment.get('seeds', [0])}, "
            f"{metadata['torch_threads']} torch thread(s), "
            f"{metadata['environment']['device']} ({metadata['environment']['cpu']}), "
            f"skanomaly {metadata['environment']['skanomaly']} commit {metadata['commit']}, "
            f"{metadata['finished']}"
            for name, experiment, _, _, done, metadata in columns
        )
        + "."
    ]
    if partial:
        notes.append(
            "`*`: fewer tasks finished than the other detectors (run in progress)."
        )
    return markdown_table(headers, table) + "\n\n" + " ".join(notes)


def _nested_headings(body, top=2):
    """Shift the markdown headings of a kind's report so that its highest
    level is ``top`` (the page title is the only level-1 heading)."""
    lines = body.split("\n")
    fenced, levels = False, []
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            levels.append(len(line) - len(line.lstrip("#")))
    if not levels:
        return body
    shift = top - min(levels)
    fenced, out = False, []
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            line = "#" * (len(line) - len(line.lstrip("#")) + shift) + line.lstrip("#")
        out.append(line)
    return "\n".join(out)


def _page(name, experiment, rows, metadata):
    kind = get_kind(experiment.kind)
    lines = [f"# {experiment.title}", ""]
    if experiment.description:
        lines += [experiment.description, ""]
    lines += [
        f"Declared as `[{name}]` in `benchmarks/experiments.toml`; rerun with "
        f"`python -m benchmarks.suite run {name}` (resumable), then "
        "`python -m benchmarks.suite report`. Rows: "
        f"`benchmarks/results/{name}.json`.",
        "",
        _nested_headings(kind.report(experiment, rows, metadata)),
        "",
    ]
    return "\n".join(lines)


def _index(experiments, results, written):
    lines = [
        "# Benchmarks",
        "",
        "Every figure on these pages comes from the one benchmark suite: experiments "
        "declared as data in `benchmarks/experiments.toml`, run by "
        "`python -m benchmarks.suite run NAME` (resumable, one heavy job at a time, "
        "the device and library versions recorded with the rows in "
        "`benchmarks/results/NAME.json`) and written here by "
        "`python -m benchmarks.suite report`. Nothing here is selected on test "
        "data: defaults and recipes are chosen on validation tasks built from "
        "training splits (the `images-validation-knn` and "
        "`small-images-validation` experiments) and on the ADBench "
        "development panel. These pages are generated: edit the declarations or "
        "the kinds in `benchmarks/suite/`, not the pages.",
        "",
        "## Summary",
        "",
        headline_table(experiments, results, link_prefix=""),
        "",
        "## Experiments",
        "",
    ]
    table = []
    for name, experiment in experiments.items():
        result = load_result(name, results)
        state = "not run yet"
        title = experiment.title
        if result is not None:
            rows, metadata = result
            state = f"{len(rows)} rows, {metadata['finished']}"
            title = f"[{experiment.title}]({name}.md)"
        table.append([f"`{name}`", experiment.kind, title, state])
    lines += [markdown_table(["experiment", "kind", "page", "results"], table), ""]
    lines += [
        "Results of the one-off scripts that preceded the suite, which it has not "
        "regenerated, are in `benchmarks/archive/` with the commit of the scripts "
        "that made them (its README lists them). The research findings drawn from "
        "them and from the suite are on the [Research findings](findings.md) page.",
        "",
        "```{toctree}",
        ":hidden:",
        "",
        *written,
        *[page for page in HAND_WRITTEN if (PAGES / f"{page}.md").exists()],
        "```",
        "",
    ]
    return "\n".join(lines)


def write_readme_table(experiments, results=RESULTS, readme=README):
    """Rewrite the README's lines between :data:`MARKERS`; returns whether
    it was rewritten (the markers are there, and a headline experiment has
    results)."""
    text = readme.read_text()
    start, end = MARKERS
    if start not in text or end not in text:
        return False
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    if not any(
        experiment.get("headline") and load_result(name, results) is not None
        for name, experiment in experiments.items()
    ):
        return False  # nothing to put there yet: keep what is there
    table = headline_table(experiments, results)
    readme.write_text(f"{before}{start}\n{table}\n{end}{after}")
    return True


def write_report(experiments, results=RESULTS, pages=PAGES, readme=README):
    """Write a page per experiment with results, the index and the README
    table; returns the paths written."""
    pages = Path(pages)
    pages.mkdir(parents=True, exist_ok=True)
    written, paths = [], []
    for name, experiment in experiments.items():
        result = load_result(name, results)
        path = pages / f"{name}.md"
        if result is None:
            path.unlink(missing_ok=True)  # a page without its results is stale
            continue
        path.write_text(_page(name, experiment, *result))
        written.append(name)
        paths.append(path)
    index = pages / "index.md"
    index.write_text(_index(experiments, results, written))
    paths.append(index)
    if readme is not None and write_readme_table(experiments, results, readme):
        paths.append(readme)
    return paths
