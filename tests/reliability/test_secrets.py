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
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.test_crash_safety import ROOT, cli, new_sandbox, seed, start


def canaries(sb) -> list[str]:
    creds = sb.info()["credentials"]
    snow, jira = creds["servicenow"], creds["jira"]
    return [
        snow["password"],
        jira["token"],
        creds["statuspage"]["api_key"],
        base64.b64encode(f"{snow['user']}:{snow['password']}".encode()).decode(),
        base64.b64encode(f"{jira['email']}:{jira['token']}".encode()).decode(),
    ]


# The CLI with the product's retry waits (2 s, doubling) a twentieth as long, as the fault schedules
# have them in their process (tests/reliability/schedule.py compressed_backoff): the same retries
# and the same log lines about them, without a minute of sleeping. Retry-After stays in full.
FAST_RETRIES = (
    "import itsm_bridge.http as h; d = h.Backoff.delay; h.Backoff.delay = lambda s, n: d(s, n) * 0.05; "
    "from itsm_bridge.cli import main; main()"
)


def cli_fast_retries(cfg: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`cli`, its retries' waits shortened (FAST_RETRIES)."""
    return subprocess.run(
        [sys.executable, "-c", FAST_RETRIES, "--config", str(cfg), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


Cli = Callable[..., "subprocess.CompletedProcess[str]"]


def all_outputs(cfg: Path, env: dict[str, str], tmp: Path, cli: Cli = cli) -> dict[str, str]:
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
    out = {
        **{f"{name}: stdout": r.stdout for name, r in runs.items()},
        **{f"{name}: logs": r.stderr for name, r in runs.items()},
    }
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
        outputs = all_outputs(cfg, env, tmp_path, cli_fast_retries)
        assert any("retry 1 of" in text for text in outputs.values()), "no fault was retried"
        assert outputs["sync --json (json logs): stdout"].strip().startswith("{")
        assert outputs["audit.html file"].lstrip().lower().startswith("<!doctype html"), outputs[
            "audit --out .html: logs"
        ]
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
ECHO_PLATFORMS = [
    "servicenow",
    pytest.param("jira", marks=pytest.mark.slow),
    pytest.param("statuspage", marks=pytest.mark.slow),
]


def echo_credentials(sb, platform: str) -> None:
    target = sb.platforms[platform]
    dispatch = target.dispatch
    creds = sb.info()["credentials"]
    user = creds["servicenow"]["user"] if platform == "servicenow" else creds["jira"]["email"]
    secret = {
        "servicenow": creds["servicenow"]["password"],
        "jira": creds["jira"]["token"],
        "statuspage": creds["statuspage"]["api_key"],
    }[platform]

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
        assert "Bad request" in outputs["sync -vv: stdout"] + outputs["sync -vv: logs"], (
            "the echoing error never happened"
        )
        return outputs, canaries(sb)


def leaked(outputs: dict[str, str], secrets: list[str]) -> dict[str, list[str]]:
    found = {where: [s[:4] + "..." for s in secrets if s in text] for where, text in outputs.items()}
    return {where: s for where, s in found.items() if s}


@pytest.mark.parametrize("platform", ECHO_PLATFORMS)
def test_a_vendor_error_echoing_the_credentials_shows_them_nowhere(platform: str, tmp_path: Path) -> None:
    outputs, secrets = echoed_outputs(platform, tmp_path)
    assert leaked(outputs, secrets) == {}


# --- hostile input: credentials in URLs, plain HTTP to another host, OAuth tokens obtained at run time

EXAMPLE = ROOT / "config.example.toml"


def config_with(tmp: Path, old: str, new: str) -> Path:
    text = EXAMPLE.read_text()
    assert old in text
    cfg = tmp / "hostile.toml"
    cfg.write_text(text.replace(old, new, 1))
    return cfg


SNOW_URL = 'url = "http://127.0.0.1:8800"'


@pytest.mark.parametrize(
    "url", ["https://itsm.bridge:url-canary-71@acme.service-now.com", "https://url-canary-71@acme.service-now.com"]
)
def test_a_platform_url_carrying_credentials_is_refused_and_never_printed(url: str, tmp_path: Path) -> None:
    cfg = config_with(tmp_path, SNOW_URL, f'url = "{url}"')
    for args in (("config", "validate", str(cfg)), ("--json", "config", "show"), ("doctor",)):
        r = cli(cfg, dict(os.environ), *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "servicenow.url" in r.stderr and "credentials" in r.stderr
        assert "url-canary-71" not in r.stdout + r.stderr


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://bridge@db.example/itsm?password=db-canary-72",
        "postgresql+psycopg://bridge@db.example/itsm?sslmode=require&PASSWORD=db-canary-72",
        "postgresql+psycopg://bridge:db-canary-72@db.example/itsm",
    ],
)
def test_a_store_url_carrying_a_password_anywhere_is_refused(url: str, tmp_path: Path) -> None:
    cfg = config_with(tmp_path, 'url = "sqlite:///itsm-bridge.sqlite"', f'url = "{url}"')
    r = cli(cfg, dict(os.environ), "config", "validate", str(cfg))
    assert r.returncode == 2, r.stdout
    assert "state.url" in r.stderr and "password_env" in r.stderr
    assert "db-canary-72" not in r.stdout + r.stderr


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1@192.0.2.10",
        "http://127.0.0.1.attacker.example",
        "http://localhost.attacker.example:8800",
        "http://127.0.0.1:80@192.0.2.10/",
        "http://[::ffff:192.0.2.10]:8800",
        "http://192.0.2.10",
    ],
)
def test_plain_http_to_anything_but_loopback_is_refused(url: str, tmp_path: Path) -> None:
    cfg = config_with(tmp_path, SNOW_URL, f'url = "{url}"')
    r = cli(cfg, dict(os.environ), "config", "validate", str(cfg))
    assert r.returncode == 2, (url, r.stdout)
    assert "servicenow.url" in r.stderr


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8800",
        "http://127.0.0.1:8800",
        "http://127.8.9.10:8800",
        "http://[::1]:8800",
        "https://acme.service-now.com",
    ],
)
def test_plain_http_to_loopback_and_https_anywhere_are_accepted(url: str, tmp_path: Path) -> None:
    cfg = config_with(tmp_path, SNOW_URL, f'url = "{url}"')
    r = cli(cfg, dict(os.environ), "config", "validate", str(cfg))
    assert r.returncode == 0, (url, r.stderr)


