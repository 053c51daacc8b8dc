"""What a record read back after our writes shows as ours.

A record read after a write (the write's own answer, or a fetch made after it) shows our write and
anything a person changed on it meanwhile. Only what we wrote is ours: the side shadow takes the
read-back's value (as the vendor normalizes it) for the fields our writes set, and keeps the value
each other field had before the write. A person's edit made between our write and the read-back
then still differs from the side shadow on the next read, and is carried. A read-back showing
such an edit leaves its version out of the shadow too, so the next read takes the record again
rather than skipping it as "as we left it". A note a person adds meanwhile is such an edit: the
version moves with it, and the read-back is the only read that shows it before the next change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from itsm_bridge.model import Incident
from itsm_bridge.sync.plan import Action
from itsm_bridge.sync.reconcile import seen_before

COUPLED: dict[str, frozenset[str]] = {
    "category": frozenset({"subcategory"}),  # written together (one select, one list)
    "subcategory": frozenset({"category"}),
    "state": frozenset({"resolution_code", "resolution_notes"}),  # a transition screen carries them
}
"""Fields a write of one field sets as well."""


def written_fields(actions: Iterable[Action], platform: str) -> frozenset[str] | None:
    """The canonical fields our `actions` set on `platform`; None when one created the record
    (every field is then ours)."""
    names: set[str] = set()
    for action in actions:
        if action.platform != platform:
            continue
        if action.kind == "create":
            return None
        if action.kind in ("update", "transition"):
            names |= set(action.changes)
    for name in list(names):
        names |= COUPLED.get(name, frozenset())
    return frozenset(names)


def ours(
    read_back: Mapping[str, Any], before: Mapping[str, Any], written: frozenset[str] | None
) -> tuple[dict[str, Any], bool]:
    """The side shadow a read-back leaves: the read-back's values of the `written` fields, the
    `before` values of the others (the read-back's where nothing is known of them); and whether
    the read-back shows a field we did not write changed since `before` (someone else's edit)."""
    if written is None:
        return dict(read_back), False
    side: dict[str, Any] = {}
    foreign = False
    for name, value in read_back.items():
        if name in written or name not in before:
            side[name] = value
        else:
            side[name] = before[name]
            foreign = foreign or value != before[name]
    return side, foreign


def unseen_notes(read_back: Incident, seen: frozenset[str]) -> bool:
    """Whether the read-back shows a note (not one of ours) that this cycle did not carry."""
    return any(not seen_before(c, seen) for c in read_back.comments)
