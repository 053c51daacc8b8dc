"""`itsm-bridge init`: a starter config from the package, refusal to overwrite, and the
missing-config error that points to it."""

from __future__ import annotations

import json
import tomllib

from tests.cli.conftest import ROOT, cli

SECRET_VARIABLES = ("ITSM_SANDBOX_SNOW_PASSWORD", "ITSM_SANDBOX_JIRA_TOKEN", "ITSM_SANDBOX_STATUSPAGE_KEY")


def test_init_writes_a_config_that_validate_accepts_and_says_what_to_set_next(tmp_path):
    r = cli("init", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    written = tmp_path / "itsm-bridge.toml"
    assert written.read_text(encoding="utf-8") == (ROOT / "config.example.toml").read_text(encoding="utf-8")
    assert all(name in r.stdout for name in SECRET_VARIABLES)
    assert "itsm-bridge doctor" in r.stdout and "itsm-bridge plan" in r.stdout
    v = cli("config", "validate", cwd=tmp_path)
    assert v.returncode == 0 and "OK: itsm-bridge.toml" in v.stdout, v.stderr


def test_init_to_a_path_names_it_in_the_next_steps_and_lists_secrets_as_json(tmp_path):
    target = tmp_path / "conf" / "bridge.toml"
    target.parent.mkdir()
    r = cli("--json", "init", str(target))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["file"] == str(target)
    assert [s["env"] for s in data["secrets"]] == list(SECRET_VARIABLES)
    assert cli("config", "validate", str(target)).returncode == 0
    human = cli("init", "--force", str(target))
    assert f"itsm-bridge --config {target} doctor" in human.stdout


def test_init_refuses_to_overwrite_an_existing_file_unless_forced(tmp_path):
    target = tmp_path / "mine.toml"
    target.write_text("# my own settings\n", encoding="utf-8")
    r = cli("init", str(target))
    assert r.returncode == 2
    assert str(target) in r.stderr and "--force" in r.stderr
    assert target.read_text(encoding="utf-8") == "# my own settings\n"
    forced = cli("init", "--force", str(target))
    assert forced.returncode == 0, forced.stderr
    assert target.read_text(encoding="utf-8") == (ROOT / "config.example.toml").read_text(encoding="utf-8")


def test_the_missing_config_error_says_to_run_init(tmp_path):
    missing = tmp_path / "nope.toml"
    r = cli("--config", str(missing), "status")
    assert r.returncode == 2
    assert f"itsm-bridge init {missing}" in r.stderr


def test_the_packaged_example_is_the_documented_one_and_is_shipped():
    """The package's copy is what `init` writes; the root one is what the README documents."""
    packaged = ROOT / "itsm_bridge" / "config.example.toml"
    assert packaged.read_bytes() == (ROOT / "config.example.toml").read_bytes(), (
        "itsm_bridge/config.example.toml differs from config.example.toml: copy the root file over it"
    )
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "config.example.toml" in pyproject["tool"]["setuptools"]["package-data"]["itsm_bridge"]
