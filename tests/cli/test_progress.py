"""Live progress: drawn on a terminal's stderr while a command works, never under cron (stderr not
a terminal), with --json or with --no-progress; `--progress` forces it. Each test runs the real
CLI as a process against the bundled sandbox over loopback, its stderr on a pseudo terminal."""

from __future__ import annotations

import ast
import os
import pty
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, Bridge, bridge, sandbox  # noqa: F401  (fixtures)

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LINE = re.compile(r"^(reading|writing|publishing|checking) ")


def on_terminal(bridge: Bridge, *args: str, config: Path | None = None) -> tuple[int, str, str]:
    """`itsm-bridge --config CONFIG ARGS` with stderr on a pseudo terminal: (exit code, stdout,
    every line the terminal was shown, escapes removed, each once, in order)."""
    master, slave = pty.openpty()
    env = {**bridge.env, "TERM": "xterm-256color", "COLUMNS": "140"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "itsm_bridge.cli", "--config", str(config or bridge.config_path), *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
        cwd=ROOT,
    )
    os.close(slave)
    screen: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process closed its side
                return
            if not chunk:
                return
            screen.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    stdout, _ = proc.communicate(timeout=120)
    reader.join(10)
    os.close(master)
    return proc.returncode, stdout.decode(), "\n".join(_lines(b"".join(screen).decode(errors="replace")))


def _lines(raw: str) -> Iterator[str]:
    seen: set[str] = set()
    for line in ANSI.sub("", raw).replace("\r", "\n").split("\n"):
        line = line.strip()
        if line and line not in seen:
            seen.add(line)
            yield line


def with_page_rate(bridge: Bridge, per_second: float) -> Path:
    """The config with the status page's request rate set (slow enough to watch its queue)."""
    path = bridge.config_path.with_name("slow-page.toml")
    text = bridge.config_path.read_text()
    page = text.index("[statuspage]")
    rest = re.sub(r"requests_per_second = [0-9.]+", f"requests_per_second = {per_second}", text[page:], count=1)
    path.write_text(text[:page] + rest)
    return path


def test_a_sync_on_a_terminal_shows_a_line_per_phase_and_platform_with_totals_rate_and_eta(bridge):
    bridge.sandbox.seed(20)
    code, stdout, screen = on_terminal(bridge, "sync", config=with_page_rate(bridge, 4.0))
    assert code in (0, 1), stdout + screen  # the seed holds records quarantined on purpose
    read = re.search(r"^reading servicenow .* 20/20 · [0-9,.]+ rec/s · done in", screen, re.M)
    assert read, screen  # the total from X-Total-Count
    assert re.search(r"^reading jira .* \d+/\d+ · ", screen, re.M), screen  # Jira's count of the read
    assert re.search(r"^writing jira .* \d+/\d+ · [0-9,.]+ req/s · (ETA|done in)", screen, re.M), screen
    # the page's queue on its own line, drawn live: a rate and an ETA while it drains
    live = re.findall(r"^publishing statuspage .* (\d+)/(\d+) · [0-9,.]+ req/s · ETA [0-9.]+ (s|min)$", screen, re.M)
    assert live and any(int(done) < int(total) for done, total, _ in live), screen
    assert re.search(r"^publishing statuspage .* (\d+)/\1 · .*done in", screen, re.M), screen
    assert "run " in stdout and not LINE.search(stdout)  # the summary on stdout, no progress there


@pytest.mark.parametrize(
    "args",
    [["sync", "--no-progress"], ["--json", "sync"], ["--no-progress", "plan"]],
    ids=["no-progress-after-the-command", "json", "no-progress-before-the-command"],
)
def test_no_progress_is_drawn_with_json_or_no_progress_even_on_a_terminal(bridge, args):
    bridge.sandbox.seed(3)
    code, stdout, screen = on_terminal(bridge, *args)
    assert code == 0, stdout + screen
    assert not any(LINE.match(line) for line in screen.splitlines()), screen
    assert "━" not in screen


def test_no_progress_is_drawn_and_no_count_asked_for_when_stderr_is_not_a_terminal(bridge):
    bridge.sandbox.seed(3)
    cron = bridge.run("sync")  # stderr a pipe, as under cron
    assert cron.returncode == 0, cron.stderr
    assert cron.stderr == "" and "reading" not in cron.stdout
    assert not any(c.path.endswith("/search/approximate-count") for c in bridge.sandbox.calls("jira"))


