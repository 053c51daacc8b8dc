"""`itsm-bridge sandbox --vendor NAME=VALUE`: a running sandbox set to a vendor behaviour."""

from __future__ import annotations

import subprocess
import sys

import requests

from tests.sandbox.test_sandbox_cli import ROOT, sandbox_process


def test_vendor_settings_reach_the_served_platforms():
    args = (
        "--vendor",
        "cachet.version=2.3.18",
        "--vendor",
        "cachet.app_timezone=Australia/Lord_Howe",
        "--vendor",
        "servicenow.hourly_rule=5",
        "--vendor",
        "servicenow.journal_access=denied",
    )
    with sandbox_process(*args) as (_, info, _):
        assert requests.get(info["cachet"] + "/api/v1/version", timeout=5).json()["data"] == "2.3.18"
        snow = info["credentials"]["servicenow"]
        auth = (snow["user"], snow["password"])
        answer = requests.get(info["servicenow"] + "/api/now/table/incident", auth=auth, timeout=5)
        assert answer.headers["X-RateLimit-Limit"] == "5"
        assert (
            requests.get(info["servicenow"] + "/api/now/table/sys_journal_field", auth=auth, timeout=5).status_code
            == 403
        )


def test_an_unknown_or_invalid_vendor_setting_is_a_usage_error_naming_it():
    for setting, said in (
        ("cachet.colour=blue", "cachet.colour=blue"),
        ("cachet.app_timezone=Mars/Olympus", "cachet.app_timezone"),
        ("servicenow.journal_access=some", "one of read, hidden, denied"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "itsm_bridge.cli", "sandbox", "--vendor", setting],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert result.returncode == 2 and said in result.stderr, result.stderr


def test_a_config_written_for_a_cachet_in_another_zone_names_that_zone(tmp_path):
    target = tmp_path / "sandbox.toml"
    args = (
        "--vendor",
        "cachet.app_timezone=America/Los_Angeles",
        "--provider",
        "cachet",
        "--write-config",
        str(target),
    )
    with sandbox_process(*args) as (_, info, _):
        assert info["cachet_timezone"] == "America/Los_Angeles"
        assert 'timezone = "America/Los_Angeles"' in target.read_text()
