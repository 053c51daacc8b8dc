"""The Jira sandbox refuses what Jira Cloud refuses: fields off the create and edit screens, a bulk
create whose every element is invalid, text over 32,767 characters; it never invents a resolution;
bulkfetch, project statuses and the removed createmeta answer as Jira Cloud does."""

from __future__ import annotations

from typing import Any

import requests

from itsm_bridge.sandbox.jira.api import JiraPlatform
from tests.sandbox.jira.test_jira import INCIDENT, adf, create, http, platform, served, url

__all__ = ["http", "platform", "served"]  # the fixtures, shared with test_jira.py

NOT_ON_SCREEN = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
TOO_LONG = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
NOTE = {"body": adf("seen by the team"), "properties": [{"key": "sd.public.comment", "value": {"internal": True}}]}


def long_doc(chars: int) -> dict[str, Any]:
    return adf("x" * chars)


def test_a_create_carrying_a_comment_is_refused_as_off_the_create_screen(
    platform: JiraPlatform, http: requests.Session
) -> None:
    body = {"fields": {**INCIDENT, "summary": "with a note"}, "update": {"comment": [{"add": NOTE}]}}
    answer = http.post(url(platform, "/issue"), json=body)
    assert answer.status_code == 400
    assert answer.json() == {"errorMessages": [], "errors": {"comment": NOT_ON_SCREEN.format("comment")}}
    assert platform.issues() == []


def test_a_bulk_element_carrying_a_comment_is_refused_and_the_others_created(
    platform: JiraPlatform, http: requests.Session
) -> None:
    updates = [
        {"fields": {**INCIDENT, "summary": "plain"}},
        {"fields": {**INCIDENT, "summary": "noted"}, "update": {"comment": [{"add": NOTE}]}},
    ]
    answer = http.post(url(platform, "/issue/bulk"), json={"issueUpdates": updates})
    assert answer.status_code == 201
    assert answer.json()["errors"] == [
        {
            "status": 400,
            "failedElementNumber": 1,
            "elementErrors": {
                "errorMessages": [],
                "errors": {"comment": NOT_ON_SCREEN.format("comment")},
                "status": 400,
            },
        }
    ]
    assert [i["fields"]["summary"] for i in platform.issues()] == ["plain"]


def test_every_field_off_the_configured_create_screen_is_refused(
    platform: JiraPlatform, http: requests.Session
) -> None:
    platform.config.create_screen = ("summary", "issuetype", "project")
    fields = {**INCIDENT, "summary": "s", "priority": {"name": "High"}, "labels": ["a"]}
    answer = http.post(
        url(platform, "/issue"), json={"fields": fields, "update": {"components": [{"add": {"name": "Email"}}]}}
    )
    assert answer.status_code == 400
    assert set(answer.json()["errors"]) == {"priority", "labels"}  # fields first, then the update verbs
    meta = http.get(url(platform, "/issue/createmeta/OPS/issuetypes/10001")).json()["fields"]
    assert [f["fieldId"] for f in meta] == ["summary", "issuetype", "project"]


def test_an_edit_sets_only_what_the_edit_screen_holds_and_may_add_a_comment(
    platform: JiraPlatform, http: requests.Session
) -> None:
    key = create(platform, http, "edit me")
    platform.config.edit_screen = ("summary", "comment")
    refused = http.put(
        url(platform, f"/issue/{key}"), json={"fields": {"summary": "new", "priority": {"name": "High"}}}
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"priority": NOT_ON_SCREEN.format("priority")}
    assert platform.issue(key)["fields"]["summary"] == "edit me"  # nothing of a refused edit is applied
    meta = http.get(url(platform, f"/issue/{key}/editmeta")).json()["fields"]
    assert set(meta) == {"summary", "comment"}
    done = http.put(
        url(platform, f"/issue/{key}"), json={"fields": {"summary": "new"}, "update": {"comment": [{"add": NOTE}]}}
    )
    assert done.status_code == 204 and len(platform.comments(key)) == 1


def test_a_bulk_create_whose_every_element_is_invalid_answers_400_with_each_error(
    platform: JiraPlatform, http: requests.Session
) -> None:
    updates = [{"fields": INCIDENT}, {"fields": {**INCIDENT, "summary": "x", "priority": {"name": "Urgent"}}}]
    answer = http.post(url(platform, "/issue/bulk"), json={"issueUpdates": updates})
    assert answer.status_code == 400
    body = answer.json()
    assert body["issues"] == [] and [e["failedElementNumber"] for e in body["errors"]] == [0, 1]
    assert body["errors"][1]["elementErrors"]["errors"] == {"priority": "The priority selected is invalid."}


