"""The README's and the method pages' Python examples run as written.

A ConvergenceWarning is an error in the test run, so an example whose budget
leaves its detector on the initial plateau fails here.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GRID_SEARCH = re.compile(r"<!-- grid-search-example.*?-->\s*```python\n(.*?)```", re.S)


def _python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_readme_usage_example_runs(capsys):
    block = _python_blocks((ROOT / "README.md").read_text())[0]
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert float(out[0]) > 0.95  # the DenoisingAE example's AUC
    assert out[1].startswith("[") and out[1].endswith("]")


def test_readme_grid_search_is_the_tested_docs_example():
    # tests/detectors/test_arae.py::test_grid_search_example_in_the_docs runs this block
    docs_block = GRID_SEARCH.search((ROOT / "docs" / "arae.md").read_text()).group(1)
    assert docs_block in _python_blocks((ROOT / "README.md").read_text())


# the self-contained opening examples of the method pages (lis_ae.md's runs in
# tests/detectors/test_lis_ae.py); the two that take 3 to 5 s are slow
@pytest.mark.parametrize(
    "page",
    [
        "getting_started.md",
        "denoising_ae.md",
        "arae.md",
        pytest.param("crbnd.md", marks=pytest.mark.slow),
        pytest.param("robust_gmm_dae.md", marks=pytest.mark.slow),
        "robustness.md",
    ],
)
def test_docs_first_examples_run_without_plateau(page):
    block = _python_blocks((ROOT / "docs" / page).read_text())[0]
    exec(compile(block, f"docs/{page}", "exec"), {})
