"""Logging to stderr, as text or one JSON object per line, with secrets redacted.

Every secret itsm-bridge reads from the environment or obtains at run time (an OAuth token) is
registered here, and the filter replaces it in every record before any handler sees it: raw,
URL-encoded (as a form body or query string carries it), base64, and base64 `user:secret`.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import threading
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

from itsm_bridge.output import printable

_secrets: set[str] = set()
_lock = threading.Lock()
MASK = "***"


def secret_forms(value: str, user: str | None = None) -> set[str]:
    """The ways `value` can appear in text: raw, URL-encoded, base64 (standard and URL-safe,
    with and without padding); with `user`, the Basic-auth base64 of `user:value`."""
    raw = value.encode()
    encoded = [base64.b64encode(raw), base64.urlsafe_b64encode(raw)]
    if user:
        encoded.append(base64.b64encode(f"{user}:{value}".encode()))
    forms = {value, quote(value, safe=""), quote_plus(value, safe=""), quote(value)}
    for e in encoded:
        forms |= {e.decode(), e.decode().rstrip("=")}
    return {f for f in forms if len(f) >= 4}


def register_secret(value: str, user: str | None = None) -> None:
    """Redact `value` (in every form of `secret_forms`) from logs, errors and reports from now on."""
    if not value or len(value) < 4:
        return
    forms = secret_forms(value, user)
    with _lock:
        _secrets.update(forms)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = printable(redact(record.getMessage()))  # vendor text must not drive a terminal
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = printable(redact(logging.Formatter().formatException(record.exc_info)))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            data.update(extra)
        if record.exc_text:
            data["exception"] = record.exc_text
        return redact(json.dumps(data, ensure_ascii=False, default=str))


def setup(verbosity: int = 0, fmt: str = "text") -> None:
    """verbosity: -1 quiet (errors), 0 warnings, 1 info, 2+ debug."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("itsm_bridge")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # urllib3 installs a NullHandler, so its warnings (a pool discarding connections, headers it
    # could not parse) were dropped unseen; they reach stderr, its request-by-request debug does not.
    transport = logging.getLogger("urllib3")
    transport.handlers[:] = [handler]
    transport.setLevel(max(level, logging.WARNING))
