"""The public API: what `itsm_bridge.__all__` promises exists, imports stay cheap, and a user's
code over the facade type-checks under `mypy --strict`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import itsm_bridge

ROOT = Path(__file__).resolve().parents[2]


def test_every_name_in_all_exists_and_has_a_docstring_or_is_a_value():
    missing = [name for name in itsm_bridge.__all__ if not hasattr(itsm_bridge, name)]
    assert not missing, f"itsm_bridge.__all__ names what it does not have: {missing}"
    assert set(itsm_bridge.__all__) <= set(dir(itsm_bridge))
    assert set(itsm_bridge.__all__) == {"__version__", *itsm_bridge._EXPORTS}  # the lazy table and the list agree
    for name in ("Bridge", "SyncResult", "RunResult", "DoctorResult", "BridgeError", "load_config"):
        assert (getattr(itsm_bridge, name).__doc__ or "").strip(), name


def test_the_error_tree_bases_are_public():
    from itsm_bridge import errors

    assert itsm_bridge.BridgeError is errors.BridgeError
    for name in ("ConfigError", "MappingError", "ConnectorError", "SyncError", "StoreError", "Locked"):
        assert issubclass(getattr(itsm_bridge, name), itsm_bridge.BridgeError), name


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Brige'"):
        itsm_bridge.Brige  # noqa: B018


def test_importing_the_package_and_the_facade_loads_neither_the_engine_nor_http():
    code = (
        "import sys, itsm_bridge; from itsm_bridge import Bridge, SyncResult; "
        "print(' '.join(m for m in ('sqlalchemy', 'requests', 'jira', 'itsm_bridge.sync', 'itsm_bridge.runner') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"imported at `import itsm_bridge`: {out.stdout}"


USER_CODE = """
from __future__ import annotations

from datetime import UTC, datetime

from itsm_bridge import AuditReport, Bridge, BridgeError, DoctorResult, Link, Plan, RunResult, Status, SyncResult


def nightly(path: str) -> int:
    bridge = Bridge(path)
    plan: Plan = bridge.plan(limit=10)
    if plan.blocked:
        return 1
    try:
        result: SyncResult = bridge.sync(progress=lambda n: None)
    except BridgeError as exc:
        return exc.exit_code
    retried: RunResult = bridge.retry()
    doctor: DoctorResult = bridge.doctor()
    status: Status = bridge.status()
    links: list[Link] = bridge.links()
    report: AuditReport = bridge.audit(since=datetime(2026, 1, 1, tzinfo=UTC))
    created: int = result.summary.created
    print(created, retried.ok, doctor.exit_code, status.links, len(links), report.reaches("block"))
    return result.exit_code
"""


def test_user_code_over_the_facade_type_checks_under_mypy_strict(tmp_path):
    user = tmp_path / "nightly.py"
    user.write_text(textwrap.dedent(USER_CODE), encoding="utf-8")
    broken = tmp_path / "broken.py"
    broken.write_text(
        "from itsm_bridge import Bridge\n\nn: str = Bridge('x.toml').sync().summary.created\n", encoding="utf-8"
    )
    out = subprocess.run(
        # the project's config: --strict and more, and the same options as `mypy`, so the package's cache is shared
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--no-error-summary",
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            str(user),
            str(broken),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env={**os.environ, "MYPYPATH": str(ROOT)},
    )
    errors = [line for line in out.stdout.splitlines() if ": error:" in line]
    assert all("broken.py" in line for line in errors), out.stdout
    assert len(errors) == 1 and 'Incompatible types in assignment (expression has type "int"' in errors[0], out.stdout
