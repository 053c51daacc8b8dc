"""Secret canaries through the CLI, under faults: never in -vv text or JSON logs, `--json` output,
`status`, `journal show`, `config show`, or the error of a refused credential (which is not retried).
TLS and redirects: tests/unit/test_http.py and test_tls.py; literal secrets in config:
tests/cli/test_cli_foundation.py."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

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


def test_secrets_never_appear_in_any_output_even_under_faults(tmp_path: Path) -> None:
    with new_sandbox() as sb:
        seed(sb)
        sb.set_faults("flaky", seed=5)
        cfg, env = start(tmp_path, sb)
        outputs = [
            cli(cfg, env, "-vv", "sync"), cli(cfg, env, "-vv", "--log-format", "json", "--json", "sync"),
            cli(cfg, env, "--json", "status"), cli(cfg, env, "journal", "show"),
            cli(cfg, env, "--json", "config", "show"), cli(cfg, env, "-vv", "doctor"),
        ]  # fmt: skip
        assert outputs[1].stdout.strip().startswith("{")
        for r in outputs:
            for secret in canaries(sb):
                assert secret not in r.stdout + r.stderr, f"{r.args[4:]} showed a secret"
        db = Path(str(cfg).replace(".toml", ".sqlite"))
        for secret in canaries(sb):
            assert secret.encode() not in db.read_bytes()


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
