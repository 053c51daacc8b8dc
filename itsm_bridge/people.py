"""People across platforms: who a platform's user is, by e-mail address.

A person is their e-mail address, lower-cased, on every platform: ServiceNow's `sys_user.email`,
Jira's `emailAddress`. Where a platform cannot say (Jira Cloud hides the address of a user whose
profile keeps it private), the explicit map (`[people.map]` in the config, or the CSV file
`[people] csv` names) says who its account is; it takes precedence over anything looked up. A
person no platform can name is `platform:id` (`jira:5b10...`): carried as that, written nowhere.

Each connector keeps one `Directory` for its platform: the map, then what its lookups found
(kept in the state store with the time they were made, and trusted for `[people]
cache_ttl_hours`), then one lookup per person not known yet. A lookup that finds nobody is kept
too, so an unknown person costs one lookup per time-to-live, not one per record.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ADDRESS = re.compile(r"^[^@\s,^\"]+@[^@\s,^\"]+$")  # no separator a vendor query would read as its own


def email_of(text: object) -> str | None:
    """`text` as a person's canonical address (stripped, lower-cased), or None when it is no address."""
    value = str(text or "").strip().casefold()
    return value if ADDRESS.match(value) else None


def unknown(platform: str, remote_id: str) -> str:
    """The canonical value of a person only `platform` knows, by its id there."""
    return f"{platform}:{remote_id}"


@dataclass(frozen=True)
class PersonEntry:
    """What a lookup found on one platform: the person's id there ("" when nobody has the address)."""

    platform: str
    email: str
    remote_id: str
    looked_up_at: datetime


class Directory:
    """E-mail addresses <-> one platform's user ids; safe to share between apply workers."""

    def __init__(
        self,
        platform: str,
        explicit: Mapping[str, str],
        ttl: timedelta,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.platform = platform
        self.explicit = {e: i for e, i in explicit.items() if i}
        self._by_id = {i: e for e, i in self.explicit.items()}
        self.ttl = ttl
        self.now = now
        self.lookups = 0
        self._found: dict[str, PersonEntry] = {}
        self._lock = threading.Lock()

    def id_for(self, email: str, lookup: Callable[[str], str | None]) -> str | None:
        """The platform's id of `email`: mapped, found earlier, or looked up now (once)."""
        if email in self.explicit:
            return self.explicit[email]
        with self._lock:  # one lookup per person, even when several workers ask at once
            found = self._found.get(email)
            if found is None or self._expired(found):
                remote_id = lookup(email) or ""
                self.lookups += 1
                found = PersonEntry(self.platform, email, remote_id, self.now())
                self._found[email] = found
                if remote_id:
                    self._by_id.setdefault(remote_id, email)
            return found.remote_id or None

    def email_for(self, remote_id: str) -> str | None:
        """The address of the platform's user `remote_id`, when the map or an earlier lookup says."""
        return self._by_id.get(remote_id)

    def seen(self, email: str, remote_id: str) -> None:
        """A read showed both the user's id and address: no lookup is needed for them."""
        with self._lock:
            if email not in self.explicit:
                self._found[email] = PersonEntry(self.platform, email, remote_id, self.now())
            self._by_id.setdefault(remote_id, email)

    def entries(self) -> list[PersonEntry]:
        """What lookups found, to keep in the state store."""
        with self._lock:
            return list(self._found.values())

    def restore(self, entries: Iterable[PersonEntry]) -> None:
        """Start from what earlier runs found; entries older than the time to live are dropped."""
        with self._lock:
            for entry in entries:
                if entry.platform == self.platform and not self._expired(entry) and entry.email not in self._found:
                    self._found[entry.email] = entry
                    if entry.remote_id:
                        self._by_id.setdefault(entry.remote_id, entry.email)

    def _expired(self, entry: PersonEntry) -> bool:
        return self.now() - entry.looked_up_at >= self.ttl
