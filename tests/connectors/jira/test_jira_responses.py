"""Exact Jira requests: JQL text, nextPageToken paging, ADF bodies, comment properties,
transition ids, lost creates, bulk partial errors, rate limits (`responses`)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
import requests
import responses
from responses import matchers

from itsm_bridge.config import Config, load
from itsm_bridge.connectors.base import NewIssue
from itsm_bridge.connectors.jira import JiraConnector
from itsm_bridge.connectors.jira.adf import text_to_adf
from itsm_bridge.connectors.jira.meta import MissingRequiredFields
from itsm_bridge.connectors.jira.records import jql_value
from itsm_bridge.errors import AuthError, RateLimited, RemoteValidation, Transient, TransitionNotAllowed
from itsm_bridge.model import Comment, RemoteRef, State, Visibility
from itsm_bridge.watermark import Watermark, seen_key

BASE = "https://acme.atlassian.net"
API = f"{BASE}/rest/api/3"
TOKEN = "jira-token-not-to-be-seen-7"
FIELDS = [
    "summary",
    "description",
    "status",
    "priority",
    "resolution",
    "labels",
    "created",
    "updated",
    "resolutiondate",
    "assignee",
    "reporter",
    "comment",
    "components",
    "customfield_10051",
    "customfield_10052",  # the example config's group field
]


def jira_config(url: str, **jira: object) -> Config:
    """The example config with [jira] pointed at `url` (and any settings replaced)."""
    cfg = load("config.example.toml")
    settings = cfg.settings.jira.model_copy(update={"url": url, "requests_per_second": 1000.0, **jira})
    return Config(cfg.settings.model_copy(update={"jira": settings}), cfg.path)


class FakeTime:
    """A clock that only moves when slept on; records every wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now

    def waits(self) -> list[float]:
        return [s for s in self.sleeps if s >= 0.05]  # not the rate budget's millisecond spacing


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def jira(monkeypatch, fake) -> JiraConnector:
    monkeypatch.setenv("ITSM_SANDBOX_JIRA_TOKEN", TOKEN)
    return JiraConnector(
        jira_config(BASE, search_lag_s=30.0, workers=1), sleep=fake.sleep, clock=fake.clock
    )  # requests in order


def issue(n: int, updated: str = "2024-05-01T10:16:00.000+0000", status: str = "Open", **fields: object) -> dict:
    f = {
        "summary": f"issue {n}",
        "description": text_to_adf(f"text {n}"),
        "status": {"name": status},
        "priority": {"name": "High"},
        "labels": [f"itsm-bridge-K{n}"],
        "components": [{"name": "Network"}],
        "updated": updated,
        "created": "2024-05-01T09:00:00.000+0000",
        "comment": {"comments": [], "total": 0, "maxResults": 50, "startAt": 0},
        **fields,
    }
    return {"id": str(10000 + n), "key": f"OPS-{n}", "fields": f}


def add_server(myself_zone: str = "UTC") -> None:
    responses.get(f"{API}/serverInfo", json={"versionNumbers": [1001, 0, 0], "deploymentType": "Cloud"})
    responses.get(f"{API}/myself", json={"accountId": "a1", "displayName": "Bridge", "timeZone": myself_zone})


def add_createmeta(required: tuple[str, ...] = ("project", "issuetype", "summary")) -> None:
    responses.get(
        f"{API}/issue/createmeta/OPS/issuetypes",
        json={
            "issueTypes": [{"id": "10002", "name": "Task"}, {"id": "10001", "name": "[System] Incident"}],
            "total": 2,
            "startAt": 0,
            "maxResults": 50,
        },
    )
    fields = [
        {"fieldId": f, "name": f.title(), "required": f in required, "hasDefaultValue": False}
        for f in ("project", "issuetype", "summary", "description", "priority", "components", "customfield_10077")
    ]
    fields[4]["allowedValues"] = [
        {"id": str(i), "name": n} for i, n in enumerate(("Highest", "High", "Medium", "Low"), 1)
    ]
    responses.get(
        f"{API}/issue/createmeta/OPS/issuetypes/10001", json={"fields": fields, "total": len(fields), "startAt": 0}
    )


def body(call: responses.Call) -> dict:
    return json.loads(call.request.body)


