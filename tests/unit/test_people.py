"""People by e-mail address: the map first, one lookup per person (a miss too), kept for the TTL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from itsm_bridge.people import Directory, PersonEntry, email_of

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_addresses_are_lower_cased_and_query_separators_are_refused():
    assert email_of(" Ana.Lima@Example.COM ") == "ana.lima@example.com"
    assert [email_of(t) for t in ("jira:5b10", "a^b@c", "a@b,c", "a@b@c", "", None)] == [None] * 6


def test_one_lookup_per_person_a_miss_included_until_the_ttl_passes():
    clock, asked = Clock(), []

    def lookup(email: str) -> str | None:
        asked.append(email)
        return {"ana@x.org": "A1"}.get(email)

    people = Directory("jira", {"zoe@x.org": "Z9"}, timedelta(hours=1), clock)
    assert [people.id_for(e, lookup) for e in ("ana@x.org", "ana@x.org", "nobody@x.org", "nobody@x.org")] == [
        "A1",
        "A1",
        None,
        None,
    ]
    assert people.id_for("zoe@x.org", lookup) == "Z9" and people.email_for("Z9") == "zoe@x.org"  # the map: no lookup
    assert asked == ["ana@x.org", "nobody@x.org"]
    clock.now += timedelta(hours=1)
    assert people.id_for("ana@x.org", lookup) == "A1" and asked[-1] == "ana@x.org"  # expired: asked again


def test_what_earlier_runs_found_is_restored_within_its_ttl_only():
    clock = Clock()
    people = Directory("jira", {}, timedelta(hours=24), clock)
    people.restore(
        [
            PersonEntry("jira", "ana@x.org", "A1", T0 - timedelta(hours=1)),
            PersonEntry("jira", "old@x.org", "O1", T0 - timedelta(hours=30)),
            PersonEntry("servicenow", "ana@x.org", "s1", T0),
        ]
    )
    assert people.id_for("ana@x.org", lambda e: "fresh") == "A1" and people.email_for("A1") == "ana@x.org"
    assert people.id_for("old@x.org", lambda e: "O2") == "O2"
