"""The CLI tests run `itsm-bridge` as a separate process; those that need platforms use the
integration fixtures (a running sandbox over loopback HTTP and a config pointing at it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from tests.integration.conftest import Bridge, bridge, sandbox  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`itsm-bridge ARGS` exactly as given (no options added), as a user would type it."""
    return subprocess.run(
        [sys.executable, "-m", "itsm_bridge.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=timeout,
    )


def local(bridge: Bridge, *args: str) -> Result:
    """`itsm-bridge --config CONFIG ARGS` in this process (click's runner): for the many quick
    reads a test makes between real runs, which as processes would cost a second each."""
    return in_process(bridge.config_path, bridge.env, *args)


def in_process(config: Path, env: dict[str, str], *args: str) -> Result:
    from itsm_bridge.cli import main

    return CliRunner().invoke(main, ["--config", str(config), *args], env=env)