ODD_SECRET = "client s3cret/+=&canary"  # changes under URL encoding


def oauth_world(tmp: Path, sb) -> tuple[Path, dict[str, str]]:
    """The sandbox's ServiceNow behind OAuth client credentials, with a client secret and tokens
    whose URL-encoded and base64 forms differ from their raw form."""
    cfg, env = start(tmp, sb)
    text = cfg.read_text().replace(
        'user = "itsm.bridge"\npassword_env = "ITSM_SANDBOX_SNOW_PASSWORD"\n',
        'client_id_env = "ITSM_SANDBOX_SNOW_CLIENT_ID"\nclient_secret_env = "ITSM_SANDBOX_SNOW_CLIENT_SECRET"\n',
    )
    assert "client_id_env" in text
    cfg.write_text(text)
    snow = sb.servicenow
    creds = {**snow.credentials(), "client_secret": ODD_SECRET}
    snow.credentials = lambda: creds  # type: ignore[method-assign]
    return cfg, {**env, "ITSM_SANDBOX_SNOW_CLIENT_SECRET": ODD_SECRET}


def issue_odd_tokens(sb, issued: list[str]) -> None:
    """The token endpoint hands out tokens (and a refresh token) with characters URL encoding changes."""
    from itsm_bridge.sandbox.core import Response

    snow = sb.servicenow
    dispatch = snow.dispatch

    def dispatching(req):
        resp = dispatch(req)
        if req.path == "/oauth_token.do" and resp.status == 200:
            n = len(issued) // 2
            access, refresh = f"acc+ess/tok=en&{n}-canary", f"ref+resh/tok=en&{n}-canary"
            snow._oauth_tokens[access] = snow._oauth_tokens.pop(resp.body["access_token"])
            issued.extend([access, refresh])
            return Response(200, {**resp.body, "access_token": access, "refresh_token": refresh})
        return resp

    snow.dispatch = dispatching


