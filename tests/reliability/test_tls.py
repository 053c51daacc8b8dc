"""TLS stays verified: a self-signed HTTPS server on loopback is refused unless its certificate is
configured as `ca_bundle`; a redirect to another host never carries the Authorization header."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from itsm_bridge.config_schema import HttpSettings
from itsm_bridge.errors import Unreachable
from itsm_bridge.http import HttpClient, make_session

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []
    redirect_to = ""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        if self.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def _serve(host: str, handler: type[_Handler], cert: Path | None = None) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer((host, 0), handler)
    scheme = "http"
    if cert is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, cert.with_suffix(".key"))
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"{scheme}://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def cert(tmp_path: Path) -> Path:
    pem = tmp_path / "loopback.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(pem.with_suffix(".key")),
            "-out",
            str(pem),
        ],
        check=True,
        capture_output=True,
    )
    return pem


@pytest.fixture
def https(cert: Path) -> Iterator[str]:
    handler = type("Plain", (_Handler,), {"seen": [], "redirect_to": ""})
    yield from _serve("127.0.0.1", handler, cert)


def test_a_self_signed_server_is_refused_without_its_ca(https: str) -> None:
    client = HttpClient("servicenow", https, make_session(), max_retries=0)
    with pytest.raises(Unreachable, match="TLS verification failed"):
        client.request("GET", "/api/now/table/incident")


def test_a_self_signed_server_is_accepted_with_its_ca_as_ca_bundle(
    https: str, cert: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: with REQUESTS_CA_BUNDLE set (as on many hosts), requests ignored session.verify.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ssl.get_default_verify_paths().openssl_cafile)
    client = HttpClient("servicenow", https, make_session(str(cert)), max_retries=0)
    assert client.request("GET", "/api/now/table/incident").json() == {}


def test_a_platform_client_verifies_tls_and_trusts_only_its_configured_ca_bundle(https: str, cert: Path) -> None:
    refused = HttpClient.for_platform("jira", HttpSettings(url=https, max_retries=0))
    with pytest.raises(Unreachable, match="TLS verification failed"):
        refused.request("GET", "/rest/api/3/myself")
    trusted = HttpClient.for_platform("jira", HttpSettings(url=https, max_retries=0, ca_bundle=str(cert)))
    assert trusted.request("GET", "/rest/api/3/myself").json() == {}


def test_no_authorization_header_reaches_the_host_a_redirect_points_to() -> None:
    target = type("Target", (_Handler,), {"seen": [], "redirect_to": ""})
    for target_url in _serve("127.0.0.2", target):
        origin = type("Origin", (_Handler,), {"seen": [], "redirect_to": target_url + "/steal"})
        for origin_url in _serve("127.0.0.1", origin):
            session = make_session()
            session.auth = ("itsm.bridge", "redirect-canary-pw")
            client = HttpClient("servicenow", origin_url, session, max_retries=0)
            try:
                client.request("GET", "/api/now/table/incident")
            except Exception:  # noqa: BLE001 - a 302 may be refused; what matters is what the target saw
                pass
            assert "authorization" in origin.seen[0]
            assert all("authorization" not in h for h in target.seen)
