"""The platform registry is the one place platforms are named: a platform registered there is
picked up by config validation, `mapping check`, the connector and mapper factories, reconcile and
the sync engine (its writer pool included), with nothing else changed."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from itsm_bridge import config, platforms
from itsm_bridge.config_schema import ReadSettings, Settings
from itsm_bridge.connectors import build
from itsm_bridge.connectors.base import NewIssue
from itsm_bridge.errors import BridgeError, ConfigError
from itsm_bridge.mapping.check import mapping_report
from itsm_bridge.mapping.priority import PriorityMatrix
from itsm_bridge.mapping.translate import mapper_for
from itsm_bridge.model import Incident, Level, RemoteRef, State
from itsm_bridge.records import Written
from itsm_bridge.store import open_store
from itsm_bridge.sync.engine import Engine
from itsm_bridge.sync.reconcile import Side, carried, compared, reconcile, shows_priority
from itsm_bridge.testing import FakeConnector, FakeMapper, incident_fields
from tests.unit.sync_world import Clock

HERE = __name__


class FakeDeskSettings(ReadSettings):
    """The `[fakedesk]` table of the made-up platform below."""

    queue: str


class FakeDeskMapper:
    def __init__(self, cfg: Any) -> None:
        self.platform = "fakedesk"
        self.config = cfg


class FakeDeskConnector:
    def __init__(self, cfg: Any, **kw: Any) -> None:
        self.name = "fakedesk"
        self.config, self.kw = cfg, kw


FAKE = platforms.PlatformSpec(
    "fakedesk",
    platforms.TWO_WAY,
    frozenset({"title", "state", "category", "priority"}),
    connector=f"{HERE}:FakeDeskConnector",
    mapper=f"{HERE}:FakeDeskMapper",
    settings=f"{HERE}:FakeDeskSettings",
    shows_priority=True,
    vocabularies=("categories",),
    default_states={s.value: (s.value.upper(),) for s in State},
)

BASE = """
[servicenow]
url = "https://acme.service-now.com"
user = "bridge"
password_env = "SNOW_PASSWORD"

[taxonomy.categories.network]
servicenow = "network"
"""

WITH_FAKE = (
    BASE
    + """
[fakedesk]
url = "https://desk.example.com"
queue = "OPS"

[sync]
targets = ["fakedesk"]
"""
)


@pytest.fixture
def fakedesk() -> Iterator[platforms.PlatformSpec]:
    platforms.register(FAKE)
    try:
        yield FAKE
    finally:
        platforms.unregister(FAKE.name)


def load(text: str, tmp_path: Path) -> config.Config:
    f = tmp_path / "c.toml"
    f.write_text(text)
    return config.load(f)


def problems(text: str, tmp_path: Path) -> dict[str, str]:
    """key path -> message of every problem config validation finds in `text`."""
    with pytest.raises(ConfigError) as exc:
        load(text, tmp_path)
    return {p.key_path: p.message for p in exc.value.problems}


def test_a_platform_not_registered_is_refused_by_config_validation(tmp_path):
    found = problems(WITH_FAKE, tmp_path)
    assert "unknown platform 'fakedesk'" in found["sync.targets[0]"]
    assert "unknown key" in found["fakedesk"]


def test_a_registered_platform_gets_its_config_table_validated_by_its_own_model(fakedesk, tmp_path):
    cfg = load(WITH_FAKE, tmp_path)
    section = cfg.settings.section("fakedesk")
    assert isinstance(section, FakeDeskSettings) and section.queue == "OPS"
    assert cfg.settings.sync.targets == ["fakedesk"]
    found = problems(WITH_FAKE.replace('queue = "OPS"', 'queu = "OPS"'), tmp_path)
    assert "did you mean 'queue'" in found["fakedesk.queu"]
    assert found["fakedesk.queue"] == "required key is missing"


def test_a_registered_platform_takes_taxonomy_values_and_a_mapping_table_of_its_own(fakedesk, tmp_path):
    text = (
        WITH_FAKE.replace('servicenow = "network"\n', 'servicenow = "network"\nfakedesk = "Net"\n')
        + """