@responses.activate
def test_changed_since_pins_jql_in_the_user_zone_fields_and_follows_next_page_token(jira):
    add_server("Europe/Berlin")
    jql = 'project = "OPS" AND updated >= "2024/05/01 12:15" ORDER BY updated ASC, key ASC'
    first = {"jql": jql, "maxResults": 100, "fields": FIELDS, "properties": ["itsm-bridge"]}
    responses.post(
        f"{API}/search/jql",
        match=[matchers.json_params_matcher(first)],
        json={"issues": [issue(1), issue(2)], "nextPageToken": "tok-2", "isLast": False},
    )
    responses.post(
        f"{API}/search/jql",
        match=[matchers.json_params_matcher({**first, "nextPageToken": "tok-2"})],
        json={"issues": [issue(2), issue(3, "2024-05-01T10:17:00.000+0000")], "isLast": True},
    )
    # 10:17:42 UTC minus the 120 s overlap = 10:15:42 UTC = 12:15 in Berlin, truncated to the minute.
    mark = Watermark(
        datetime(2024, 5, 1, 10, 17, 42, tzinfo=UTC),
        {seen_key("10001", "2024-05-01T10:16:00.000+0000"): datetime(2024, 5, 1, 10, 16, tzinfo=UTC)},
    )
    records = list(jira.changed_since(mark))
    assert [r.ref.display for r in records] == ["OPS-2", "OPS-3"]  # OPS-1 applied; OPS-2 once only
    rec = records[0]
    assert rec.correlation_key == "K2" and rec.version == "2024-05-01T10:16:00.000+0000"
    assert rec.fields["description"] == "text 2" and rec.fields["status"] == "Open"
    assert rec.fields["components"] == ["Network"] and rec.updated == datetime(2024, 5, 1, 10, 16, tzinfo=UTC)
    assert not any(c.request.url.split("?")[0].endswith("/rest/api/3/search") for c in responses.calls)


@responses.activate
def test_first_read_has_no_time_clause(jira):
    add_server()
    responses.post(f"{API}/search/jql", json={"issues": [], "isLast": True})
    assert list(jira.changed_since(None)) == []
    assert body(responses.calls[-1])["jql"] == 'project = "OPS" ORDER BY updated ASC, key ASC'


@responses.activate
def test_a_read_to_the_end_is_complete_to_when_the_search_began_less_the_lag(jira):
    add_server()
    date = {"Date": "Wed, 01 May 2024 10:30:00 GMT"}
    responses.post(
        f"{API}/search/jql", json={"issues": [issue(1)], "nextPageToken": "t", "isLast": False}, headers=date
    )
    responses.post(f"{API}/search/jql", json={"issues": [issue(2)], "isLast": True}, headers=date)
    whole = jira.changed_since(None)
    assert whole.complete_to is None  # nothing read yet
    assert [r.ref.display for r in whole] == ["OPS-1", "OPS-2"]
    assert whole.complete_to == datetime(2024, 5, 1, 10, 29, 29, tzinfo=UTC)  # 30 s search lag + 1 s
    cut = jira.changed_since(None)
    next(iter(cut))
    assert cut.complete_to is None  # cut short: it promises nothing


def test_jql_values_are_quoted_so_a_quote_or_backslash_cannot_break_out():
    assert jql_value('x" OR project = "Y') == '"x\\" OR project = \\"Y"'
    assert jql_value("a\\") == '"a\\\\"'  # a trailing backslash cannot escape the closing quote
    assert jql_value("line\nbreak") == '"line\\nbreak"'


@responses.activate
def test_find_searches_by_label_and_rejects_keys_unusable_in_a_label(jira):
    responses.post(f"{API}/search/jql", json={"issues": [issue(7)], "isLast": True})
    found = jira.find("K7")
    assert found is not None and found.ref == RemoteRef("jira", "10007", "OPS-7")
    sent = body(responses.calls[0])
    assert sent["jql"] == 'project = "OPS" AND labels = "itsm-bridge-K7" ORDER BY key ASC'
    with pytest.raises(RemoteValidation):
        jira.find('K7" OR labels = "x')
    assert len(responses.calls) == 1


