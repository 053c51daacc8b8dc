"""The sandbox's Atlassian Team field as Jira Cloud has it: createmeta shows the Teams schema type,
create and edit take a known team's id as a string and refuse anything else with 400, reads give
the team object (https://developer.atlassian.com/platform/teams/components/team-field-in-jira-rest-api/)."""

from __future__ import annotations

import pytest
import requests

from itsm_bridge.sandbox.jira.api import JiraPlatform
from itsm_bridge.sandbox.jira.schema import TEAM_FIELD, TEAM_TYPE, team_id
from tests.sandbox.jira.test_jira import INCIDENT, create, http, platform, served, url

__all__ = ["http", "platform", "served"]  # the fixtures, shared with test_jira.py


def test_a_team_id_string_is_set_and_read_back_as_the_team_object(
    platform: JiraPlatform, http: requests.Session
) -> None:
    platform.config.use_team_field()
    meta = http.get(url(platform, "/issue/createmeta/OPS/issuetypes/10001")).json()["fields"]
    assert [f["schema"]["custom"] for f in meta if f["fieldId"] == TEAM_FIELD] == [TEAM_TYPE]
    ident = team_id("Messaging")
    answer = http.post(url(platform, "/issue"), json={"fields": {**INCIDENT, "summary": "t", TEAM_FIELD: ident}})
    assert answer.status_code == 201, answer.text
    issue = http.get(url(platform, f"/issue/{answer.json()['key']}")).json()
    assert issue["fields"][TEAM_FIELD] == {
        "id": ident,
        "name": "Messaging",
        "avatarUrl": "",
        "isVisible": True,
        "title": "Messaging",
        "isShared": True,
    }


@pytest.mark.parametrize("value", [{"id": "TEAM"}, {"value": "TEAM"}, "no-such-team"])
def test_an_edit_giving_the_team_as_an_object_or_an_unknown_id_is_refused(
    platform: JiraPlatform, http: requests.Session, value: object
) -> None:
    platform.config.use_team_field()
    key = create(platform, http, "edit me")
    value = value if isinstance(value, str) else {k: team_id("Messaging") for k in value}  # type: ignore[union-attr]
    answer = http.put(url(platform, f"/issue/{key}"), json={"fields": {TEAM_FIELD: value}})
    assert answer.status_code == 400
    assert answer.json()["errors"] == {TEAM_FIELD: f"Team Id '{value}' is not valid"}