def test_a_ridden_transition_sets_no_resolution_so_a_canceled_issue_stays_unresolved(
    platform: JiraPlatform, http: requests.Session
) -> None:
    answer = http.post(
        url(platform, "/issue"), json={"fields": {**INCIDENT, "summary": "cancel me"}, "transition": {"id": "71"}}
    )
    assert answer.status_code == 201 and answer.json()["transition"]["status"] == 200
    fields = platform.issue(answer.json()["key"])["fields"]
    assert fields["status"]["name"] == "Canceled" and fields["resolution"] is None and fields["resolutiondate"] is None


def test_a_transition_sets_the_resolution_only_from_its_screen_and_reopening_clears_it(
    platform: JiraPlatform, http: requests.Session
) -> None:
    key = create(platform, http, "t")
    assert http.post(url(platform, f"/issue/{key}/transitions"), json={"transition": {"id": "71"}}).status_code == 204
    assert platform.issue(key)["fields"]["resolution"] is None  # Cancel's screen was left empty: Unresolved
    other = create(platform, http, "u")
    shown = []
    for step, fields in (
        ("11", {}),
        ("41", {"resolution": {"name": "Duplicate"}}),
        ("61", {}),
        ("41", {"resolution": {"name": "Done"}}),
        ("51", {}),
    ):
        assert (
            http.post(
                url(platform, f"/issue/{other}/transitions"), json={"transition": {"id": step}, "fields": fields}
            ).status_code
            == 204
        )
        shown.append((platform.issue(other)["fields"]["resolution"] or {}).get("name"))
    assert shown == [None, "Duplicate", None, "Done", "Done"]  # Reopen clears it, Close keeps it


def test_bulkfetch_takes_at_most_five_property_keys(platform: JiraPlatform, http: requests.Session) -> None:
    key = create(platform, http, "p")
    five = {"issueIdsOrKeys": [key], "properties": [f"p{i}" for i in range(5)]}
    assert http.post(url(platform, "/issue/bulkfetch"), json=five).status_code == 200
    six = http.post(url(platform, "/issue/bulkfetch"), json={**five, "properties": [f"p{i}" for i in range(6)]})
    assert six.status_code == 400 and six.json()["errorMessages"]


def test_project_statuses_list_the_workflow_per_issue_type(platform: JiraPlatform, http: requests.Session) -> None:
    answer = http.get(url(platform, "/project/OPS/statuses"))
    assert answer.status_code == 200
    incident = next(t for t in answer.json() if t["name"] == "[System] Incident")
    assert [s["name"] for s in incident["statuses"]] == [
        "Open",
        "Work in progress",
        "Pending",
        "Resolved",
        "Closed",
        "Canceled",
    ]
    assert http.get(url(platform, "/project/NOPE/statuses")).status_code == 404


def test_the_removed_createmeta_answers_404_as_on_jira_cloud(platform: JiraPlatform, http: requests.Session) -> None:
    answer = http.get(
        url(platform, "/issue/createmeta"), params={"projectKeys": "OPS", "expand": "projects.issuetypes.fields"}
    )
    assert answer.status_code == 404 and "CHANGE-1304" in answer.json()["errorMessages"][0]


def test_descriptions_and_comments_over_32767_characters_are_refused(
    platform: JiraPlatform, http: requests.Session
) -> None:
    body = {"fields": {**INCIDENT, "summary": "long", "description": long_doc(33000)}}
    refused = http.post(url(platform, "/issue"), json=body)
    assert refused.status_code == 400 and refused.json()["errors"] == {"description": TOO_LONG}
    key = create(platform, http, "short", description=long_doc(32000))  # the document as sent stays under the limit
    edit = http.put(url(platform, f"/issue/{key}"), json={"fields": {"description": long_doc(40000)}})
    assert edit.status_code == 400 and edit.json()["errors"] == {"description": TOO_LONG}
    comment = http.post(url(platform, f"/issue/{key}/comment"), json={"body": long_doc(33000)})
    assert comment.status_code == 400 and comment.json()["errors"] == {"comment": TOO_LONG}
    jsm = http.post(
        f"{platform.base_url}/rest/servicedeskapi/request/{key}/comment", json={"body": "y" * 33000, "public": False}
    )
    assert jsm.status_code == 400 and TOO_LONG in jsm.json()["errorMessage"]
    assert platform.comments(key) == []
