"""The Jira connector against the Jira sandbox over loopback HTTP: paging at minute precision,
lost creates under a lagging search, multi-step transitions, internal comments, 429 backoff."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from itsm_bridge.connectors.jira import JiraConnector
from itsm_bridge.model import Comment, RemoteRef, State, Visibility
from itsm_bridge.records import ref_of
from itsm_bridge.sandbox.jira.api import JiraPlatform
from itsm_bridge.sandbox.server import serve, stop
from itsm_bridge.watermark import Watermark
from tests.connectors.jira.test_jira_responses import FakeTime, jira_config

CATEGORY, SERVICE = "customfield_10050", "customfield_10051"


@pytest.fixture
def platform(monkeypatch):
    jira = JiraPlatform(seed=0)
    jira.search_lag_s = 0.3
    served = serve(jira)
    monkeypatch.setenv("ITSM_SANDBOX_JIRA_TOKEN", jira.credentials()["token"])
    yield jira
    stop([served])


def connector(platform: JiraPlatform, **settings: object) -> JiraConnector:
    values = {
        "email": platform.credentials()["email"],
        "category_field": CATEGORY,
        "service_field": SERVICE,
        "search_lag_s": 3.0,
        **settings,
    }
    return JiraConnector(jira_config(platform.base_url, **values))


def issue_ref(platform: JiraPlatform, key: str) -> RemoteRef:
    return RemoteRef("jira", str(platform.issue(key)["id"]), key)


def test_300_issues_updated_within_one_minute_are_read_exactly_once(platform):
    minute = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    for i in range(300):
        platform.create_issue({"summary": f"burst {i}"}, updated=minute + timedelta(milliseconds=150 * i))
    platform.reindex()
    jira = connector(platform)
    first = list(jira.changed_since(Watermark(minute + timedelta(seconds=30))))
    assert len(first) == 300 and len({r.ref.id for r in first}) == 300
    assert [r.updated for r in first] == sorted(r.updated for r in first)
    pages = [c for c in platform.call_log.calls() if c.path.endswith("/search/jql")]
    assert len(pages) == 3  # 100 per page, followed by nextPageToken
    # JQL cannot say seconds: the next read sees the same minute again, and skips what was applied.
    mark = Watermark().advance(
        [(r.ref.id, r.version, r.updated) for r in first], [], datetime.now(UTC), timedelta(seconds=120)
    )
    assert list(jira.changed_since(mark)) == []
    platform.edit_issue("OPS-7", {"summary": "changed"}, updated=minute + timedelta(seconds=59))
    platform.reindex()
    assert [r.ref.display for r in jira.changed_since(mark)] == ["OPS-7"]


def test_a_create_whose_response_is_lost_leaves_exactly_one_issue_despite_search_lag(platform):
    platform.search_lag_s = 1.5
    platform.faults.inject("drop_after_commit", method="POST", path=r"/rest/api/3/issue$")
    jira = connector(platform, search_lag_s=4.0)
    started = time.monotonic()
    record = jira.get(ref_of(jira.create({"summary": "lost answer", CATEGORY: {"value": "Network"}}, "INC0090001")))
    assert 1.0 < time.monotonic() - started < 6.0  # found once the index caught up, not after the full 4 s
    assert [i["key"] for i in platform.issues()] == [record.ref.display]
    assert record.correlation_key == "INC0090001"
    creates = [c for c in platform.call_log.calls() if c.method == "POST" and c.path == "/rest/api/3/issue"]
    searches = [c for c in platform.call_log.calls() if c.path.endswith("/search/jql")]
    assert len(creates) == 1 and len(searches) >= 2
    assert platform.properties(record.ref.display)["itsm-bridge"] == {"key": "INC0090001"}


def test_created_issue_is_found_at_once_despite_search_lag(platform):
    platform.search_lag_s = 30.0
    jira = connector(platform)
    created = ref_of(jira.create({"summary": "fresh", SERVICE: {"value": "VPN"}}, "INC0090002"))
    found = jira.find("INC0090002")  # reconcileIssues: read-after-write for what we created
    assert found is not None and found.ref == created and found.fields[SERVICE] == ["VPN"]


def test_a_status_two_and_three_transitions_away_is_reached(platform):
    jira = connector(platform)
    first = platform.create_issue({"summary": "two steps"})
    record = jira.get(jira.transition(issue_ref(platform, first), State.RESOLVED))
    assert record.fields["status"] == "Resolved" and record.fields["resolution"] == "Done"
    second = platform.create_issue({"summary": "three steps"})
    assert jira.get(jira.transition(issue_ref(platform, second), State.CLOSED)).fields["status"] == "Closed"
    posts = [c.body for c in platform.call_log.calls() if c.method == "POST" and c.path.endswith("/transitions")]
    assert len(posts) == 5 and '"41"' in posts[1] and '"resolution"' in posts[1]
    back = platform.create_issue({"summary": "on hold"})
    assert jira.get(jira.transition(issue_ref(platform, back), State.ON_HOLD)).fields["status"] == "Pending"


def test_an_internal_comment_stays_internal_and_ours_are_not_imported(platform):
    jira = connector(platform)
    key = platform.create_issue({"summary": "comments"})
    ref = issue_ref(platform, key)
    when = datetime.now(UTC)
    jira.add_comment(ref, Comment("Ana", "root cause: disk", when, Visibility.INTERNAL, "servicenow"))
    (stored,) = platform.comments(key)
    assert (
        stored["jsdPublic"] is False
        and {"key": "sd.public.comment", "value": {"internal": True}} in stored["properties"]
    )
    # A person's internal comment, written out of band, reads back internal.
    creds = platform.credentials()
    body = {
        "body": {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": "agents only"}]}],
        },
        "properties": [{"key": "sd.public.comment", "value": {"internal": True}}],
    }
    requests.post(
        f"{platform.base_url}/rest/api/3/issue/{key}/comment",
        json=body,
        auth=(creds["email"], creds["token"]),
        timeout=5,
    ).raise_for_status()
    read = jira.get(ref).comments
    assert [(c.body, c.visibility) for c in read] == [("agents only", Visibility.INTERNAL)]


def test_a_429_without_retry_after_is_retried_with_backoff(platform):
    platform.retry_after_missing = True
    platform.faults.inject("rate_429", count=2, path=r"/search/jql$")
    platform.create_issue({"summary": "after the storm"})
    platform.reindex()
    fake = FakeTime()
    jira = JiraConnector(
        jira_config(
            platform.base_url, email=platform.credentials()["email"], category_field=CATEGORY, service_field=SERVICE
        ),
        sleep=fake.sleep,
        clock=fake.clock,
    )
    assert [r.fields["summary"] for r in jira.changed_since(None)] == ["after the storm"]
    # 2 s then 4 s, each +-30%; the paused rate budget may add a top-up after the first wait.
    waits = [s for s in fake.sleeps if s >= 1.0]
    assert len(waits) in (2, 3) and 1.4 <= waits[0] <= 2.6 and 2.8 <= waits[-1] <= 5.2
    assert [c.status for c in platform.call_log.calls() if c.path.endswith("/search/jql")] == [429, 429, 200]


def test_workers_moving_issues_of_one_status_read_its_transitions_once(platform):
    from concurrent.futures import ThreadPoolExecutor

    jira = connector(platform)
    refs = [issue_ref(platform, platform.create_issue({"summary": f"parallel {n}"})) for n in range(8)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda ref: jira.transition(ref, State.IN_PROGRESS), refs))
    learned = [c for c in platform.call_log.calls() if c.method == "GET" and c.path.endswith("/transitions")]
    assert len(learned) == 1
    assert all(platform.issue(r.display)["fields"]["status"]["name"] == "Work in progress" for r in refs)
