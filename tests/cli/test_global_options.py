"""Global options are taken after the subcommand too, and the form before it keeps working."""

from __future__ import annotations

import json

from tests.cli.conftest import Bridge, cli


def test_config_and_json_after_the_subcommand_run_a_sync_and_show_its_status(bridge: Bridge) -> None:
    bridge.sandbox.seed(3)
    cfg = str(bridge.config_path)
    synced = cli("sync", "--config", cfg, "--json", env=bridge.env)
    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout)["created"] > 0

    after = cli("status", "--json", "--config", cfg, env=bridge.env)
    before = cli("--json", "--config", cfg, "status", env=bridge.env)
    assert after.returncode == before.returncode == 0, after.stderr + before.stderr
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert json.loads(after.stdout)["last_run"]["run_id"] == json.loads(synced.stdout)["run_id"]


def test_config_after_the_subcommand_is_the_file_read(tmp_path) -> None:
    missing = tmp_path / "x.toml"
    r = cli("sync", "--config", str(missing), cwd=tmp_path)
    assert r.returncode == 2 and "x.toml" in r.stderr and "No such option" not in r.stderr


def test_options_after_the_subcommand_win_over_those_before(tmp_path) -> None:
    good = tmp_path / "good.toml"
    r = cli("--config", str(tmp_path / "nowhere.toml"), "config", "show", "--config", str(good), "-q", cwd=tmp_path)
    assert "good.toml" in r.stderr and "nowhere.toml" not in r.stderr


def test_nested_commands_take_json_after_their_name(tmp_path) -> None:
    r = cli("journal", "verify", "--config", str(tmp_path / "absent.toml"), "--json", cwd=tmp_path)
    assert r.returncode == 2 and json.loads(r.stdout)["ok"] is False