@responses.activate
def test_create_sends_adf_description_label_property_issue_type_id_and_cut_summary(jira):
    add_createmeta()
    responses.post(f"{API}/issue", status=201, json={"id": "10042", "key": "OPS-42", "self": f"{API}/issue/10042"})
    long_title = "x" * 300
    fields = {
        "summary": long_title,
        "description": "see https://s.example/1\n@all *not bold*",
        "priority": {"name": "High"},
        "resolution": {"name": "Done"},
        "customfield_10051": {"value": "Email", "child": {"value": "Exchange"}},  # a plain select: no child
        "update": {"components": [{"remove": {"name": "VPN"}}, {"add": {"name": "Network"}}]},
    }
    assert jira.create(fields, "INC0010001") == RemoteRef("jira", "10042", "OPS-42")
    assert len(responses.calls) == 3  # createmeta twice, then the create: nothing read back
    sent = body(responses.calls[2])
    assert sent == {
        "fields": {
            "project": {"key": "OPS"},
            "issuetype": {"id": "10001"},
            "summary": "x" * 254 + "…",
            "description": {
                "type": "doc",
                "version": 1,
                "content": [
                    {
                        "type": "paragraph",
                        "content": [
                            {"type": "text", "text": "see "},
                            {
                                "type": "text",
                                "text": "https://s.example/1",
                                "marks": [{"type": "link", "attrs": {"href": "https://s.example/1"}}],
                            },
                            {"type": "hardBreak"},
                            {"type": "text", "text": "@all *not bold*"},
                        ],
                    }
                ],
            },
            "priority": {"name": "High"},
            "customfield_10051": {"value": "Email"},
            "labels": ["itsm-bridge-INC0010001"],
            "components": [{"name": "Network"}],
        },
        "properties": [{"key": "itsm-bridge", "value": {"key": "INC0010001"}}],
    }
    assert len(sent["fields"]["summary"]) == 255


@responses.activate
def test_a_required_createmeta_field_left_empty_is_a_finding_and_no_create_is_sent(jira):
    add_createmeta(required=("project", "issuetype", "summary", "customfield_10077"))
    with pytest.raises(MissingRequiredFields) as exc:
        jira.create({"summary": "t"}, "K1")
    (finding,) = exc.value.findings
    assert finding.field == "customfield_10077" and finding.blocking and finding.key == "K1"
    assert not any(c.request.method == "POST" for c in responses.calls)


@responses.activate
def test_a_lost_create_is_looked_up_with_backoff_and_not_sent_again_when_found(jira, fake):
    add_createmeta()
    responses.post(f"{API}/issue", body=requests.exceptions.ConnectionError("Connection aborted"))
    responses.post(f"{API}/search/jql", json={"issues": [], "isLast": True})
    responses.post(f"{API}/search/jql", json={"issues": [], "isLast": True})
    responses.post(f"{API}/search/jql", json={"issues": [issue(5)], "isLast": True})
    assert jira.create({"summary": "t"}, "K5").display == "OPS-5"
    assert [c.request.method for c in responses.calls].count("POST") == 4  # one create, three searches
    assert len(fake.waits()) == 2 and fake.waits()[1] > fake.waits()[0]  # backing off between looks


@responses.activate
def test_a_lost_create_not_found_once_the_search_lag_has_passed_is_created_again(jira, fake):
    add_createmeta()
    responses.post(f"{API}/issue", body=requests.exceptions.ConnectionError("Connection aborted"))
    responses.post(f"{API}/issue", status=201, json={"id": "10006", "key": "OPS-6"})
    responses.post(f"{API}/search/jql", json={"issues": [], "isLast": True})
    assert jira.create({"summary": "t"}, "K6").id == "10006"
    creates = [c for c in responses.calls if c.request.url == f"{API}/issue"]
    assert len(creates) == 2
    assert 30.0 <= fake.now < 31.0  # the whole configured search lag was waited, no more