def test_progress_forces_the_display_when_stderr_is_not_a_terminal(bridge):
    bridge.sandbox.seed(2)
    forced = bridge.run("sync", "--progress")
    assert forced.returncode == 0, forced.stderr
    assert re.search(r"reading servicenow .*2/2", ANSI.sub("", forced.stderr)), forced.stderr


def test_a_retry_after_wait_shows_as_such_with_the_platform(bridge):
    bridge.sandbox.seed(2)
    bridge.sandbox.servicenow.faults.inject("rate_429", count=1, method="GET", path="/table/incident$", retry_after="1")
    code, stdout, screen = on_terminal(bridge, "plan")
    assert code == 0, stdout + screen
    assert re.search(
        r"^servicenow: rate limited \(HTTP 429\); waiting 1 s as Retry-After asks \([0-9.]+ s left\)$", screen, re.M
    ), screen
    assert re.search(r"^reading servicenow .* 2/2", screen, re.M), screen  # and then the read went on


class Slow(BaseHTTPRequestHandler):
    """Answers after 1.5 s, refusing the credentials (so nothing is retried)."""

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        time.sleep(1.5)
        body = b'{"error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"}}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  (quiet)
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_request_slower_than_a_second_shows_what_it_waits_for_without_credentials(bridge, slow_server):
    text = bridge.config_path.read_text()
    url = re.search(r'^url = "(http://[^"]+)"', text, re.M)
    assert url
    config = bridge.config_path.with_name("slow.toml")
    config.write_text(text.replace(url.group(1), slow_server, 1))  # the first table: ServiceNow
    code, stdout, screen = on_terminal(bridge, "doctor", config=config)
    assert code == 4, stdout + screen
    waits = re.findall(r"^waiting ([0-9.]+) s for servicenow: GET (\S+)$", screen, re.M)
    assert waits and waits[0][1].startswith(f"{slow_server}/api/now/"), screen
    assert all("?" not in target for _, target in waits)  # no query string
    secrets = [v for k, v in bridge.env.items() if k.startswith("ITSM_SANDBOX_")]
    assert secrets and not any(s in screen for s in secrets)
    assert re.search(r"^checking jira .*done in", screen, re.M), screen


def test_a_platform_that_refuses_connections_shows_each_retry_with_its_url(bridge):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    text = bridge.config_path.read_text()
    url = re.search(r'^url = "(http://[^"]+)"', text, re.M)
    assert url
    config = bridge.config_path.with_name("closed.toml")
    config.write_text(text.replace(url.group(0), f'url = "{closed}"\nmax_retries = 1', 1))
    code, stdout, screen = on_terminal(bridge, "doctor", config=config)
    assert code == 4, stdout + screen
    assert re.search(
        rf"^servicenow: cannot connect to {closed}; retry 1 of 1 in [0-9] s \([0-9.]+ s left\)$", screen, re.M
    ), screen


@pytest.mark.slow  # the whole demo: about 8 s
def test_demo_prints_each_stage_as_it_starts_above_its_progress(tmp_path):
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "140"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "itsm_bridge.cli", "demo", "--incidents", "4", "--workdir", str(tmp_path)],
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=ROOT,
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=120) == 0
    os.close(master)
    screen = list(_lines(b"".join(chunks).decode(errors="replace")))
    at = {s: next(i for i, line in enumerate(screen) if line.startswith(s)) for s in ("Seeding", "initial sync")}
    first_read = next(i for i, line in enumerate(screen) if line.startswith("reading servicenow"))
    counts = next(i for i, line in enumerate(screen) if line.startswith("created "))
    assert at["Seeding"] < at["initial sync"] < first_read < counts, screen
    assert any(line.startswith("audit: reading every platform") for line in screen[counts:])


def test_only_the_cli_renderer_imports_rich():
    """The engine stays vendor- and library-blind: it reports to `itsm_bridge.progress`."""
    package = ROOT / "itsm_bridge"
    importers = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n == "rich" or n.startswith("rich.") for n in names):
                importers.add(path.relative_to(package).as_posix())
    assert importers == {"progress_view.py", "cli_progress.py"}
