"""The journal's chain: how each entry's hash is made, how a chain is verified, and its head.

Each entry's hash covers its content and the hash before it. Two kinds of link:

- `sha256`: a plain SHA-256 chain. It shows accidental damage and an edit made by someone who did
  not recompute the hashes after it; anyone who can write the database can recompute them.
- `hmac-sha256`: HMAC-SHA256 under a key read from the environment (`state.journal_key_env`).
  Without the key nobody can write a link that verifies, so an edited, inserted or reordered
  entry is found even when every hash after it was recomputed.

The **head** (`ENTRIES:HASH`, the entry count and the last entry's hash) is what leaves the
database: every run summary prints it and it can be appended to a file. Verified against a head
kept elsewhere, the journal proves no entry up to the head was removed (truncation) and, since
the last hash depends on every entry before it, none was rewritten either (for a plain chain, as
long as the head itself was out of the insider's reach).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsm_bridge.store.base import JournalEntry

GENESIS = "0" * 64
PLAIN, KEYED = "sha256", "hmac-sha256"
MIN_KEY_LENGTH = 16
_HEAD = re.compile(r"^(\d+):([0-9a-f]{64})$")


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content(e: JournalEntry) -> dict[str, Any]:
    """The fields an entry's hash covers."""
    return {
        "seq": e.seq,
        "run_id": e.run_id,
        "at": e.at,
        "kind": e.kind,
        "key": e.key,
        "platform": e.platform,
        "ref": e.ref,
        "action": e.action,
        "intent_seq": e.intent_seq,
        "payload": e.payload,
    }


def link_hash(prev_hash: str, fields: dict[str, Any], key: bytes | None = None) -> str:
    """The hash of an entry with `fields` after `prev_hash`: HMAC-SHA256 under `key`, else SHA-256."""
    message = (prev_hash + dumps(fields)).encode("utf-8")
    if key is not None:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


@dataclass(frozen=True)
class Head:
    """The journal's entry count and last hash: `ENTRIES:HASH`."""

    entries: int
    hash: str

    def __str__(self) -> str:
        return f"{self.entries}:{self.hash}"

    def to_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "hash": self.hash, "head": str(self)}

    @classmethod
    def parse(cls, value: str) -> Head:
        """`ENTRIES:HASH`, or a file of head lines (its last line's last word is taken)."""
        text = value.strip()
        path = Path(text)
        if not _HEAD.match(text) and path.is_file():
            lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
            if not lines:
                raise ValueError(f"{value}: no head in the file")
            text = lines[-1].split()[-1]
        m = _HEAD.match(text)
        if not m:
            raise ValueError(
                f"{value!r} is not a journal head (ENTRIES:HASH, as a run summary prints it) nor a file of them"
            )
        return cls(int(m.group(1)), m.group(2))


@dataclass
class Verification:
    """What verifying a chain found, and what it could and could not prove."""

    entries: int = 0
    keyed: int = 0
    plain: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    head: Head | None = None


def verify(entries: Iterable[tuple[JournalEntry, str | None]], key: bytes | None, against: Head | None) -> Verification:
    """Walk the chain of (entry, link kind) in order; compare with `against` when given."""
    v = Verification()
    prev, expected_seq, unchecked, first_keyed = GENESIS, 1, 0, None
    pinned: str | None = None
    for e, kind in entries:
        v.entries += 1
        if e.seq != expected_seq:
            v.problems.append(f"entry {expected_seq} is missing (next is {e.seq})")
        if e.prev_hash != prev:
            v.problems.append(f"entry {e.seq} does not follow the entry before it (removed or reordered)")
        if kind == KEYED:
            v.keyed += 1
            first_keyed = first_keyed or e.seq
            if key is None:
                unchecked += 1
            elif link_hash(e.prev_hash, content(e), key) != e.hash:
                v.problems.append(f"entry {e.seq} was changed after it was written (its HMAC does not match)")
        else:
            v.plain += 1
            if first_keyed is not None:
                v.problems.append(
                    f"entry {e.seq} is not keyed, though entry {first_keyed} before it was: "
                    "written or rewritten without the journal key"
                )
            if link_hash(e.prev_hash, content(e)) != e.hash:
                v.problems.append(f"entry {e.seq} was changed after it was written")
        if against is not None and e.seq == against.entries:
            pinned = e.hash
        prev, expected_seq = e.hash, e.seq + 1
    v.head = Head(v.entries, prev)
    _compare(v, against, pinned)
    _explain(v, key, unchecked, against)
    return v


def _compare(v: Verification, against: Head | None, pinned: str | None) -> None:
    if against is None:
        return
    if v.entries < against.entries:
        v.problems.append(
            f"the journal has {v.entries} entries but the head has {against.entries}: "
            f"entries {v.entries + 1}..{against.entries} were removed (truncated)"
        )
    elif pinned != against.hash:
        v.problems.append(
            f"entry {against.entries} does not hash to the head's {against.hash[:12]}...: "
            f"the journal up to entry {against.entries} was rewritten"
        )


def _explain(v: Verification, key: bytes | None, unchecked: int, against: Head | None) -> None:
    """Say plainly what this verification proves and what it cannot."""
    if v.plain and v.keyed:
        v.notes.append(
            f"{v.plain} entries were written before the journal key was set: they are plain SHA-256 "
            "chained, which anyone who can write the database could recompute"
        )
    elif v.plain and key is None:
        v.notes.append(
            "no journal key (state.journal_key_env): the plain SHA-256 chain shows damage and careless "
            "edits, but anyone who can write the database could rewrite it and recompute every hash"
        )
    elif v.plain:
        v.notes.append("the journal key is set but no entry is keyed yet: the next run writes keyed entries")
    if unchecked:
        v.notes.append(
            f"{unchecked} entries are HMAC-keyed but the journal key is not set: their order was "
            "checked, their content could not be"
        )
    if against is None:
        v.notes.append(
            "without --head, removing the last entries (or all of them) cannot be detected: "
            "verify against a head kept outside the database (each run summary prints one)"
        )
    elif not v.problems:
        v.notes.append(f"entries 1..{against.entries} match the head {against}")