@responses.activate
def test_bulk_create_learns_the_start_step_then_sends_50_per_call_with_first_transition_and_no_comment(jira):
    add_createmeta()
    items = [NewIssue({"summary": f"t{i}"}, f"K{i}", State.IN_PROGRESS if i % 2 else State.NEW) for i in range(52)]
    responses.post(f"{API}/issue", status=201, json={"id": "20000", "key": "OPS-0"})  # the first, alone
    responses.get(f"{API}/issue/20000", json={"id": "20000", "fields": {"status": {"name": "Open"}}})
    responses.get(f"{API}/issue/20000/transitions", json=transitions(("11", "Start work", "Work in progress")))
    responses.post(
        f"{API}/issue/bulk",
        json={
            "issues": [{"id": str(20000 + i), "key": f"OPS-{i}"} for i in range(1, 51) if i != 4],
            "errors": [
                {
                    "status": 400,
                    "failedElementNumber": 3,
                    "elementErrors": {"errorMessages": [], "errors": {"priority": "invalid priority"}},
                }
            ],
        },
    )
    responses.post(f"{API}/issue/bulk", json={"issues": [{"id": "20051", "key": "OPS-51"}], "errors": []})
    results = jira.create_many(items)
    bulk = [body(c)["issueUpdates"] for c in responses.calls if c.request.url.endswith("/issue/bulk")]
    assert [len(b) for b in bulk] == [50, 1]
    assert bulk[1][0]["fields"]["labels"] == ["itsm-bridge-K51"]
    assert bulk[0][0]["transition"] == {"id": "11"} and "transition" not in bulk[0][1]  # K1 moves on, K2 stays new
    assert not any("update" in item for chunk in bulk for item in chunk)  # `comment` is on no create screen
    assert isinstance(results[4], RemoteValidation) and results[4].fields == ["priority"]  # K4 carried no transition
    assert [r.id for i, r in enumerate(results) if i != 4] == [str(20000 + i) for i in range(52) if i != 4]
    assert not any(c.request.url.endswith(("/search/jql", "/bulkfetch")) for c in responses.calls)  # nothing read back
    assert jira.statuses.of(RemoteRef("jira", "20001")) == "Work in progress"  # known from the create: no GET


@responses.activate
def test_a_bulk_create_moves_toward_a_status_beyond_the_known_workflow_by_its_first_step(jira):
    add_createmeta()
    jira.restore(
        {
            "zone": "UTC",
            "start_status": "Open",
            "workflow": {
                "Open": [  # nothing known past Open yet
                    {"id": "11", "name": "Start work", "to": "Work in progress", "fields": [], "required": []},
                    {"id": "71", "name": "Cancel", "to": "Canceled", "fields": ["resolution"], "required": []},
                ]
            },
        }
    )
    responses.post(
        f"{API}/issue/bulk", json={"issues": [{"id": "1", "key": "OPS-1"}, {"id": "2", "key": "OPS-2"}], "errors": []}
    )
    responses.post(f"{API}/issue/bulk", json={"issues": [{"id": "3", "key": "OPS-3"}], "errors": []})
    jira.create_many([NewIssue({"summary": "a"}, "K1", State.CLOSED), NewIssue({"summary": "b"}, "K2", State.CANCELED)])
    sent = body(responses.calls[-1])["issueUpdates"]
    assert sent[0]["transition"] == {"id": "11"}  # on its way to Closed, as `transition` would go first
    # Cancel's screen takes a resolution, which a create cannot give (it would land Unresolved):
    # it goes by its own transition, resolution and all.
    assert "transition" not in sent[1]


@responses.activate
def test_a_bulk_create_refused_as_a_whole_gives_each_item_its_own_error_and_raises_nothing(jira):
    add_createmeta()
    jira.restore({"zone": "UTC", "start_status": "Open", "workflow": {}})
    element = {"errorMessages": [], "errors": {"priority": "The priority selected is invalid."}, "status": 400}
    responses.post(
        f"{API}/issue/bulk",
        status=400,
        json={
            "issues": [],
            "errors": [  # Jira's answer when every element is invalid
                {"status": 400, "elementErrors": element, "failedElementNumber": 0},
                {
                    "status": 400,
                    "elementErrors": {**element, "errors": {"summary": "You must specify a summary of the issue."}},
                    "failedElementNumber": 1,
                },
            ],
        },
    )
    results = jira.create_many([NewIssue({"summary": "a"}, "K1"), NewIssue({"summary": "b"}, "K2")])
    assert [type(r) for r in results] == [RemoteValidation, RemoteValidation]  # quarantined by the engine
    assert [r.fields for r in results] == [["priority"], ["summary"]]
    assert "The priority selected is invalid." in str(results[0])
    assert len([c for c in responses.calls if c.request.url.endswith("/issue/bulk")]) == 1  # not sent again


