"""Ordinary mistakes (bad paths, ports, flags, config files, a broken store, a full disk) end in
one `error: ...` line on stderr and an exit code of the table, never a traceback.

Every command of the CLI is walked, so a command added later is checked too. Most cases run
in-process (click's runner: one process would take half a second each); those that need a real
process (a port in use, a file size limit, a missing driver) run `itsm-bridge` as a subprocess.
"""

from __future__ import annotations

import json
import resource
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from itsm_bridge.cli import main
from tests.cli.conftest import ROOT, Bridge, cli

EXAMPLE = (ROOT / "config.example.toml").read_text(encoding="utf-8")
TABLE = {0, 1, 2, 3, 4}
NO_CONFIG = {("sandbox",), ("demo",), ("init",)}  # sandbox and demo make their own config; init writes one


def commands(
    group: click.Group = main, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


def required_args(cmd: click.Command, tmp_path: Path) -> list[str]:
    """A value for each required argument and option: a number where it takes one, else a file
    that is there but holds no plan."""
    filler = tmp_path / "arg.json"
    filler.write_text("{}")
    args: list[str] = []
    for p in cmd.params:
        if not p.required:
            continue
        value = "1" if isinstance(p.type, (click.types.IntParamType, click.types.FloatParamType)) else str(filler)
        args += [value] if isinstance(p, click.Argument) else [p.opts[0], value]
    return args


def assert_one_error_line(result: Result | subprocess.CompletedProcess[str], code: int | set[int] = TABLE) -> str:
    stderr = result.stderr
    output = stderr + (result.stdout or "")
    exit_code = result.exit_code if isinstance(result, Result) else result.returncode
    assert "Traceback" not in output, output
    if isinstance(result, Result) and result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert exit_code in ({code} if isinstance(code, int) else code), (exit_code, output)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


BAD_CONFIGS: dict[str, tuple[bytes, str]] = {
    "binary": (b"\x00\x01\xfe\xff not toml", "binary file"),
    "latin-1": ('[servicenow]\nurl = "https://caf\u00e9.example"\n'.encode("latin-1"), "not UTF-8"),
    "deep": (("a = " + "[" * 100_000 + "]" * 100_000 + "\n").encode(), "nested too deeply"),
    "regex": (
        EXAMPLE.replace("internal_host_patterns = ['", "internal_host_patterns = ['(unclosed").encode(),
        "publish.internal_host_patterns[0]: not a valid regular expression",
    ),
    "template": (
        EXAMPLE.replace('name_template = "{{ title }}"', 'name_template = "{{ title "').encode(),
        "publish.name_template",
    ),
    "ca_bundle": (
        EXAMPLE.replace('# ca_bundle = "/etc/ssl/private-ca.pem"', 'ca_bundle = "/missing/ca.pem"').encode(),
        "servicenow.ca_bundle: no such file: /missing/ca.pem",
    ),
}


@pytest.mark.parametrize("kind", BAD_CONFIGS)
def test_every_command_refuses_a_bad_config_in_one_line_with_exit_2(kind: str, tmp_path: Path) -> None:
    content, expected = BAD_CONFIGS[kind]
    bad = tmp_path / "bad.toml"
    bad.write_bytes(content)
    for path, cmd in commands():
        if path in NO_CONFIG:
            continue
        args = (
            [*path, str(bad)]
            if path == ("config", "validate")
            else ["--config", str(bad), *path, *required_args(cmd, tmp_path)]
        )
        line = assert_one_error_line(run(*args), 2)
        if path == ("apply",):
            continue  # the plan file is read first, and refused first
        assert expected in line and "bad.toml" in line, (path, line)


def test_config_validate_catches_what_would_crash_a_run(tmp_path: Path) -> None:
    """The settings the schema takes but a run could not use, each named with its line."""
    for kind in ("regex", "template", "ca_bundle"):
        bad = tmp_path / f"{kind}.toml"
        bad.write_bytes(BAD_CONFIGS[kind][0])
        result = run("config", "validate", str(bad))
        assert result.exit_code == 2 and f"{kind}.toml:" in result.stderr, result.stderr


def test_a_missing_config_file_is_one_line_for_every_command(tmp_path: Path) -> None:
    for path, cmd in commands():
        if path in NO_CONFIG:
            continue
        missing = str(tmp_path / "nowhere" / "x.toml")
        args = (
            [*path, missing]
            if path == ("config", "validate")
            else ["--config", missing, *path, *required_args(cmd, tmp_path)]
        )
        assert_one_error_line(run(*args), 2)


def test_an_unknown_flag_is_one_line_with_exit_2_for_every_command() -> None:
    for path, _ in commands():
        line = assert_one_error_line(run(*path, "--no-such-flag"), 2)
        assert "--no-such-flag" in line and "--help" in line
    assert_one_error_line(run("--no-such-flag", "status"), 2)
    assert_one_error_line(run("no-such-command"), 2)


@pytest.mark.parametrize(
    "args",
    [
        ("sync", "--limit", "-1"),
        ("audit", "--since", "yesterday"),
        ("audit", "--format", "pdf"),
        ("journal", "show", "--last", "0"),
        ("sandbox", "--faults", "nope"),
        ("sandbox", "--port", "http"),
        ("demo", "--incidents", "0"),
        ("--log-format", "xml", "status"),
        ("apply", "/missing/plan.json"),
    ],
)
def test_a_bad_flag_value_is_one_line_with_exit_2(args: tuple[str, ...]) -> None:
    assert_one_error_line(run(*args), 2)


@pytest.mark.parametrize(
    "plan",
    [
        "{}",
        "[1, 2]",
        '{"format": "itsm-bridge/plan/1", "run_id": "r", "created_at": "t", "actions": [{"bogus": 1}]}',
        "\u00ff",
    ],
)
def test_apply_refuses_a_file_that_is_not_a_plan(plan: str, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(plan.encode("latin-1") if plan == "\u00ff" else plan.encode())
    assert "PLAN" in assert_one_error_line(run("apply", str(path)), 2)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("audit", "--out", "/missing/dir/x.html"), "the folder /missing/dir does not exist"),
        (("plan", "--out", "/missing/dir/plan.json"), "the folder /missing/dir does not exist"),
        (("sandbox", "--write-config", "/missing/x.toml"), "--write-config /missing/x.toml"),
        (("sandbox", "--state", "/missing/state.json"), "--state /missing/state.json"),
        (("audit", "--out", "/"), "is a directory"),
    ],
)
def test_an_unusable_output_path_is_refused_before_any_work(
    args: tuple[str, ...], expected: str, tmp_path: Path
) -> None:
    # The config points at platforms nobody serves: the path is checked before any is read.
    config = tmp_path / "c.toml"
    config.write_text(EXAMPLE)
    line = assert_one_error_line(run("--config", str(config), *args), 2)
    assert expected in line


