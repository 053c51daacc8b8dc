"""Secret canaries through the CLI, under faults: never in -vv text or JSON logs, `--json` output,
`status`, `journal show`, `config show`, audit reports (table, json, csv, html), the state file, the
error of a refused credential (which is not retried), nor in the text of an error that carries them
(a vendor answer echoing the Authorization header or a URL with the credentials in it).
TLS and redirects: tests/unit/test_http.py and test_tls.py; literal secrets in config:
tests/cli/test_cli_foundation.py."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.test_crash_safety import ROOT, new_sandbox, seed, start


def cli(cfg: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "itsm_bridge.cli", "--config", str(cfg), *args],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip


def canaries(sb) -> list[str]:
    creds = sb.info()["credentials"]
    snow, jira = creds["servicenow"], creds["jira"]
    return [snow["password"], jira["token"], creds["statuspage"]["api_key"],
            base64.b64encode(f"{snow['user']}:{snow['password']}".encode()).decode(),
            base64.b64encode(f"{jira['email']}:{jira['token']}".encode()).decode()]  # fmt: skip


def all_outputs(cfg: Path, env: dict[str, str], tmp: Path) -> dict[str, str]:
    """Every place a secret could surface: sync (text and JSON logs, --json), status, journal, config,
    the audit reports in each format (--json on stdout, the others as --out files), and the state file."""
    runs = {
        "sync -vv": cli(cfg, env, "-vv", "sync"),
        "sync --json (json logs)": cli(cfg, env, "-vv", "--log-format", "json", "--json", "sync"),
        "status --json": cli(cfg, env, "--json", "status"),
        "journal show": cli(cfg, env, "journal", "show"),
        "config show --json": cli(cfg, env, "--json", "config", "show"),
        "doctor -vv": cli(cfg, env, "-vv", "doctor"),
        "audit --json": cli(cfg, env, "--json", "audit"),
    }
    for fmt in ("table", "json", "csv", "html"):
        runs[f"audit --out .{fmt}"] = cli(cfg, env, "-vv", "audit", "--format", fmt, "--out", str(tmp / f"audit.{fmt}"))
    out = {**{f"{name}: stdout": r.stdout for name, r in runs.items()}, **{f"{name}: logs": r.stderr for name, r in runs.items()}}
    for fmt in ("table", "json", "csv", "html"):
        report = tmp / f"audit.{fmt}"
        out[f"audit.{fmt} file"] = report.read_text() if report.exists() else ""
    db = Path(str(cfg).replace(".toml", ".sqlite"))
    out["state file"] = db.read_bytes().decode("utf-8", "replace")
    return out


def test_secrets_never_appear_in_any_output_even_under_faults(tmp_path: Path) -> None:
    with new_sandbox() as sb:
        seed(sb)
        sb.set_faults("flaky", seed=5)
        cfg, env = start(tmp_path, sb)
        outputs = all_outputs(cfg, env, tmp_path)
        assert outputs["sync --json (json logs): stdout"].strip().startswith("{")
        assert outputs["audit.html file"].lstrip().lower().startswith("<!doctype html"), outputs["audit --out .html: logs"]
        assert outputs["audit.csv file"] and outputs["audit.json file"].lstrip().startswith("{")
        for where, text in outputs.items():
            for secret in canaries(sb):
                assert secret not in text, f"{where} showed a secret"


def test_a_refused_credential_is_not_retried_and_not_echoed(tmp_path: Path) -> None:
    with new_sandbox() as sb:
        seed(sb)
        cfg, env = start(tmp_path, sb)
        wrong = "wrong-canary-pw-5521"
        r = cli(cfg, {**env, "ITSM_SANDBOX_SNOW_PASSWORD": wrong}, "-vv", "sync")
        assert r.returncode == 4, r.stderr
        assert wrong not in r.stdout + r.stderr
        refused = [c for c in sb.calls("servicenow") if c.status == 401]
        assert len(refused) == 1 and len(sb.calls("servicenow")) == 1


# A vendor (or a proxy in front of it) whose error answer repeats the request: its Authorization
# header, and the credentials in a URL. The error's text then carries them into the exception, the
# run summary, the journal and the logs, unless every one of those is redacted.
ECHO_PLATFORMS = ["servicenow", pytest.param("jira", marks=pytest.mark.slow), pytest.param("statuspage", marks=pytest.mark.slow)]


def echo_credentials(sb, platform: str) -> None:
    target = sb.platforms[platform]
    dispatch = target.dispatch
    creds = sb.info()["credentials"]
    user = creds["servicenow"]["user"] if platform == "servicenow" else creds["jira"]["email"]
    secret = {"servicenow": creds["servicenow"]["password"], "jira": creds["jira"]["token"],
              "statuspage": creds["statuspage"]["api_key"]}[platform]  # fmt: skip

    def echoing(req):
        if req.method in ("POST", "PUT", "PATCH") and "search" not in req.path:
            header = req.headers.get("authorization", "")
            url = f"https://{user}:{secret}@{target.base_url.removeprefix('http://')}{req.path}"
            return target.error(400, f"Bad request to {url}", f"(sent with Authorization: {header})")
        return dispatch(req)

    target.dispatch = echoing


def echoed_outputs(platform: str, tmp_path: Path) -> tuple[dict[str, str], list[str]]:
    with new_sandbox() as sb:
        seed(sb)
        cfg, env = start(tmp_path, sb)
        if platform == "servicenow":  # our writes to ServiceNow come from Jira changes: make one
            first = cli(cfg, env, "sync")
            assert first.returncode == 0, first.stderr
            sb.jira.edit_issue(sb.jira.issues()[0]["key"], {"summary": "Changed in Jira"})
            time.sleep(sb.jira.search_lag_s + 0.1)
        echo_credentials(sb, platform)
        outputs = all_outputs(cfg, env, tmp_path)
        assert "Bad request" in outputs["sync -vv: stdout"] + outputs["sync -vv: logs"], "the echoing error never happened"
        return outputs, canaries(sb)


def leaked(outputs: dict[str, str], secrets: list[str]) -> dict[str, list[str]]:
    found = {where: [s[:4] + "..." for s in secrets if s in text] for where, text in outputs.items()}
    return {where: s for where, s in found.items() if s}


@pytest.mark.parametrize("platform", ECHO_PLATFORMS)
def test_a_vendor_error_echoing_the_credentials_shows_them_nowhere(platform: str, tmp_path: Path) -> None:
    outputs, secrets = echoed_outputs(platform, tmp_path)
    assert leaked(outputs, secrets) == {}