@responses.activate
def test_a_transition_refused_while_riding_a_create_leaves_the_issue_in_the_start_step_and_is_relearned(jira):
    add_createmeta()
    jira.restore(
        {
            "zone": "UTC",
            "start_status": "Open",
            "workflow": {
                "Open": [{"id": "99", "name": "Start work", "to": "Work in progress", "fields": [], "required": []}]
            },
        }
    )  # remembered, now stale
    ride = {
        "status": 400,
        "errorCollection": {"errorMessages": ["Transition id '99' is not valid for this issue."], "errors": {}},
    }
    responses.post(
        f"{API}/issue/bulk",
        status=201,
        json={"issues": [{"id": "30000", "key": "OPS-1", "transition": ride}], "errors": []},
    )
    responses.get(f"{API}/issue/30000/transitions", json=transitions(("11", "Start work", "Work in progress")))
    responses.post(f"{API}/issue/30000/transitions", status=204)
    (result,) = jira.create_many([NewIssue({"summary": "t"}, "K1", State.IN_PROGRESS)])
    assert result == RemoteRef("jira", "30000", "OPS-1")
    assert jira.statuses.of(result) == "Open"  # where it really is: no GET
    assert not jira.workflow.knows("Open")  # the refused ride's step is forgotten
    jira.transition(result, State.IN_PROGRESS)  # the engine's own transition, learned afresh
    assert body(responses.calls[-1]) == {"transition": {"id": "11"}}
    assert len([c for c in responses.calls if c.request.url.endswith("/issue/bulk")]) == 1  # created once


@responses.activate
def test_a_remembered_time_zone_is_used_without_asking_and_rechecked_against_the_offsets_jira_writes(jira):
    jira.restore({"zone": "Australia/Lord_Howe", "start_status": None, "workflow": {}})
    mark = Watermark(datetime(2026, 11, 29, 0, 0, tzinfo=UTC))
    at_howe = {**issue(1), "fields": {**issue(1)["fields"], "updated": "2026-11-29T11:30:00.000+1100"}}
    responses.post(f"{API}/search/jql", json={"issues": [at_howe], "isLast": True})
    assert [r.ref.id for r in jira.changed_since(mark)] == ["10001"]
    assert not any(c.request.url.endswith("/myself") for c in responses.calls)  # the offset agrees: no call
    assert '"2026/11/29 10:' in body(responses.calls[0])["jql"]  # 00:00 UTC less the overlap, in Lord Howe time


@responses.activate
def test_a_remembered_time_zone_that_jira_contradicts_is_read_again_and_the_read_restarted(jira):
    jira.restore({"zone": "Australia/Lord_Howe", "start_status": None, "workflow": {}})
    mark = Watermark(datetime(2026, 11, 29, 0, 0, tzinfo=UTC))
    in_utc = {**issue(1), "fields": {**issue(1)["fields"], "updated": "2026-11-29T00:30:00.000+0000"}}
    responses.post(f"{API}/search/jql", json={"issues": [in_utc], "isLast": True})
    responses.get(f"{API}/myself", json={"accountId": "a", "timeZone": "UTC"})
    assert [r.ref.id for r in jira.changed_since(mark)] == ["10001"]
    searches = [body(c)["jql"] for c in responses.calls if c.request.url.endswith("/search/jql")]
    assert len(searches) == 2 and '"2026/11/28 23:' in searches[1]  # read again, in the zone Jira now says


def transitions(*pairs: tuple[str, str, str], resolution: bool = False) -> dict:
    out = []
    for tid, name, to in pairs:
        t = {"id": tid, "name": name, "to": {"name": to}, "fields": {}}
        if resolution and to == "Resolved":
            t["fields"] = {"resolution": {"required": True, "name": "Resolution"}}
        out.append(t)
    return {"transitions": out}


