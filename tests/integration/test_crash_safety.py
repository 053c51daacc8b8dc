"""kill -9 of `sync` after its k-th write, for every k, then a rerun: nothing doubled, nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from itsm_bridge.correlation import label_for
from itsm_bridge.sandbox.app import Sandbox
from itsm_bridge.sandbox.config_writer import write_config
from itsm_bridge.sandbox.core import Request, Response

ROOT = Path(__file__).resolve().parents[2]
READ_POSTS = ("/rest/api/3/search/jql", "/rest/api/3/issue/bulkfetch")
SERVICES = ["Email", "VPN", "Payments API", "Web Portal"]
N = 20


def seed(sb: Sandbox) -> list[str]:
    cis = {s: sb.servicenow.add_reference("cmdb_ci", s) for s in SERVICES}
    ids = []
    for i in range(N):
        rec = sb.servicenow.insert_incident(
            {
                "short_description": f"Incident {i}: {SERVICES[i % 4]} errors",
                "category": ["software", "network", "database", "hardware"][i % 4],
                "cmdb_ci": cis[SERVICES[i % 4]],
                "impact": str(1 + i % 3),
                "urgency": str(1 + (i // 3) % 3),
                "state": ["1", "2", "3"][i % 3],
            }
        )
        ids.append(rec["sys_id"])
    return ids


class StallAt:
    """Counts writes across every platform; the k-th is committed, then its answer is held
    until the test has killed the client."""

    def __init__(self, sb: Sandbox, k: int) -> None:
        self.k, self.n = k, 0
        self.reached, self.release = threading.Event(), threading.Event()
        self.lock = threading.Lock()
        for platform in sb.platforms.values():
            platform.dispatch = self._wrap(platform.dispatch)  # type: ignore[method-assign]

    def _wrap(self, dispatch):
        def counted(req: Request) -> Response:
            resp = dispatch(req)
            if req.method in ("POST", "PUT", "PATCH") and req.path not in READ_POSTS and resp.status < 400:
                with self.lock:
                    self.n += 1
                    hit = self.n == self.k
                if hit:
                    self.reached.set()
                    self.release.wait(30)
            return resp

        return counted


def start(tmp: Path, sb: Sandbox) -> tuple[Path, dict[str, str]]:
    info = sb.info()
    cfg = write_config(info, tmp / "bridge.toml")
    text = cfg.read_text().replace("requests_per_second = 1.0", "requests_per_second = 500.0")
    text = text.replace("search_lag_s = 10.0", "search_lag_s = 0.3\nrequests_per_second = 500.0")
    cfg.write_text(text.replace("page_size = 1000", "page_size = 1000\nrequests_per_second = 500.0"))
    return cfg, {**os.environ, **info["env"]}


def sync(cfg: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "itsm_bridge.cli", "--config", str(cfg), "-q", "sync"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def cli(cfg: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "itsm_bridge.cli", "--config", str(cfg), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def new_sandbox() -> Sandbox:
    sb = Sandbox(seed=11)
    sb.jira.search_lag_s = 0.2
    sb.statuspage.rate_limit = (60000, 60.0)
    return sb


def writes_of_a_clean_run(tmp: Path) -> int:
    with new_sandbox() as sb:
        seed(sb)
        stall = StallAt(sb, k=10**9)
        cfg, env = start(tmp, sb)
        proc = sync(cfg, env)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        return stall.n


def check_invariants(sb: Sandbox, ids: list[str]) -> None:
    numbers = {sb.servicenow.incident(i)["number"]: sb.servicenow.incident(i) for i in ids}
    issues = sb.jira.issues()
    pages = sb.statuspage.incidents()
    for number, snow in numbers.items():
        mine = [i for i in issues if label_for(number) in i["fields"].get("labels", [])]
        assert len(mine) == 1, f"{number}: {len(mine)} Jira issues"
        expected = {"1": "Open", "2": "Work in progress", "3": "Pending"}[snow["state"]]
        assert mine[0]["fields"]["status"]["name"] == expected, number
        on_page = [p for p in pages if (p.get("metadata") or {}).get("itsm_bridge", {}).get("key") == number]
        assert len(on_page) == (1 if snow["priority"] in ("1", "2") else 0), f"{number}: {len(on_page)} page incidents"
    assert len(issues) == len(numbers)


def test_kill_9_after_every_write_then_rerun_leaves_no_duplicate_and_loses_nothing(tmp_path):
    (tmp_path / "clean").mkdir()
    total = writes_of_a_clean_run(tmp_path / "clean")
    assert total >= 3  # the lone first create, a bulk create of the rest, then transitions and publishes
    for k in range(1, total + 1):
        work = tmp_path / f"k{k}"
        work.mkdir()
        with new_sandbox() as sb:
            ids = seed(sb)
            stall = StallAt(sb, k)
            cfg, env = start(work, sb)
            proc = sync(cfg, env)
            assert stall.reached.wait(60), f"k={k}: the run never made its {k}th write"
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            proc.stderr.close()
            stall.release.set()
            rerun = sync(cfg, env)
            _, err = rerun.communicate(timeout=120)
            assert rerun.returncode == 0, f"k={k}: {err}"
            check_invariants(sb, ids)
