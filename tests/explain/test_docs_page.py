"""docs/explanations.md: the opening example runs as written and prints what
the page says (a ConvergenceWarning would fail it, as in tests/docs)."""

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "explanations.md"


def test_opening_example_runs(capsys):
    block = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)[0]
    exec(compile(block, "docs/explanations.md", "exec"), {})
    assert capsys.readouterr().out.splitlines() == ["[4 4 4 4]", "True", "[4 4 4 4]"]


def test_page_is_in_the_user_guide():
    assert "\nexplanations\n" in (PAGE.parent / "user_guide.md").read_text()
