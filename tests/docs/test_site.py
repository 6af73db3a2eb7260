"""The documentation site's sources: the API reference covers every public
subpackage, and the pages' relative links point at pages that exist.

The Sphinx build itself (.ci/run) checks every cross-reference; these checks run
without Sphinx.
"""

import re
from pathlib import Path

import skanomaly

DOCS = Path(__file__).resolve().parents[2] / "docs"
PACKAGE = Path(skanomaly.__file__).resolve().parent
#: written by the benchmark suite's report generator, not kept in docs/ by hand
GENERATED = {"benchmarks/index.md", "auto_examples/index.rst", "api/index.rst"}


def test_api_reference_lists_every_public_subpackage():
    listed = set(
        re.findall(
            r"^   (skanomaly[\w.]*)$", (DOCS / "api/index.rst").read_text(), re.M
        )
    )
    public = {
        f"skanomaly.{path.parent.name}"
        for path in PACKAGE.glob("*/__init__.py")
        if not path.parent.name.startswith("_") and "__all__" in path.read_text()
    }
    public.discard("skanomaly.detectors")  # re-exported at the top level
    assert public <= listed, f"missing from docs/api/index.rst: {public - listed}"
    assert "skanomaly" in listed


def test_relative_links_point_at_pages():
    broken = []
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if target in GENERATED or (DOCS / target).exists():
                continue
            broken.append(f"{page.name}: {target}")
    assert not broken, broken
