"""Hostile titles on their way to the public status page, through the CLI against the sandbox,
on Statuspage and on Cachet. Credentials in their usual shapes, secrets disguised with invisible
characters or look-alike dots, and a key straddling the 255-character name limit are never
published; bidi and C0 controls never reach the page; and what a customer reads (the sandbox's
rendered view of the page, `sandbox.rendering`) is the title itself: no `&#39;`, no `\\{`."""

from __future__ import annotations

from pathlib import Path

import pytest

from itsm_bridge.sandbox.config_writer import write_config
from itsm_bridge.sandbox.rendering import cachet_view, statuspage_view
from tests.integration.test_crash_safety import cli, new_sandbox

STRADDLE = "Payments slow " + "a" * 232 + " AKIAIOSFODNN7EXAMPLE"  # the key starts at 247 of 255
LEAKS = {  # title -> a fragment that must appear nowhere on the page
    "Login fails: password=Hunter2Secret!": "Hunter2Secret",
    "Orders DB down (postgresql://app:S3cretPw@db.example.com/prod)": "S3cretPw",
    "Proxy answers Authorization: Basic YWRtaW46c2VjcmV0": "YWRtaW46c2VjcmV0",
    "Mail to ops\u200b@\u200bexample\u2024com bounces": "example",
    "db01\uff0ecorp unreachable": "db01",
    "Login p\u200bass\u2060word=Tr0ub4dor&3 leaked": "Tr0ub4dor",
    "-----BEGIN RSA PRIVATE KEY----- pasted in the ticket": "PRIVATE KEY",
    STRADDLE: "AKIAIOSF",
}
CLEAN = {  # title as written -> what a customer must read
    "can't pay & refunds": "can't pay & refunds",
    "{{ config }} *not* bold [here](javascript:alert(1))": "{{ config }} *not* bold [here](javascript:alert(1))",
    "1. Payments \u202edegraded\x00 now": "1. Payments degraded now",
}


def configure(tmp: Path, sb, provider: str) -> tuple[Path, dict[str, str]]:
    import os

    info = sb.info()
    cfg = write_config(info, tmp / "bridge.toml", provider)
    text = cfg.read_text().replace("requests_per_second = 1.0", "requests_per_second = 500.0")
    text = text.replace("search_lag_s = 10.0", "search_lag_s = 0.3\nrequests_per_second = 500.0")
    text += '\n[publish]\nbody_template = "{{ title }}"\n'
    cfg.write_text(text)
    return cfg, {**os.environ, **info["env"]}


def page(sb, provider: str) -> list[dict]:
    if provider == "cachet":
        return [cachet_view(i, sb.cachet.updates(i["id"])) for i in sb.cachet.incidents()]
    return [statuspage_view(i) for i in sb.statuspage.incidents()]


@pytest.mark.parametrize("provider", ["statuspage", "cachet"])
def test_public_text_is_what_the_title_says_and_never_a_secret(provider: str, tmp_path: Path) -> None:
    with new_sandbox() as sb:
        sb.cachet.rate_limit = None
        ci = sb.servicenow.add_reference("cmdb_ci", "VPN")
        for title in [*LEAKS, *CLEAN]:
            sb.servicenow.insert_incident(
                {
                    "short_description": title,
                    "category": "network",
                    "cmdb_ci": ci,
                    "impact": "1",
                    "urgency": "1",
                    "state": "2",
                }
            )
        cfg, env = configure(tmp_path, sb, provider)
        run = cli(cfg, env, "sync")
        assert run.returncode == 1, run.stderr  # the leaking ones are held back
        shown = page(sb, provider)
        assert sorted(p["name"] for p in shown) == sorted(CLEAN.values())
        for p in shown:
            assert p["bodies"] and all(body == p["name"] for body in p["bodies"]), p  # the body reads as the title
        published = repr(shown) + repr(sb.statuspage.incidents() if provider == "statuspage" else sb.cachet.incidents())
        assert [f for f in LEAKS.values() if f in published] == []
        assert not [c for c in published if c in "\u202e\x00"]
        status = cli(cfg, env, "quarantine", "list")
        assert status.stdout.count("would carry") >= len(LEAKS), status.stdout
