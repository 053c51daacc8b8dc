"""A store shared by threads: one call at a time.

The sync applies keys side by side; every store call (journal appends above all: each entry's
hash chains to the one before) goes through one lock, so the chain and each transaction stay whole.
"""

from __future__ import annotations

import threading
from typing import Any


class Serialized:
    def __init__(self, store: Any) -> None:
        self._store: Any = store._store if isinstance(store, Serialized) else store
        self._lock: threading.RLock = store._lock if isinstance(store, Serialized) else threading.RLock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return locked
