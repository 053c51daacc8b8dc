"""The CLI tests run `itsm-bridge` as a separate process; those that need platforms use the
integration fixtures (a running sandbox over loopback HTTP and a config pointing at it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import Bridge, bridge, sandbox  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`itsm-bridge ARGS` exactly as given (no options added), as a user would type it."""
    return subprocess.run([sys.executable, "-m", "itsm_bridge.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=timeout)  # fmt: skip
