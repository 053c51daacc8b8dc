"""State store: links, shadows, cursors, learned facts, journal, quarantine and the one-writer lock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from itsm_bridge.store.base import Cursor, Facts, JournalEntry, QuarantineEntry, Shadow, StateStore, VerifyResult

if TYPE_CHECKING:
    from itsm_bridge.config import Config
    from itsm_bridge.errors import ConfigProblem

__all__ = ["Cursor", "Facts", "JournalEntry", "QuarantineEntry", "Shadow", "StateStore", "VerifyResult", "open_store"]


def open_store(url: str, password: str | None = None, journal_key: bytes | None = None) -> StateStore:
    """Open (and create or migrate) the store at `url`: sqlite:///PATH or postgresql+psycopg://...;
    with `journal_key`, new journal entries are HMAC-keyed and keyed entries are verified."""
    from itsm_bridge.store.sql import SqlStore

    return SqlStore(url, password, journal_key)


def open_from_config(config: Config) -> StateStore:
    state = config.settings.state
    password = config.secret("state", "password_env") if state.password_env else None
    key, problem = journal_key(config)
    store = open_store(config.state_url, password, key)
    store.journal_key_problem = problem  # reading needs no key; writing does (checked by lock())
    return store


def journal_key(config: Config) -> tuple[bytes | None, ConfigProblem | None]:
    """The journal's HMAC key from the variable `state.journal_key_env` names, or why there is none
    although one is configured."""
    from itsm_bridge.errors import ConfigError, ConfigProblem
    from itsm_bridge.store.chain import MIN_KEY_LENGTH

    name = config.settings.state.journal_key_env
    if not name:
        return None, None
    try:
        key = config.secret("state", "journal_key_env")
    except ConfigError as exc:
        return None, exc.problems[0]
    if len(key) < MIN_KEY_LENGTH:
        return None, ConfigProblem(
            "state.journal_key_env", f"the key in ${name} is shorter than {MIN_KEY_LENGTH} characters"
        )
    return key.encode("utf-8"), None