@responses.activate
def test_a_status_two_transitions_away_is_reached_with_the_resolution_filled(jira):
    responses.get(
        f"{API}/issue/10001",
        match=[matchers.query_param_matcher({"fields": "status"})],
        json={"id": "10001", "fields": {"status": {"name": "Open"}}},
    )
    responses.get(
        f"{API}/issue/10001/transitions",
        match=[matchers.query_param_matcher({"expand": "transitions.fields"})],
        json=transitions(
            ("11", "Start work", "Work in progress"), ("71", "Cancel", "Canceled"), ("21", "Pend", "Pending")
        ),
    )
    responses.get(
        f"{API}/issue/10001/transitions",
        json=transitions(("41", "Resolve", "Resolved"), ("21", "Pend", "Pending"), resolution=True),
    )
    responses.post(f"{API}/issue/10001/transitions", status=204)
    ref = jira.transition(
        RemoteRef("jira", "10001", "OPS-1"), State.RESOLVED, {"resolution": {"name": "Cannot Reproduce"}}
    )
    posts = [body(c) for c in responses.calls if c.request.method == "POST"]
    assert posts == [
        {"transition": {"id": "11"}},
        {"transition": {"id": "41"}, "fields": {"resolution": {"name": "Cannot Reproduce"}}},
    ]
    assert (
        ref.id == "10001" and [c.request.method for c in responses.calls].count("GET") == 3
    )  # status, two transition lists
    # The graph is learned: the same move on another issue goes straight along the known path.
    assert [t.id for t in jira.workflow.path("Open", {"resolved"}) or []] == ["11", "41"]


@responses.activate
def test_resolution_defaults_from_the_mapping_and_no_path_is_transition_not_allowed(jira):
    responses.get(f"{API}/issue/10002", json={"id": "10002", "fields": {"status": {"name": "Work in progress"}}})
    responses.get(f"{API}/issue/10002/transitions", json=transitions(("41", "Resolve", "Resolved"), resolution=True))
    responses.post(f"{API}/issue/10002/transitions", status=204)
    jira.transition(RemoteRef("jira", "10002"), State.RESOLVED)
    assert body(responses.calls[2]) == {"transition": {"id": "41"}, "fields": {"resolution": {"name": "Done"}}}
    responses.get(f"{API}/issue/10003", json={"id": "10003", "fields": {"status": {"name": "Closed"}}})
    responses.get(f"{API}/issue/10003/transitions", json={"transitions": []})
    with pytest.raises(TransitionNotAllowed, match="no path from status 'Closed'"):
        jira.transition(RemoteRef("jira", "10003"), State.IN_PROGRESS)


@responses.activate
def test_internal_comments_carry_the_sd_public_comment_property_and_the_marker(jira):
    add_server()
    responses.post(f"{API}/issue/10001/comment", status=201, json={"id": "1", "body": {}})
    when = datetime(2024, 5, 1, tzinfo=UTC)
    jira.add_comment(
        RemoteRef("jira", "10001"), Comment("Ana", "checked logs", when, Visibility.INTERNAL, "servicenow")
    )
    jira.add_comment(RemoteRef("jira", "10001"), Comment("Ana", "we are on it", when, Visibility.PUBLIC, "servicenow"))
    internal, public = [body(c) for c in responses.calls if c.request.url.endswith("/comment")]
    assert internal == {
        "body": text_to_adf("[itsm-bridge] (servicenow) checked logs"),
        "properties": [{"key": "sd.public.comment", "value": {"internal": True}}],
    }
    assert public == {"body": text_to_adf("[itsm-bridge] (servicenow) we are on it")}


@responses.activate
def test_comments_read_back_with_visibility_and_ours_are_not_imported(jira):
    add_server()  # `myself`: the API user, accountId a1
    bridge = {"accountId": "a1", "displayName": "Bridge"}
    comment_page = {
        "comments": [
            {
                "id": "1",
                "body": text_to_adf("from a person"),
                "created": "2024-05-01T10:00:00.000+0000",
                "author": {"displayName": "Ana", "accountId": "b2"},
                "jsdPublic": False,
            },
            {
                "id": "2",
                "body": text_to_adf("[itsm-bridge] (servicenow) echo"),
                "created": "2024-05-01T10:01:00.000+0000",
                "author": bridge,
                "jsdPublic": True,
            },
            {
                "id": "3",
                "body": text_to_adf("to the customer"),
                "created": "2024-05-01T10:02:00.000+0000",
                "properties": [{"key": "sd.public.comment", "value": {"internal": False}}],
            },
            {
                "id": "4",
                "body": text_to_adf("[itsm-bridge] (servicenow:9f0c) Ana: copied"),
                "created": "2024-05-01T10:03:00.000+0000",
                "author": bridge,
                "jsdPublic": False,
            },
            {
                "id": "5",
                "body": text_to_adf("[itsm-bridge] (servicenow:9f0c) pasted by a person"),
                "created": "2024-05-01T10:04:00.000+0000",
                "author": {"displayName": "Ana", "accountId": "b2"},
                "jsdPublic": False,
            },
        ],
        "total": 5,
    }
    responses.get(f"{API}/issue/10001", json=issue(1, comment=comment_page))
    rec = jira.get(RemoteRef("jira", "10001"))
    assert [(c.id, c.body, c.visibility, c.author) for c in rec.comments] == [
        ("1", "from a person", Visibility.INTERNAL, "Ana"),
        ("3", "to the customer", Visibility.PUBLIC, ""),
        ("5", "[itsm-bridge] (servicenow:9f0c) pasted by a person", Visibility.INTERNAL, "Ana"),
    ]
    assert rec.copied == ("9f0c",)  # the note our copy names: a fresh store does not copy it again
    # the embedded page was complete and said each comment's visibility; `myself` is read once
    assert [c.request.url.split("?")[0].rsplit("/", 1)[-1] for c in responses.calls] == ["10001", "myself"]


