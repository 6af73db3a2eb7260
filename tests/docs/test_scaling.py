"""docs/scaling.md: the dask script, the torch_threads example and the memmap
example run as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)


@pytest.mark.slow  # starts a local dask cluster of processes (about 17 s)
def test_dask_script_runs(tmp_path):
    # a script of its own: the cluster's worker processes import its __main__
    pytest.importorskip("distributed")
    script = tmp_path / "scaling_example.py"
    script.write_text(_python_blocks()[0])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "estimator__noise_scale" in result.stdout


def test_torch_threads_example_runs():
    block = next(b for b in _python_blocks() if "torch_threads(1)" in b)
    exec(compile(block, "docs/scaling.md", "exec"), {})


def test_memmap_example_runs(capsys):
    block = next(b for b in _python_blocks() if "mmap_mode" in b)
    exec(compile(block, "docs/scaling.md", "exec"), {})
    assert capsys.readouterr().out.strip() == "(2000,) 16"