[mapping.fakedesk]
unmapped = "pass"
states = { new = ["Fresh"], in_progress = ["Busy"], on_hold = ["Wait"], resolved = ["Done"], closed = ["Shut"], canceled = ["Void"] }
"""
    )
    cfg = load(text, tmp_path)
    assert cfg.taxonomy.categories.platform_values("fakedesk") == {"network": "Net"}
    assert cfg.state_map("fakedesk").to_vendor(State.RESOLVED) == "Done"
    report = mapping_report(cfg)
    assert not [g for g in report["gaps"] if g["platform"] == "fakedesk"]
    assert report["platforms"]["fakedesk"]["unmapped_policy"] == "pass"
    misspelt = problems(text.replace('fakedesk = "Net"', 'fakedes = "Net"'), tmp_path)
    assert "did you mean 'fakedesk'" in misspelt["taxonomy.categories.network.fakedes"]


def test_a_registered_platform_used_by_the_flow_needs_its_table(fakedesk, tmp_path):
    text = WITH_FAKE.replace('[fakedesk]\nurl = "https://desk.example.com"\nqueue = "OPS"\n', "")
    assert any("no [fakedesk] table" in message for message in problems(text, tmp_path).values())


def test_a_publish_only_platform_cannot_be_the_source_or_own_a_field(tmp_path):
    text = BASE + '\n[sync]\nsource = "statuspage"\ntargets = []\n[sync.owners]\nstate = "statuspage"\n'
    found = problems(text, tmp_path)
    assert "'statuspage' is publish-only" in found["sync.source"]
    assert "'statuspage' is publish-only" in found["sync.owners.state"]


def test_mapping_check_lists_a_registered_platform_and_its_gaps(fakedesk, tmp_path):
    report = mapping_report(load(WITH_FAKE, tmp_path))
    entry = report["platforms"]["fakedesk"]
    assert entry["states"]["resolved"] == ["RESOLVED"]  # its spec's default states
    assert entry["unmapped_policy"] == "block"
    assert {
        "platform": "fakedesk",
        "kind": "category",
        "term": "network",
        "missing_key": "taxonomy.categories.network.fakedesk",
    } in report["gaps"]
    assert not report["ok"]


def test_factories_of_a_registered_platform_build_its_connector_and_mapper(fakedesk, tmp_path):
    cfg = load(WITH_FAKE, tmp_path)
    connector = build("fakedesk", cfg, session="s")
    assert isinstance(connector, FakeDeskConnector) and connector.kw == {"session": "s"}
    assert isinstance(mapper_for("fakedesk", cfg), FakeDeskMapper)


def test_reconcile_compares_and_writes_a_registered_platform_on_the_fields_it_carries(fakedesk):
    assert compared("fakedesk") == ("title", "state", "category")  # priority is derived, never merged
    assert shows_priority("fakedesk") and not platforms.own_writer_pool("fakedesk")
    incident = Incident(
        key="INC1",
        title="Down",
        state=State.IN_PROGRESS,
        impact=Level.HIGH,
        urgency=Level.HIGH,
        category="network",
        assignment_group="ops",
    )
    assert carried("fakedesk", incident) == {"title": "Down", "state": "in_progress", "category": "network"}
    side = Side("servicenow", incident, "1", {"platform": "servicenow", "id": "a1"})
    out = reconcile(
        "INC1",
        None,
        {"servicenow": side},
        {},
        source="servicenow",
        targets=["fakedesk"],
        owners={},
        matrix=PriorityMatrix(),
        rules=(),
    )
    assert [(a.kind, a.platform) for a in out.actions] == [("create", "fakedesk"), ("transition", "fakedesk")]


def test_a_platform_name_is_registered_once_and_built_in_ones_stay():
    with pytest.raises(ValueError, match="already registered"):
        platforms.register(platforms.spec("jira"))
    with pytest.raises(ValueError, match="built in"):
        platforms.unregister("jira")
    with pytest.raises(ValueError, match="unknown platform 'nope'; platforms are servicenow, jira, statuspage"):
        platforms.spec("nope")


def test_every_built_in_factory_path_resolves():
    for spec in platforms.specs():
        assert callable(spec.connector_factory()) and callable(spec.mapper_factory())
        assert spec.name in Settings.model_fields  # typed attribute for the built-in tables
        assert spec.settings_model() in _annotation_types(Settings.model_fields[spec.name].annotation)


def test_which_fields_a_platform_carries_is_decided_by_its_spec_alone():
    from itsm_bridge.mapping.jira import CARRIES

    jira = platforms.spec("jira")
    assert CARRIES is jira.carries
    assert set(compared("jira")) < jira.carries and "impact" not in compared("jira")
    assert compared("statuspage") == ()  # publish-only: planned by the publisher, never merged


def _annotation_types(annotation: Any) -> tuple[Any, ...]:
    return getattr(annotation, "__args__", (annotation,))


class ThreadNotingConnector(FakeConnector):
    """A fake platform that notes the thread each of its writes runs on."""

    def __init__(self, name: str, **kw: Any) -> None:
        super().__init__(name, **kw)
        self.threads: set[str] = set()

    def create(self, fields: dict[str, Any], correlation_key: str) -> Written:
        self.threads.add(threading.current_thread().name)
        return super().create(fields, correlation_key)

    def create_many(self, items: list[NewIssue]) -> list[RemoteRef | BridgeError]:
        self.threads.add(threading.current_thread().name)
        return super().create_many(items)

    def transition(self, ref: RemoteRef, state: State, fields: Any = None) -> Written:
        self.threads.add(threading.current_thread().name)
        return super().transition(ref, state, fields)


def test_the_engine_syncs_to_a_registered_platform_on_its_own_writer_pool(tmp_path):
    spec = dataclasses.replace(FAKE, own_writer_pool=True)
    platforms.register(spec)
    try:
        cfg = load(WITH_FAKE.replace('queue = "OPS"', 'queue = "OPS"\noverlap_s = 0'), tmp_path)
        clock = Clock()
        snow, desk = FakeConnector("servicenow", clock=clock), ThreadNotingConnector("fakedesk", clock=clock)
        snow.add(incident_fields(Incident("INC1", title="Mail is down", state=State.IN_PROGRESS)), key="INC1")
        store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
        connectors: dict[str, Any] = {"servicenow": snow, "fakedesk": desk}
        Engine(cfg, store, connectors, mappers={p: FakeMapper(p) for p in connectors}, now=clock).sync()
    finally:
        platforms.unregister(spec.name)
    [record] = desk.records.values()
    assert record["title"] == "Mail is down" and record["state"] == "in_progress"
    assert desk.threads and all(name.startswith("fakedesk") for name in desk.threads)
