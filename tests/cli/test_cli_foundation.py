"""The foundation's acceptance, checked from outside through the installed `itsm-bridge` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "itsm_bridge.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_version():
    r = run("--version")
    assert r.returncode == 0 and "itsm-bridge, version" in r.stdout


def test_example_config_validates():
    r = run("config", "validate", str(EXAMPLE))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("OK")


def test_misspelt_key_exits_2_naming_path_and_suggestion(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace('password_env = "ITSM_SANDBOX_SNOW_PASSWORD"', 'pasword_env = "X"'))
    r = run("config", "validate", str(bad))
    assert r.returncode == 2
    assert "servicenow.pasword_env" in r.stderr and "password_env" in r.stderr.split("did you mean")[1]


def test_literal_password_exits_2_and_is_never_echoed(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        EXAMPLE.read_text().replace('user = "itsm.bridge"', 'user = "itsm.bridge"\npassword = "s3cr3t-canary"')
    )
    for args in (("config", "validate", str(bad)), ("--json", "--config", str(bad), "config", "show")):
        r = run(*args)
        assert r.returncode == 2
        assert "s3cr3t-canary" not in r.stdout + r.stderr
        assert "password_env" in r.stderr


def test_matrix_missing_a_cell_exits_2_naming_the_cell(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace('"2x3" = "P4"\n', ""))
    r = run("--json", "config", "validate", str(bad))
    assert r.returncode == 2
    problems = json.loads(r.stdout)["problems"]
    assert [p["key"] for p in problems] == ["priority.matrix.2x3"]
    assert "impact 2 x urgency 3" in r.stderr


def test_mapping_check_json_holds_matrix_and_platform_values():
    r = run("--config", str(EXAMPLE), "--json", "mapping", "check")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["priority_matrix"]["rows"] == [["P1", "P2", "P3"], ["P2", "P3", "P4"], ["P3", "P4", "P5"]]
    assert data["platforms"]["servicenow"]["categories"]["Database"] == "database"
    assert data["platforms"]["jira"]["categories"]["Database"] == "Database"
    assert data["platforms"]["statuspage"]["services"]["Payments API"] == "Payments API"
    assert data["gaps"] == []


def test_mapping_check_flags_a_gap(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(EXAMPLE.read_text().replace('servicenow = "db2"\n', ""))
    data = json.loads(run("--config", str(cfg), "--json", "mapping", "check").stdout)
    assert data["gaps"] == [
        {
            "platform": "servicenow",
            "kind": "subcategory",
            "term": "Database / DB2",
            "missing_key": "taxonomy.categories.Database.subcategories.DB2.servicenow",
        }
    ]


def test_config_show_masks_secrets_as_set_or_not(tmp_path):
    r = run("--config", str(EXAMPLE), "--json", "config", "show", env={"ITSM_SANDBOX_SNOW_PASSWORD": "pw-canary-123"})
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["servicenow"]["password_status"] == "set"
    assert data["jira"]["token_status"] in ("set", "not set")
    assert "pw-canary-123" not in r.stdout + r.stderr


def test_missing_config_file_exits_2(tmp_path):
    r = run("--config", str(tmp_path / "nope.toml"), "mapping", "check")
    assert r.returncode == 2 and "config file not found" in r.stderr


def test_usage_error_exits_2():
    assert run("no-such-command").returncode == 2


def test_help_starts_without_loading_the_heavy_libraries():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from itsm_bridge.cli import main\n"
        "assert CliRunner().invoke(main, ['--help']).exit_code == 0\n"
        "print(sorted(m for m in ('requests', 'sqlalchemy', 'pydantic', 'jira', 'jinja2') if m in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_json_logs_are_one_object_per_line_on_stderr(tmp_path):
    cfg = tmp_path / "c.toml"  # the example points at a sandbox that is not running here
    text = EXAMPLE.read_text().replace('url = "sqlite:///itsm-bridge.sqlite"', f'url = "sqlite:///{tmp_path}/s.sqlite"')
    cfg.write_text(text.replace("max_retries = 4", "max_retries = 0"))
    r = run(
        "-v",
        "--log-format",
        "json",
        "--config",
        str(cfg),
        "sync",
        env={
            "ITSM_SANDBOX_SNOW_PASSWORD": "pw-x",
            "ITSM_SANDBOX_JIRA_TOKEN": "tok-x",
            "ITSM_SANDBOX_STATUSPAGE_KEY": "key-x",
        },
    )
    assert r.returncode == 4  # unreachable
    records = [json.loads(line) for line in r.stderr.splitlines() if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(rec) for rec in records)
    assert any(rec["message"].startswith("sync ") and rec["level"] == "info" for rec in records)
    assert all(not line or line.startswith(("{", "error:")) for line in r.stderr.splitlines())
