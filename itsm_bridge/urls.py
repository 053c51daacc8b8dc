"""URL checks for the config: no credentials in a URL, and TLS except on this machine's loopback.

URLs are parsed, never matched by prefix: `http://127.0.0.1@192.0.2.10` is the host 192.0.2.10
with a user name, and `http://127.0.0.1.attacker.example` is a name anyone can register.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, parse_qsl, urlsplit

# A query key that carries a password to a database driver (libpq's `password`, and kin).
_PASSWORD_PARAMS = {"password", "passwd", "pwd", "pass", "secret", "sslpassword", "token"}


def _split(url: str) -> SplitResult:
    if any(c.isspace() or c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise ValueError("must be a plain URL (no spaces, backslashes or control characters)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise ValueError("is not a valid URL") from None
    return parts


def is_loopback_host(host: str | None) -> bool:
    """`localhost` exactly, or an address in 127.0.0.0/8 or ::1."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def platform_url(url: str) -> str:
    """A vendor's base URL, checked: https (plain http only to loopback), a host, no userinfo."""
    parts = _split(url)
    if "@" in parts.netloc:
        raise ValueError(
            "carries credentials (user:password@host); the auth keys "
            "(password_env, token_env, ...) name environment variables for them"
        )
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return url.rstrip("/")
    raise ValueError("must start with https:// (plain http is allowed only to localhost, 127.0.0.0/8 or [::1])")


def store_url(url: str) -> str:
    """A state store URL, checked: sqlite or postgresql, and no password anywhere in it."""
    if not url.startswith(("sqlite:///", "postgresql")):
        raise ValueError("must be sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
    if url.startswith("sqlite:///"):
        return url
    parts = _split(url)
    if parts.password is not None or ":" in parts.netloc.rpartition("@")[0]:
        raise ValueError("holds a password; put it in an environment variable named by password_env")
    if any(k.lower() in _PASSWORD_PARAMS for k, _ in parse_qsl(parts.query, keep_blank_values=True)):
        raise ValueError(
            "holds a password in its query string; put it in an environment variable named by password_env"
        )
    return url