def test_a_report_to_a_full_disk_is_one_line(bridge: Bridge) -> None:
    r = cli("--config", str(bridge.config_path), "audit", "--format", "csv", "--out", "/dev/full", env=bridge.env)
    assert "No space left on device" in assert_one_error_line(r, 1)


def test_a_sandbox_port_in_use_is_one_line_with_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = cli("sandbox", "--port", str(port), timeout=30)
    assert f"--port {port}" in assert_one_error_line(r, 2)


@pytest.fixture
def corrupt_store(tmp_path: Path) -> Path:
    config = tmp_path / "c.toml"
    config.write_text(EXAMPLE.replace("sqlite:///itsm-bridge.sqlite", "sqlite:///state.sqlite"))
    (tmp_path / "state.sqlite").write_bytes(b"this is not a database, it was overwritten by mistake" * 100)
    return config


def test_a_corrupt_state_file_is_one_line_and_journal_verify_calls_it_broken(corrupt_store: Path) -> None:
    for args in (("status",), ("journal", "show"), ("quarantine", "list"), ("sync",)):
        line = assert_one_error_line(run("--config", str(corrupt_store), *args), 1)
        assert "state store" in line and "not a database" in line
    verify = run("--json", "--config", str(corrupt_store), "journal", "verify")
    assert verify.exit_code == 1 and "Traceback" not in verify.output
    report = json.loads(verify.stdout)
    assert report["ok"] is False and "not a database" in report["problems"][0]


def test_a_full_disk_during_a_sync_is_one_line_with_exit_1(bridge: Bridge) -> None:
    """The state file may not grow past 64 KiB (as a full disk stops it): the run stops with one
    line, and once there is room again a sync completes."""
    bridge.sandbox.seed(20)
    assert bridge.run("status").returncode == 0  # the store exists, with its tables

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    full = subprocess.run(
        [sys.executable, "-m", "itsm_bridge.cli", "--config", str(bridge.config_path), "sync"],
        capture_output=True,
        text=True,
        env=bridge.env,
        cwd=ROOT,
        timeout=120,
        preexec_fn=small_files,
    )
    line = assert_one_error_line(full, 1)
    assert "state store" in line
    code, summary = bridge.sync_json()
    assert code == 1 and summary["failed"] == 0 and summary["quarantined"] > 0  # the seeded poison records only


def test_a_postgresql_url_without_psycopg_is_one_line_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "pg.toml"
    config.write_text(EXAMPLE.replace("sqlite:///itsm-bridge.sqlite", "postgresql+psycopg://bridge@127.0.0.1/bridge"))
    without = "import sys; sys.modules['psycopg'] = None; from itsm_bridge.cli import main; main()"
    for args in (("config", "validate", str(config)), ("--config", str(config), "status")):
        r = subprocess.run([sys.executable, "-c", without, *args], capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert "pip install 'itsm-bridge[postgres]'" in assert_one_error_line(r, 2)
