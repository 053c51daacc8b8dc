"""The connector conformance suite: what every connector must do against its sandbox.

A platform gets these tests by subclassing `ConnectorConformance` in its test module (a class
named `Test...`) and defining a `harness` fixture returning a `Harness`: the connector under test,
plus the few vendor facts the suite cannot know (how to insert a record out of band, which
fields carry a title, how to read a state back).

    class TestServiceNowConformance(ConnectorConformance):
        @pytest.fixture
        def harness(self, sandbox): return Harness(...)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from itsm_bridge.connectors.base import Connector
from itsm_bridge.errors import AuthError, BridgeError
from itsm_bridge.model import Comment, RemoteRef, State, Visibility
from itsm_bridge.records import RemoteRecord, ref_of
from itsm_bridge.watermark import Watermark


@dataclass
class Harness:
    connector: Connector
    bad_connector: Callable[[], Connector]  # the same platform with credentials it refuses
    insert: Callable[[str], RemoteRef]  # create a record with this title on the sandbox, out of band
    create_fields: Callable[[str], dict[str, Any]]  # vendor fields for connector.create with this title
    title_of: Callable[[RemoteRecord], str]
    state_of: Callable[[RemoteRecord], State | None]
    add_note: Callable[[RemoteRef, str, Visibility], None]  # a note written by a person, out of band
    notes_on_platform: Callable[[RemoteRef], list[tuple[str, Visibility]]]  # every note stored, ours too
    last_write_fields: Callable[[], set[str]]  # field names in the body of the last write the sandbox saw
    resolve_state: State = State.RESOLVED
    resolve_fields: dict[str, Any] = field(default_factory=dict)  # what transition() needs to resolve
    overlap: timedelta = timedelta(seconds=60)


def new_key() -> str:
    return f"conf-{uuid.uuid4().hex[:12]}"


class ConnectorConformance:
    """Behaviour every connector shares; see the module docstring for how to use it."""

    def test_changed_since_returns_records_created_out_of_band_once(self, harness: Harness) -> None:
        refs = {harness.insert(f"out of band {i}").id for i in range(3)}
        read = [r for r in harness.connector.changed_since(None) if r.ref.id in refs]
        assert sorted(r.ref.id for r in read) == sorted(refs)
        applied = [(r.ref.id, r.version, r.updated) for r in read]
        mark = Watermark().advance(applied, [], datetime.now(UTC) + timedelta(hours=1), harness.overlap)
        again = [r for r in harness.connector.changed_since(mark) if r.ref.id in refs]
        assert again == []  # applied at their current version: not read into a write twice

    def test_create_then_find_and_get_by_correlation_key(self, harness: Harness) -> None:
        key = new_key()
        created = ref_of(harness.connector.create(harness.create_fields("created by the bridge"), key))
        found = harness.connector.find(key)
        assert found is not None and found.ref.id == created.id and found.correlation_key == key
        got = harness.connector.get(created)
        assert harness.title_of(got) == "created by the bridge" and got.correlation_key == key
        assert harness.connector.find(new_key()) is None

    def test_update_sends_only_the_changed_fields_and_bumps_the_version(self, harness: Harness) -> None:
        before = harness.create_fields("before")
        created = ref_of(harness.connector.create(before, new_key()))
        version = harness.connector.get(created).version
        change = {k: v for k, v in harness.create_fields("after").items() if before.get(k) != v}
        harness.connector.update(created, change)
        assert harness.last_write_fields() == set(change)
        after = harness.connector.get(created)
        assert after.version != version and harness.title_of(after) == "after"

    def test_notes_read_back_internal_and_public_and_ours_are_never_imported(self, harness: Harness) -> None:
        ref = harness.insert("with notes")
        harness.add_note(ref, "seen by the team", Visibility.INTERNAL)
        harness.add_note(ref, "seen by the customer", Visibility.PUBLIC)
        when = datetime.now(UTC)
        harness.connector.add_comment(ref, Comment("Ana", "copied from elsewhere", when, Visibility.PUBLIC, "jira"))
        harness.connector.add_comment(ref, Comment("Ana", "internal copy", when, Visibility.INTERNAL, "jira"))
        read = {(c.body, c.visibility) for c in harness.connector.get(ref).comments}
        assert read == {("seen by the team", Visibility.INTERNAL), ("seen by the customer", Visibility.PUBLIC)}
        stored = harness.notes_on_platform(ref)
        assert any("copied from elsewhere" in body and vis is Visibility.PUBLIC for body, vis in stored)
        assert any("internal copy" in body and vis is Visibility.INTERNAL for body, vis in stored)

    def test_transition_moves_the_record_to_the_state(self, harness: Harness) -> None:
        ref = harness.insert("to be resolved")
        harness.connector.transition(ref, harness.resolve_state, harness.resolve_fields)
        assert harness.state_of(harness.connector.get(ref)) is harness.resolve_state

    def test_check_passes_with_good_credentials(self, harness: Harness) -> None:
        results = harness.connector.check()
        assert results and [r for r in results if not r.ok] == []

    def test_check_and_calls_fail_clearly_with_bad_credentials(self, harness: Harness) -> None:
        bad = harness.bad_connector()
        results = bad.check()
        assert any(not r.ok for r in results)
        with pytest.raises(AuthError) as exc:
            list(bad.changed_since(None))
        assert isinstance(exc.value, BridgeError) and exc.value.exit_code == 4
