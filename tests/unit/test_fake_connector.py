"""The in-memory fake connector offers what the real ones do, so the planner and applier tests
take the same paths (bulk create, read-back, note lookup, facts, state hints, publishing)."""

from __future__ import annotations

import pytest

from itsm_bridge.connectors.base import (
    Connector,
    CreatesInBulk,
    FetchesInBulk,
    LearnsFacts,
    LooksUpNotes,
    Publisher,
    TakesStateHints,
)
from itsm_bridge.errors import Transient
from itsm_bridge.model import Incident, RemoteRef
from itsm_bridge.testing import FakeConnector, FakePage


def test_the_fake_offers_the_protocol_and_every_ability_the_applier_asks_for():
    fake = FakeConnector("jira")
    for ability in (Connector, CreatesInBulk, FetchesInBulk, LooksUpNotes, LearnsFacts, TakesStateHints):
        assert isinstance(fake, ability), ability.__name__
    assert isinstance(FakePage(), Publisher) and not isinstance(fake, Publisher)


def test_a_failure_hits_only_the_chosen_record_and_only_as_often_as_asked():
    fake = FakeConnector("jira")
    one, two = fake.add({"title": "one"}, key="INC1"), fake.add({"title": "two"}, key="INC2")
    fake.fail("update", Transient("502", platform="jira"), where="INC2")

    fake.update(one, {"title": "one, again"})
    with pytest.raises(Transient):
        fake.update(two, {"title": "two, again"})
    fake.update(two, {"title": "two, again"})  # once only

    assert fake.by_method["update"] == 3 and fake.calls == 3 and fake.writes == 3
    assert fake.get(two).version == "1" and fake.records[two.id]["title"] == "two, again"


def test_the_fake_page_creates_then_updates_then_resolves_a_key():
    page = FakePage()
    incident = Incident("INC1", "Mail is down")

    made = page.publish(incident)
    assert made.action == "created" and made.ref is not None
    assert page.publish(incident.replace(title="Mail is slow"), made.ref).action == "updated"
    assert page.publish(incident.replace(state="resolved"), RemoteRef("statuspage", made.ref.id)).action == "resolved"
    assert page.by_method["publish"] == 3 and page.records[made.ref.id]["state"] == "resolved"
