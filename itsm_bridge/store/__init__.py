"""State store: links, shadows, cursors, journal, quarantine and the one-writer lock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from itsm_bridge.store.base import Cursor, JournalEntry, QuarantineEntry, Shadow, StateStore, VerifyResult

if TYPE_CHECKING:
    from itsm_bridge.config import Config

__all__ = ["Cursor", "JournalEntry", "QuarantineEntry", "Shadow", "StateStore", "VerifyResult", "open_store"]


def open_store(url: str, password: str | None = None) -> StateStore:
    """Open (and create or migrate) the store at `url`: sqlite:///PATH or postgresql+psycopg://..."""
    from itsm_bridge.store.sql import SqlStore

    return SqlStore(url, password)


def open_from_config(config: Config) -> StateStore:
    password = config.secret("state", "password_env") if config.settings.state.password_env else None
    return open_store(config.state_url, password)
