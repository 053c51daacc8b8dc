from __future__ import annotations

from pathlib import Path

import pytest

from itsm_bridge import config
from itsm_bridge.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = """
[servicenow]
url = "https://acme.service-now.com"
user = "bridge"
password_env = "SNOW_PASSWORD"

[jira]
url = "https://acme.atlassian.net"
email = "bridge@acme.example"
token_env = "JIRA_TOKEN"
project = "OPS"

[sync]
targets = ["jira"]
"""


def problems(text: str, tmp_path: Path) -> list:
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as exc:
        config.load(f)
    return exc.value.problems


def test_example_config_is_valid():
    cfg = config.load(ROOT / "config.example.toml")
    assert cfg.settings.jira.project == "OPS"
    assert cfg.matrix.priority(1, 1).value == "P1"


def test_unknown_key_names_path_line_and_suggestion(tmp_path):
    text = MINIMAL.replace('password_env = "SNOW_PASSWORD"', 'pasword_env = "SNOW_PASSWORD"')
    found = {p.key_path: p for p in problems(text, tmp_path)}
    p = found["servicenow.pasword_env"]
    assert "did you mean 'password_env'" in p.message
    assert p.line == 5 and p.file.endswith("c.toml")


def test_every_problem_is_reported_at_once(tmp_path):
    text = MINIMAL.replace('project = "OPS"', 'project = "OPS"\nprojct = "X"').replace(
        'user = "bridge"', 'user = "bridge"\ntimeout = 3'
    )
    paths = {p.key_path for p in problems(text, tmp_path)}
    assert {"jira.projct", "servicenow.timeout"} <= paths


def test_literal_secret_is_refused_and_never_echoed(tmp_path):
    text = MINIMAL.replace('user = "bridge"', 'user = "bridge"\npassword = "s3cr3t-canary"')
    found = problems(text, tmp_path)
    assert any(p.key_path == "servicenow.password" and "password_env" in p.message for p in found)
    assert all("s3cr3t-canary" not in str(p) for p in found)


def test_matrix_missing_cell_is_named(tmp_path):
    cells = "\n".join(f'"{i}x{u}" = "P3"' for i in (1, 2, 3) for u in (1, 2, 3) if (i, u) != (3, 2))
    found = problems(MINIMAL + "\n[priority.matrix]\n" + cells + "\n", tmp_path)
    assert [p.key_path for p in found] == ["priority.matrix.3x2"]
    assert "impact 3 x urgency 2" in found[0].message


def test_nested_unknown_key_in_array_of_tables(tmp_path):
    text = MINIMAL + '\n[[rules.required]]\nstep = "create"\nfeilds = ["category"]\n'
    found = {p.key_path: p for p in problems(text, tmp_path)}
    assert "did you mean 'fields'" in found["rules.required[0].feilds"].message
    assert found["rules.required[0].feilds"].line == MINIMAL.count("\n") + 4


def test_missing_platform_table_for_a_flow(tmp_path):
    found = problems(MINIMAL.replace('targets = ["jira"]', 'targets = ["jira", "statuspage"]'), tmp_path)
    assert any("no [statuspage] table" in p.message for p in found)


def test_plain_http_is_refused_except_loopback(tmp_path):
    found = problems(MINIMAL.replace("https://acme.service-now.com", "http://acme.service-now.com"), tmp_path)
    assert found[0].key_path == "servicenow.url" and "https://" in found[0].message


def test_password_in_state_url_is_refused(tmp_path):
    found = problems(MINIMAL + '\n[state]\nurl = "postgresql+psycopg://bridge:hunter2@db/itsm"\n', tmp_path)
    assert found[0].key_path == "state.url" and "hunter2" not in str(found[0])


def test_missing_env_secret_is_a_clear_error_when_first_needed(tmp_path, monkeypatch):
    f = tmp_path / "c.toml"
    f.write_text(MINIMAL)
    cfg = config.load(f)  # loading does not need the secret
    monkeypatch.delenv("SNOW_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="SNOW_PASSWORD, which is not set"):
        cfg.secret("servicenow", "password_env")
    monkeypatch.setenv("SNOW_PASSWORD", "pw-value")
    assert cfg.secret("servicenow", "password_env") == "pw-value"


def test_invalid_toml_names_line(tmp_path):
    found = problems("[servicenow\nurl = 1\n", tmp_path)
    assert "line 1" in found[0].message


def test_relative_sqlite_path_is_taken_from_the_config_folder(tmp_path):
    f = tmp_path / "sub" / "c.toml"
    f.parent.mkdir()
    f.write_text(MINIMAL)
    assert config.load(f).state_url == f"sqlite:///{tmp_path / 'sub' / 'itsm-bridge.sqlite'}"


def test_a_jira_overlap_shorter_than_its_search_lag_is_refused(tmp_path):
    text = MINIMAL.replace("[jira]\n", "[jira]\nsearch_lag_s = 30\noverlap_s = 10\n", 1)
    found = {p.key_path: p for p in problems(text, tmp_path)}
    assert "overlap_s (10) must be at least search_lag_s (30)" in found["jira"].message
