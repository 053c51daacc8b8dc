"""The shared connector conformance suite, run against the Jira sandbox."""

from __future__ import annotations

import json

import pytest
import requests

from itsm_bridge.connectors.jira import JiraConnector
from itsm_bridge.connectors.jira.adf import adf_to_text, text_to_adf
from itsm_bridge.connectors.jira.records import is_internal
from itsm_bridge.model import RemoteRef, State, Visibility
from itsm_bridge.sandbox.jira.api import JiraPlatform
from itsm_bridge.sandbox.server import serve, stop
from tests.connectors.conformance import ConnectorConformance, Harness
from tests.connectors.jira.test_jira_responses import jira_config

EXTRA = {"category_field": "customfield_10050", "service_field": "customfield_10051", "search_lag_s": 1.0}


@pytest.fixture
def platform(monkeypatch):
    jira = JiraPlatform(seed=0)
    jira.search_lag_s = 0.2
    served = serve(jira)
    monkeypatch.setenv("ITSM_SANDBOX_JIRA_TOKEN", jira.credentials()["token"])
    yield jira
    stop([served])


class TestJiraConformance(ConnectorConformance):
    @pytest.fixture
    def harness(self, platform: JiraPlatform, monkeypatch) -> Harness:
        creds = platform.credentials()
        conn = JiraConnector(jira_config(platform.base_url, email=creds["email"], **EXTRA))

        def bad() -> JiraConnector:
            monkeypatch.setenv("JIRA_WRONG_TOKEN", "not-the-token")
            return JiraConnector(
                jira_config(platform.base_url, email=creds["email"], token_env="JIRA_WRONG_TOKEN", **EXTRA)
            )

        def insert(title: str) -> RemoteRef:
            key = platform.create_issue({"summary": title})
            platform.reindex()
            return RemoteRef("jira", str(platform.issue(key)["id"]), key)

        def add_note(ref: RemoteRef, text: str, visibility: Visibility) -> None:
            body = {
                "body": text_to_adf(text),
                "properties": [{"key": "sd.public.comment", "value": {"internal": visibility is Visibility.INTERNAL}}],
            }
            requests.post(
                f"{platform.base_url}/rest/api/3/issue/{ref.id}/comment",
                json=body,
                auth=(creds["email"], creds["token"]),
                timeout=5,
            ).raise_for_status()

        def notes(ref: RemoteRef) -> list[tuple[str, Visibility]]:
            return [
                (adf_to_text(c["body"]), Visibility.INTERNAL if is_internal(c) else Visibility.PUBLIC)
                for c in platform.comments(ref.display)
            ]

        def last_write_fields() -> set[str]:
            writes = [c for c in platform.call_log.calls() if c.method == "PUT" and "/rest/api/3/issue/" in c.path]
            body = json.loads(writes[-1].body)
            return set(body.get("fields") or {}) | set(body.get("update") or {})

        return Harness(
            connector=conn,
            bad_connector=bad,
            insert=insert,
            create_fields=lambda title: {"summary": title, "priority": {"name": "High"}},
            title_of=lambda r: r.fields["summary"],
            state_of=lambda r: conn.state_map.from_vendor(r.fields["status"] or ""),
            add_note=add_note,
            notes_on_platform=notes,
            last_write_fields=last_write_fields,
            resolve_state=State.RESOLVED,
            resolve_fields={"resolution": {"name": "Done"}},
        )