@responses.activate
def test_a_comment_s_answer_names_the_api_user_so_its_own_copies_are_known_without_myself(jira):
    bridge = {"accountId": "a1", "displayName": "Bridge"}
    responses.post(f"{API}/issue/10001/comment", status=201, json={"id": "7", "author": bridge, "body": {}})
    assert jira.known_account() is None
    when = datetime(2024, 5, 1, tzinfo=UTC)
    jira.add_comment(RemoteRef("jira", "10001"), Comment("Ana", "paged", when, Visibility.INTERNAL, "servicenow"))
    assert jira.known_account() == frozenset({"a1"})
    assert jira.facts()["account"] == ["a1"]  # kept for the next run and for serve's receivers
    assert [c.request.url.rsplit("/", 1)[-1] for c in responses.calls] == ["comment"]  # no `myself`


@responses.activate
def test_update_sends_only_given_fields_and_never_resolution_or_status(jira):
    responses.put(f"{API}/issue/10001", status=204)
    responses.get(f"{API}/issue/10001", json=issue(1))
    jira.update(
        RemoteRef("jira", "10001"),
        {"description": "new", "resolution": {"name": "Done"}, "update": {"labels": [{"add": "VPN"}]}},
    )
    assert body(responses.calls[0]) == {
        "fields": {"description": text_to_adf("new")},
        "update": {"labels": [{"add": "VPN"}]},
    }


@responses.activate
def test_429_without_retry_after_backs_off_from_2s_doubling_and_logs_the_reason(jira, fake, caplog):
    add_server()
    for _ in range(2):
        responses.post(
            f"{API}/search/jql",
            status=429,
            json={},
            headers={"RateLimit-Reason": "jira-burst-based", "X-RateLimit-Reset": "2999-01-01T00:00Z"},
        )
    responses.post(f"{API}/search/jql", json={"issues": [], "isLast": True})
    with caplog.at_level(logging.INFO, logger="itsm_bridge.http"):
        assert list(jira.changed_since(None)) == []
    waits = [s for s in fake.waits() if s >= 1.0]
    assert len(waits) >= 2 and 1.4 <= waits[0] <= 2.6 and 2.8 <= waits[-1] <= 5.2
    assert "jira-burst-based" in caplog.text


@responses.activate
def test_429_storm_gives_up_after_four_retries(jira):
    responses.post(f"{API}/search/jql", status=429, json={})
    with pytest.raises(RateLimited):
        list(jira.search('project = "OPS"'))
    assert len(responses.calls) == 5


@responses.activate
def test_doctor_signs_in_through_python_jira_whose_errors_never_carry_the_credentials(jira):
    responses.get(f"{API}/serverInfo", json={"versionNumbers": [1001, 0, 0], "deploymentType": "Cloud"})
    responses.get(f"{API}/myself", status=403, json={"errorMessages": ["Current user may not sign in"]})
    (result,) = jira.check()
    assert (result.check, result.ok) == ("credentials", False) and "403" in result.detail
    assert "Current user may not sign in" in result.detail
    assert "Basic" not in result.detail + result.fix and TOKEN not in result.detail + result.fix  # no request headers
    assert [c.request.url for c in responses.calls] == [f"{API}/serverInfo", f"{API}/myself"]
    assert responses.calls[0].request.headers["Authorization"].startswith("Basic ")
    assert jira.calls == 0  # python-jira's own session: not the sync's budget


