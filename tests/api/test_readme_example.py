"""The README's "Use from Python" example runs as written, against the bundled sandbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Use from Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the section has one Python example"
    return blocks[0]


def test_the_readme_python_example_runs_against_the_sandbox(tmp_path):
    code = readme_example()
    assert "Bridge" in code and ".sync()" in code and ".plan()" in code
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "created 3, failed 0, exit code 0" in out.stdout
    assert re.search(r"^INC\d+ jira OPS-\d+$", out.stdout, re.M)
