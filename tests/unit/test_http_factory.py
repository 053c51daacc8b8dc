"""`HttpClient.for_platform`: every platform's client is built from its config table, one way."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from itsm_bridge.config_schema import HttpSettings
from itsm_bridge.errors import Transient
from itsm_bridge.http import HttpClient


class _Slow(BaseHTTPRequestHandler):
    """Answers every GET after 100 ms, keeping the connection open; notes each client port."""

    protocol_version = "HTTP/1.1"
    ports: set[int] = set()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.ports.add(self.client_address[1])
        time.sleep(0.1)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass


@pytest.fixture
def slow_server() -> Iterator[tuple[str, set[int]]]:
    handler = type("Slow", (_Slow,), {"ports": set()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", handler.ports
    server.shutdown()
    server.server_close()


def _pool_size(client: HttpClient, url: str) -> int:
    return int(client.session.get_adapter(url).poolmanager.connection_pool_kw["maxsize"])


def test_the_client_takes_timeout_retries_rate_and_pool_from_the_platform_table():
    settings = HttpSettings(url="https://acme.example", timeout_s=7, requests_per_second=5, max_retries=2, workers=16)
    client = HttpClient.for_platform("servicenow", settings)
    assert client.base_url == "https://acme.example"
    assert client.timeout_s == 7 and client.max_retries == 2
    assert client.budget.interval == pytest.approx(0.2)
    assert _pool_size(client, "https://acme.example/x") == 16 and _pool_size(client, "http://acme.example/x") == 16
    assert client.session.verify is True  # verification on, against the system's CAs


def test_a_ca_bundle_is_what_the_client_verifies_against_and_headers_and_auth_are_set():
    settings = HttpSettings(url="https://acme.example", ca_bundle="/etc/ssl/private-ca.pem")
    client = HttpClient.for_platform("jira", settings, headers={"X-Token": "t"}, auth=("u", "p"))
    assert client.session.verify == "/etc/ssl/private-ca.pem"
    assert client.session.headers["X-Token"] == "t" and client.session.auth == ("u", "p")
    assert _pool_size(client, "https://acme.example/x") == 4  # workers' default


def test_a_request_that_gets_no_answer_ends_at_the_tables_timeout():
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        client = HttpClient.for_platform("jira", HttpSettings(url=url, timeout_s=0.3, max_retries=0))
        started = time.monotonic()
        with pytest.raises(Transient, match=r"no answer within 0\.3s"):
            client.request("GET", "/rest/api/3/myself")
        assert time.monotonic() - started < 2


def test_sixteen_workers_keep_sixteen_connections_open(slow_server, caplog):
    url, ports = slow_server
    client = HttpClient.for_platform("jira", HttpSettings(url=url, workers=16, requests_per_second=1000))
    with caplog.at_level(logging.WARNING, logger="urllib3"), ThreadPoolExecutor(16) as pool:
        for _ in range(3):  # three rounds of 16 at once: the later rounds reuse the first's connections
            list(pool.map(lambda _: client.request("GET", "/x"), range(16)))
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]
    assert len(ports) <= 16, f"{len(ports)} connections opened for 16 requests in flight"