@responses.activate
def test_a_personal_access_token_is_sent_as_bearer(monkeypatch, fake):
    monkeypatch.setenv("JIRA_TEST_PAT", "pat-123")
    conn = JiraConnector(
        jira_config(BASE, token_env=None, email=None, pat_env="JIRA_TEST_PAT"), sleep=fake.sleep, clock=fake.clock
    )
    responses.get(f"{API}/issue/10001", json=issue(1))
    conn.get(RemoteRef("jira", "10001"))
    assert responses.calls[0].request.headers["Authorization"] == "Bearer pat-123"


@responses.activate
def test_refused_credentials_fail_check_and_raise_auth_error(jira):
    responses.get(f"{API}/serverInfo", status=401, json={"errorMessages": ["Client must be authenticated"]})
    (result,) = jira.check()
    assert not result.ok and result.check == "credentials" and TOKEN not in result.detail + result.fix
    responses.get(f"{API}/issue/1", status=401, json={"errorMessages": ["Client must be authenticated"]})
    with pytest.raises(AuthError) as exc:
        jira.get(RemoteRef("jira", "1"))
    assert exc.value.exit_code == 4


@responses.activate
def test_check_covers_project_issue_type_required_fields_statuses_and_priorities(jira):
    add_server()
    add_createmeta(required=("project", "issuetype", "summary", "customfield_10077"))
    responses.get(f"{API}/project/OPS", json={"id": "10000", "key": "OPS", "name": "Operations"})
    responses.get(
        f"{API}/project/OPS/statuses",
        json=[
            {
                "name": "[System] Incident",
                "statuses": [{"name": n} for n in ("Open", "Work in progress", "Pending", "Resolved", "Closed")],
            }
        ],
    )
    responses.post(f"{API}/search/jql", json={"issues": [issue(1)], "isLast": True})
    responses.get(f"{API}/issue/10001/transitions", json=transitions(("11", "Start work", "Work in progress")))
    results = {r.check: r for r in jira.check()}
    assert not any(c.request.url.startswith(f"{API}/priority") for c in responses.calls)  # deprecated: not called
    assert [k for k, r in results.items() if r.ok] == ["credentials", "project", "issue type"]
    assert "Customfield_10077 (customfield_10077)" in results["required fields"].detail
    assert results["statuses"].detail == "not in the workflow: Canceled"
    assert results["priorities"].detail == "no such priority: P5=Lowest"


@responses.activate
def test_a_description_or_note_over_jiras_limit_is_sent_cut_with_a_visible_note(jira):
    from itsm_bridge.connectors.jira.adf import TEXT_LIMIT, adf_size, adf_to_text

    add_createmeta()
    long = "é" * 40000  # escaped in JSON: six characters each as measured
    responses.post(f"{API}/issue", status=201, json={"id": "1", "key": "OPS-1"})
    responses.post(f"{API}/issue/1/comment", status=201, json={"id": "9"})
    ref = jira.create({"summary": "long", "description": long}, "K1")
    jira.add_comment(ref, Comment("ana", long, datetime(2026, 1, 1, tzinfo=UTC), Visibility.PUBLIC))
    description = body(responses.calls[-2])["fields"]["description"]
    note = body(responses.calls[-1])["body"]
    for doc in (description, note):
        assert TEXT_LIMIT - 200 < adf_size(doc) <= TEXT_LIMIT
        assert adf_to_text(doc).endswith("more characters are in the source record; Jira keeps at most 32,767]")


@responses.activate
def test_a_bulk_element_failing_with_a_server_error_is_transient_not_a_refusal(jira):
    add_createmeta()
    jira.restore({"zone": "UTC", "start_status": "Open", "workflow": {}})
    responses.post(
        f"{API}/issue/bulk",
        status=201,
        json={
            "issues": [{"id": "1", "key": "OPS-1"}],
            "errors": [
                {
                    "status": 503,
                    "elementErrors": {"errorMessages": ["Service unavailable"], "errors": {}},
                    "failedElementNumber": 1,
                }
            ],
        },
    )
    results = jira.create_many([NewIssue({"summary": "a"}, "K1"), NewIssue({"summary": "b"}, "K2")])
    assert results[0] == RemoteRef("jira", "1", "OPS-1")
    assert isinstance(results[1], Transient) and results[1].disposition == "retry"  # tried again next run
