"""JiraMapper: names to canonical values and back, per configured field kind, with findings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from itsm_bridge.config import load
from itsm_bridge.mapping.jira import JiraMapper
from itsm_bridge.model import Incident, Level, Priority, RemoteRef, State
from itsm_bridge.records import RemoteRecord

UPDATED = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def config():
    return load("config.example.toml")  # category in components, service in customfield_10051


def record(**fields) -> RemoteRecord:
    base = {
        "summary": "Mail down",
        "description": "text",
        "status": "Open",
        "priority": "High",
        "resolution": None,
        "labels": ["itsm-bridge-INC1"],
        "components": [],
        "customfield_10051": [],
        "created": UPDATED,
        "updated": UPDATED,
        "resolutiondate": None,
        "assignee": "acc-1",
        "assignee.email": "Ana.Lima@example.com",
        "reporter": None,
    }
    base.update(fields)
    return RemoteRecord(
        RemoteRef("jira", "10001", "OPS-1"),
        base,
        "v",
        UPDATED,
        correlation_key="INC1",
        display={"assignee": "Ana Lima"},
    )


def test_reads_status_priority_category_subcategory_service_and_resolution(config):
    rec = record(
        status="resolved",
        priority="Highest",
        components=["Software", "Email", "Team A"],
        customfield_10051=["Payments API"],
        resolution="Cannot Reproduce",
    )
    inc, findings = JiraMapper(config).to_canonical(rec)
    assert (inc.key, inc.state, inc.priority) == ("INC1", State.RESOLVED, Priority.P1)
    assert (inc.category, inc.subcategory, inc.service) == ("Software", "Email", "Payments API")
    assert inc.resolution_code == "Not Reproducible" and inc.assignee == "ana.lima@example.com"
    assert (inc.impact, inc.urgency) == (Level.HIGH, Level.HIGH)  # the matrix cell of P1
    assert findings == []


def test_unknown_status_blocks_and_unknown_priority_warns(config):
    inc, findings = JiraMapper(config).to_canonical(record(status="Triage", priority="Blocker"))
    by_rule = {f.rule_id: f for f in findings}
    assert by_rule["state.unmapped"].blocking and by_rule["state.unmapped"].key == "INC1"
    assert not by_rule["priority.unmapped"].blocking and inc.priority is None


def test_unknown_component_falls_back_to_the_default_category_with_a_warning(config):
    inc, findings = JiraMapper(config).to_canonical(record(components=["Facilities"]))
    assert inc.category == "Inquiry"
    assert [f.severity for f in findings] == ["warn"]


def test_writes_priority_by_name_summary_and_category_as_component_operations(config):
    inc = Incident(
        key="INC1",
        title="T",
        description="D",
        priority=Priority.P2,
        category="network",
        subcategory="VPN",
        service="Mail",
        resolution_code="Workaround",
    )
    fields, findings = JiraMapper(config).to_fields(inc)
    assert findings == []
    assert fields["summary"] == "T" and fields["description"] == "D"
    assert fields["priority"] == {"name": "High"} and fields["resolution"] == {"name": "Done"}
    assert fields["customfield_10051"] == {"value": "Email"}
    ops = fields["update"]["components"]
    assert ops[-2:] == [{"add": {"name": "Network"}}, {"add": {"name": "VPN"}}]
    assert {"remove": {"name": "Database"}} in ops and {"remove": {"name": "Network"}} not in ops
    assert "status" not in fields and "state" not in fields


def test_only_changed_fields_are_written(config):
    inc = Incident(key="INC1", title="T", priority=Priority.P5, category="Database")
    fields, _ = JiraMapper(config).to_fields(inc, changed=["priority", "state"])
    assert fields == {"priority": {"name": "Lowest"}}


def test_labels_field_keeps_other_labels_and_category_in_custom_field_is_a_cascading_option(config):
    settings = config.settings.model_copy(
        update={
            "jira": config.settings.jira.model_copy(
                update={"category_field": "customfield_10050", "service_field": "labels"}
            )
        }
    )
    cfg = type(config)(settings, config.path)
    mapper = JiraMapper(cfg)
    fields, _ = mapper.to_fields(Incident(key="K", title="t", category="Hardware", subcategory="Disk", service="VPN"))
    assert fields["customfield_10050"] == {"value": "Hardware", "child": {"value": "Disk"}}
    label_ops = fields["update"]["labels"]
    assert {"add": "VPN"} in label_ops and {"remove": "Email"} in label_ops
    inc, findings = mapper.to_canonical(
        record(labels=["itsm-bridge-K", "customer-x", "VPN"], customfield_10050=["Hardware", "Disk"])
    )
    assert (inc.category, inc.subcategory, inc.service, findings) == ("Hardware", "Disk", "VPN", [])


def test_round_trip_of_every_mapped_category_and_service(config):
    mapper = JiraMapper(config)
    for cat in config.taxonomy.categories.terms:
        for svc in config.taxonomy.services.terms:
            fields, _ = mapper.to_fields(Incident(key="K", title="t", category=cat, service=svc))
            comps = [op["add"]["name"] for op in fields["update"]["components"] if "add" in op]
            inc, findings = mapper.to_canonical(
                record(components=comps, customfield_10051=[fields["customfield_10051"]["value"]])
            )
            assert (inc.category, inc.service, findings) == (cat, svc, [])


def test_a_group_in_components_is_the_component_naming_a_group(config):
    from itsm_bridge.config import Config

    jira = config.settings.jira.model_copy(update={"group_field": "components"})
    mapper = JiraMapper(Config(config.settings.model_copy(update={"jira": jira}), config.path))
    inc, findings = mapper.to_canonical(record(components=["Software", "NOC"]))
    assert inc.assignment_group == "Network Operations" and inc.category == "Software" and findings == []
    fields, _ = mapper.to_fields(inc, ["assignment_group"])
    removes = {op["remove"]["name"] for op in fields["update"]["components"] if "remove" in op}
    assert {"add": {"name": "Network Operations"}} in fields["update"]["components"] and "Messaging" in removes
