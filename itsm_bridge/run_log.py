"""Runs that ended in error: journaled (kind `run_error`) with the command and the reason, so
`status` shows them beside the last run that finished, instead of that run alone."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from itsm_bridge.errors import StoreError
from itsm_bridge.log import redact
from itsm_bridge.store.base import StateStore

log = logging.getLogger("itsm_bridge.run")


@contextmanager
def recorded(store: StateStore, command: str) -> Iterator[None]:
    """Journal an error that ends the run (then raise it on). Use inside the lock."""
    try:
        yield
    except Exception as exc:
        _record(store, command, exc)
        raise


def _record(store: StateStore, command: str, exc: Exception) -> None:
    payload = {"command": command, "error": type(exc).__name__, "message": redact(str(exc))[:1000]}
    try:
        store.append(uuid.uuid4().hex[:12], "run_error", payload)
    except StoreError as failed:  # the store itself is what broke: the original error still propagates
        log.warning("could not journal the %s run's error: %s", command, failed)
