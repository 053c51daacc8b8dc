"""The shared connector conformance suite, run against the ServiceNow sandbox."""

from __future__ import annotations

import json

import pytest

from itsm_bridge.mapping.servicenow import ServiceNowMapper
from itsm_bridge.model import RemoteRef, Visibility
from itsm_bridge.sandbox.server import serve, stop
from itsm_bridge.sandbox.servicenow.api import ServiceNowPlatform
from tests.connectors.conformance import ConnectorConformance, Harness
from tests.connectors.servicenow.test_servicenow import connect


@pytest.fixture
def platform():
    p = ServiceNowPlatform(seed=0)
    served = serve(p)
    yield p
    stop([served])


class TestServiceNowConformance(ConnectorConformance):
    @pytest.fixture
    def harness(self, platform: ServiceNowPlatform, monkeypatch: pytest.MonkeyPatch) -> Harness:
        snow = connect(platform, monkeypatch)
        mapper = ServiceNowMapper(snow.config)

        def last_write_fields() -> set[str]:
            writes = [c for c in platform.call_log.calls() if c.method in ("POST", "PATCH")]
            return set(json.loads(writes[-1].body))

        def notes(ref: RemoteRef) -> list[tuple[str, Visibility]]:
            return [
                (n["value"], Visibility.INTERNAL if n["element"] == "work_notes" else Visibility.PUBLIC)
                for n in platform.journal(ref.id)
            ]

        return Harness(
            connector=snow,
            bad_connector=lambda: connect(platform, monkeypatch, password="wrong"),
            insert=lambda title: RemoteRef(
                "servicenow", platform.insert_incident({"short_description": title})["sys_id"]
            ),
            create_fields=lambda title: {
                "short_description": title,
                "impact": "2",
                "urgency": "2",
                "category": "software",
            },
            title_of=lambda r: r.fields["short_description"],
            state_of=lambda r: mapper.to_canonical(r)[0].state,
            add_note=lambda ref, body, vis: platform.update_incident(
                ref.id, {"work_notes" if vis is Visibility.INTERNAL else "comments": body}, user="ana.lima"
            ),
            notes_on_platform=notes,
            last_write_fields=last_write_fields,
            resolve_fields={"close_code": "Solved (Permanently)", "close_notes": "restarted the service"},
        )