def all_forms(secret: str) -> list[str]:
    from urllib.parse import quote, quote_plus

    raw = secret.encode()
    return [
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
    ]


def test_an_oauth_client_secret_echoed_url_encoded_by_the_token_endpoint_is_redacted(tmp_path: Path) -> None:
    from itsm_bridge.sandbox.core import Response

    with new_sandbox() as sb:
        seed(sb)
        cfg, env = oauth_world(tmp_path, sb)
        snow, dispatch = sb.servicenow, sb.servicenow.dispatch

        def refuse_echoing(req):  # an error page repeating the form it was sent
            if req.path != "/oauth_token.do":
                return dispatch(req)
            return Response(
                401,
                {
                    "error": {"message": "invalid client", "detail": f"request was {req.body.decode()}"},
                    "status": "failure",
                },
            )

        snow.dispatch = refuse_echoing
        outputs = {
            name: cli(cfg, env, "-vv", *args)
            for name, args in {"sync": ("sync",), "doctor": ("doctor",), "audit": ("--json", "audit")}.items()
        }
        assert outputs["sync"].returncode == 4, outputs["sync"].stderr
        assert "invalid client" in outputs["sync"].stderr
        text = "".join(r.stdout + r.stderr for r in outputs.values())
        assert [f for f in all_forms(ODD_SECRET) if f in text] == []


def test_oauth_tokens_obtained_at_run_time_are_redacted_in_every_form(tmp_path: Path) -> None:
    with new_sandbox() as sb:
        seed(sb)
        cfg, env = oauth_world(tmp_path, sb)
        issued: list[str] = []
        issue_odd_tokens(sb, issued)
        first = cli(cfg, env, "sync")
        assert first.returncode == 0, first.stderr
        sb.jira.edit_issue(sb.jira.issues()[0]["key"], {"summary": "Changed in Jira"})
        time.sleep(sb.jira.search_lag_s + 0.1)
        snow, dispatch = sb.servicenow, sb.servicenow.dispatch
        echo_reads = []

        def echoing(req):  # an error page (or a proxy) repeating the request in every encoding
            auth = req.headers.get("authorization", "")
            token = auth[7:] if auth[:7].lower() == "bearer " else ""
            writes = req.method in ("POST", "PUT", "PATCH") and req.path != "/oauth_token.do"
            if token and (writes or echo_reads):
                forms = " ".join(all_forms(token))
                return snow.error(400, f"Bad request (Authorization: {auth})", f"token forms seen: {forms}")
            return dispatch(req)

        snow.dispatch = echoing
        runs = {
            "sync": cli(cfg, env, "-vv", "sync"),
            "sync --json": cli(cfg, env, "--json", "sync"),
            "journal show": cli(cfg, env, "journal", "show", "--last", "500"),
        }
        echo_reads.append(True)  # now every read is refused too: doctor and audit meet the echo
        runs |= {"doctor": cli(cfg, env, "-vv", "doctor"), "audit": cli(cfg, env, "-vv", "--json", "audit")}
        assert "Bad request" in runs["sync"].stdout + runs["sync"].stderr, runs["sync"].stderr
        assert "Bad request" in runs["doctor"].stdout + runs["doctor"].stderr
        outputs = {name: r.stdout + r.stderr for name, r in runs.items()}
        outputs["state file"] = Path(str(cfg).replace(".toml", ".sqlite")).read_bytes().decode("utf-8", "replace")
        assert issued, "no token was issued"
        secrets = [f for t in issued for f in all_forms(t)]
        assert leaked(outputs, secrets) == {}
