from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from itsm_bridge import config
from itsm_bridge.mapping.servicenow import ServiceNowMapper
from itsm_bridge.model import Incident, Level, Priority, RemoteRef, State
from itsm_bridge.records import RemoteRecord

ROOT = Path(__file__).resolve().parents[2]
CONFIG = config.load(ROOT / "config.example.toml")
MAPPER = ServiceNowMapper(CONFIG)
UPDATED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def record(
    correlation: tuple[str, str] = ("", ""), display: dict[str, str] | None = None, **fields: str
) -> RemoteRecord:
    values = {
        "sys_id": "a" * 32,
        "number": "INC0010001",
        "state": "2",
        "impact": "2",
        "urgency": "2",
        "priority": "3",
        "short_description": "Mail down",
        "category": "software",
        "subcategory": "email",
        "correlation_id": correlation[0],
        "correlation_display": correlation[1],
        **fields,
    }
    key = correlation[0] if correlation[1] == "itsm-bridge" else None
    return RemoteRecord(RemoteRef("servicenow", "a" * 32, "INC0010001"), values, "4", UPDATED, key, display or {})


def test_reads_values_for_logic_and_display_names_for_references():
    rec = record(
        display={"cmdb_ci": "Email", "assignment_group": "Messaging", "assigned_to": "Ana Lima"},
        cmdb_ci="c" * 32,
        assignment_group="g" * 32,
        assigned_to="u" * 32,
        **{"assigned_to.email": "ana.lima@example.com"},
        close_code="Solved (Work Around)",
        close_notes="restarted",
        opened_at="2024-03-01 09:15:00",
        major_incident_state="accepted",
    )
    incident, findings = MAPPER.to_canonical(rec)
    assert findings == []
    assert (incident.key, incident.state, incident.impact, incident.priority) == (
        "INC0010001",
        State.IN_PROGRESS,
        Level.MEDIUM,
        Priority.P3,
    )
    assert (incident.category, incident.subcategory, incident.service) == ("Software", "Email", "Email")
    assert (incident.assignment_group, incident.assignee) == ("Messaging", "ana.lima@example.com")
    assert incident.resolution_code == "Solved Workaround" and incident.major is True
    assert incident.opened == datetime(2024, 3, 1, 9, 15, tzinfo=UTC) and incident.updated == UPDATED


def test_the_key_is_our_correlation_id_only_when_we_set_it():
    assert MAPPER.to_canonical(record(("K-7", "itsm-bridge")))[0].key == "K-7"
    assert MAPPER.to_canonical(record(("EXT-1", "other-tool")))[0].key == "INC0010001"


def test_priority_off_the_matrix_is_a_warning_finding():
    incident, findings = MAPPER.to_canonical(record(impact="1", urgency="1", priority="4"))
    assert incident.priority is Priority.P4
    assert [(f.rule_id, f.severity, f.key) for f in findings] == [("priority.off_matrix", "warn", "INC0010001")]


def test_unmapped_category_and_state_block_the_record():
    _, findings = MAPPER.to_canonical(record(category="facilities", subcategory="", state="42"))
    assert {(f.rule_id, f.severity) for f in findings} == {
        ("state.unmapped", "block"),
        ("taxonomy.unmapped.category", "block"),
    }


def test_to_fields_sends_only_changed_fields_and_never_state_or_priority():
    incident = Incident(
        "K-1",
        "Mail down",
        impact=Level.HIGH,
        urgency=Level.MEDIUM,
        state=State.RESOLVED,
        priority=Priority.P1,
        category="App",
        subcategory="Mail",
        service="Exchange",
    )
    fields, findings = MAPPER.to_fields(incident, ["impact", "subcategory", "state", "priority"])
    assert findings == []
    assert fields == {"impact": "1", "category": "software", "subcategory": "email"}
    everything, _ = MAPPER.to_fields(incident)
    assert everything["cmdb_ci"] == "Email" and "state" not in everything and "priority" not in everything


def test_an_unmapped_service_is_a_blocking_finding_and_not_written():
    fields, findings = MAPPER.to_fields(Incident("K-1", "t", service="Fax"), ["service"])
    assert fields == {} and [f.rule_id for f in findings] == ["taxonomy.unmapped.service"]


def test_times_are_utc_under_a_western_process_time_zone():
    code = (
        "import time; time.tzset()\n"
        "from datetime import UTC, datetime\n"
        "from itsm_bridge import config\n"
        "from itsm_bridge.records import RemoteRecord\n"
        "from itsm_bridge.mapping.servicenow import ServiceNowMapper\n"
        "from itsm_bridge.model import RemoteRef\n"
        f"m = ServiceNowMapper(config.load({str(ROOT / 'config.example.toml')!r}))\n"
        "f = {'number': 'INC1', 'state': '1', 'impact': '3', 'urgency': '3', 'opened_at': '2024-01-15 23:30:00'}\n"
        "r = RemoteRecord(RemoteRef('servicenow', 'x'), f, '0', datetime(2024, 1, 1, tzinfo=UTC))\n"
        "print(m.to_canonical(r)[0].opened.isoformat())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env={"TZ": "America/Los_Angeles"}, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "2024-01-15T23:30:00+00:00"


levels = st.sampled_from(list(Level))
categories = st.sampled_from([("Software", "Email"), ("Hardware", "Disk"), ("Network", "VPN"), ("Inquiry", None)])
codes = st.sampled_from([None, "Solved Permanently", "Not Reproducible"])


@given(levels, levels, categories, codes, st.text(min_size=1, max_size=40).filter(str.strip))
def test_written_fields_read_back_to_the_same_canonical_values(impact, urgency, cat, code, title):
    incident = Incident(
        "K-1",
        title.strip(),
        impact=impact,
        urgency=urgency,
        category=cat[0],
        subcategory=cat[1],
        service="VPN",
        resolution_code=code,
    )
    fields, findings = MAPPER.to_fields(incident)
    assert findings == []
    fields = {**fields, "number": "INC1", "state": "1", "cmdb_ci": "c" * 32}
    back, _ = MAPPER.to_canonical(
        RemoteRecord(RemoteRef("servicenow", "x"), fields, "0", UPDATED, "K-1", {"cmdb_ci": "VPN"})
    )
    assert (back.title, back.impact, back.urgency) == (incident.title, impact, urgency)
    assert (back.category, back.subcategory, back.service, back.resolution_code) == (cat[0], cat[1], "VPN", code)
