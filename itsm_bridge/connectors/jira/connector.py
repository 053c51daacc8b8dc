"""Jira Service Management connector: issues, workflow transitions, internal and public comments.

How requests are sent. Every call of the sync goes through `JiraApi` (api.py) over our
`HttpClient`: one rate budget, one classifier, one retry policy, one call count (`calls`), and a
POST is never re-sent except after a 429, which means it was not processed. The hot paths
(enhanced search with `nextPageToken`, creates, edits, transitions, comments, bulkfetch) are
REST calls whose exact requests are ours to pin in tests. python-jira serves `doctor`'s sign-in
and project checks only (check.py), as its own client; the README says why the rest does not use
it. No write is read back on its own (the engine fetches a batch's writes in bulk). Writes to one
issue pass a per-issue limiter (20 per 2 s).

The connector composes collaborators that each take what they use: `Statuses` (what this run
knows of each issue's status), `Mover` (transitions through the workflow), `Creator` (creates,
alone or in bulk, and lost answers), `Doctor` (`doctor`).

Duplicates. Jira search is eventually consistent, so "search, then create" alone duplicates. The
engine journals the intent first; here, a create whose answer is lost (Transient) is followed by
lookups (`find`: search by correlation label, with `reconcileIssues` for ids we created) polled
with backoff until `search_lag_s` has passed, and only then created again.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from itsm_bridge import correlation
from itsm_bridge.config import Config
from itsm_bridge.connectors.base import CheckResult, NewIssue
from itsm_bridge.connectors.jira import identity
from itsm_bridge.connectors.jira.adf import adf_to_text
from itsm_bridge.connectors.jira.api import WRITES_PER_ISSUE, BearerAuth, IssueWriteLimiter, JiraApi, classify_jira
from itsm_bridge.connectors.jira.check import Doctor, SiteClient
from itsm_bridge.connectors.jira.create import BULK_SIZE, Creator, Result
from itsm_bridge.connectors.jira.history import read_history
from itsm_bridge.connectors.jira.meta import CreateMeta, edit_body, load_createmeta, team_id
from itsm_bridge.connectors.jira.people import JiraPeople
from itsm_bridge.connectors.jira.records import (
    PLATFORM,
    checked_key,
    comment_json,
    jql_time,
    jql_value,
    parse_time,
    search_fields,
    server_time,
    to_record,
    user_zone,
    written_offset,
)
from itsm_bridge.connectors.jira.statuses import Created, Statuses
from itsm_bridge.connectors.jira.transitions import Mover
from itsm_bridge.connectors.jira.workflow import StatusMap, Workflow
from itsm_bridge.connectors.people import FindsPeopleBy
from itsm_bridge.errors import ConfigError, ConfigProblem, ConnectorError, NotFound
from itsm_bridge.history import History
from itsm_bridge.http import Backoff, HttpClient
from itsm_bridge.model import Comment, RemoteRef, State
from itsm_bridge.people import Directory
from itsm_bridge.records import ChangeRead, Pages, RemoteRecord
from itsm_bridge.watermark import Watermark

log = logging.getLogger("itsm_bridge.connectors.jira")

FETCH_SIZE = 100  # Jira's limit per issue/bulkfetch call


class JiraConnector(FindsPeopleBy):
    """Jira Cloud (email + API token) or Data Center (personal access token), REST v3."""

    name = PLATFORM
    bulk_size = BULK_SIZE  # creates one `issue/bulk` call takes
    people: JiraPeople

    def __init__(
        self,
        config: Config,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        settings = config.settings.jira
        if settings is None:
            raise ConfigError([ConfigProblem("jira", "the [jira] table is missing", str(config.path or "<config>"))])
        self.settings = settings
        self.state_map: StatusMap = config.state_map("jira")
        if settings.token_env:
            basic: tuple[str, str] | None = (settings.email or "", config.secret("jira", "token_env"))
            pat: str | None = None
            auth: Any = basic
        else:
            basic, pat = None, config.secret("jira", "pat_env")
            auth = BearerAuth(pat)
        http = HttpClient.for_platform(
            PLATFORM,
            settings,
            auth=auth,
            sleep=sleep,
            clock=clock,
            backoff=Backoff(base_s=2.0, jitter=0.3),
            classify=classify_jira,
        )
        self.api = JiraApi(http, IssueWriteLimiter(*WRITES_PER_ISSUE, clock=clock, sleep=sleep))
        self.workflow = Workflow()
        self.statuses = Statuses(self.api)
        self.created = Created()
        learning = threading.RLock()  # lazy reads (workflow, createmeta) made once, not per worker
        self._learning = learning
        resolutions = config.taxonomy.resolution_codes.platform_values("jira")
        self.mover = Mover(self.api, self.workflow, self.statuses, self.state_map, resolutions, learning)
        self.creator = Creator(
            self.api, settings, self.createmeta, self.mover, self.statuses, self.created, self.find, clock, sleep
        )
        self.doctor = Doctor(
            settings,
            SiteClient(settings, basic, pat),
            self.api,
            self.createmeta,
            self.search,
            self.mover,
            dict(config.settings.mapping.jira.priorities),
            config.taxonomy.groups.platform_values(PLATFORM),
        )
        ttl = timedelta(hours=config.settings.people.cache_ttl_hours)
        self.people = JiraPeople(self.api, Directory(PLATFORM, config.people_of(PLATFORM), ttl))
        self._meta: CreateMeta | None = None
        self._group_team: bool | None = None  # whether group_field is a Team field (createmeta, kept as a fact)
        self._zone: tzinfo | None = None
        self._account: frozenset[str] | None = None
        self._zone_confirmed = False
        self._detected = config.settings.audit.detected_at.get(PLATFORM)

    @property
    def calls(self) -> int:
        return self.api.calls

    @property
    def search_lag_s(self) -> float:
        """How long a new issue may stay out of search results (`jira.search_lag_s`)."""
        return self.settings.search_lag_s

    def zone(self) -> tzinfo:
        """The searching user's time zone: JQL dates are read in it."""
        if self._zone is None:
            me = self.api.myself()
            self._zone, self._account = user_zone(me), identity.author_ids(me)
            self._zone_confirmed = True
        return self._zone

    def account(self) -> frozenset[str]:
        """The API user's ids (`myself`, read once and kept with the facts): the author of the
        bridge's own comments."""
        if self._account is None:
            self._account = identity.author_ids(self.api.myself())
        return self._account

    def known_account(self) -> frozenset[str] | None:
        """The API user's ids when already known (read, restored or learned), without asking Jira."""
        return self._account

    # --- what one run learns and the next starts from (kept in the state store)
    def facts(self) -> dict[str, Any]:
        zone = getattr(self._zone, "key", None) or (str(self._zone) if self._zone is not None else None)
        return {
            "zone": zone,
            "start_status": self.creator.start_status,
            "workflow": self.workflow.to_data(),
            "account": sorted(self._account or ()),
            "group_team": [self.settings.group_field, self._group_team] if self._group_team is not None else None,
        }

    def restore(self, facts: dict[str, Any]) -> None:
        """Start from an earlier run's facts: the user's time zone (checked against the offsets
        of the times Jira sends back), the start step and the workflow's transitions (a refused
        one is forgotten and read again)."""
        if facts.get("zone"):
            try:
                self._zone = ZoneInfo(str(facts["zone"]))
                self._zone_confirmed = False
            except (ZoneInfoNotFoundError, ValueError):
                self._zone = None
        self.creator.start_status = facts.get("start_status") or None
        self._account = frozenset(facts["account"]) if facts.get("account") else None
        self.workflow.load(facts.get("workflow") or {})
        kept = facts.get("group_team")
        if isinstance(kept, list) and len(kept) == 2 and kept[0] == self.settings.group_field:
            self._group_team = bool(kept[1])  # a custom field's type never changes: no createmeta per run

    def _zone_moved(self, issue: dict[str, Any]) -> bool:
        """Whether a remembered zone disagrees with the offset Jira wrote a time with; then the
        user's zone is read afresh (True only when it really changed)."""
        if self._zone_confirmed or self._zone is None:
            return False
        raw = str((issue.get("fields") or {}).get("updated") or "")
        moment, offset = parse_time(raw), written_offset(raw)
        if moment is None or offset is None:
            return False
        before = self._zone
        if moment.astimezone(before).utcoffset() == offset:
            self._zone_confirmed = True
            return False
        self._zone = None
        return moment.astimezone(self.zone()).utcoffset() != moment.astimezone(before).utcoffset()

    def createmeta(self) -> CreateMeta:
        with self._learning:
            if self._meta is None:
                self._meta = load_createmeta(self.api, self.settings.project, self.settings.issue_type)
            return self._meta

    def _custom_group(self, fields: dict[str, Any]) -> bool:
        """Whether `fields` set a custom group field (a select or a Team field: createmeta says which)."""
        group = self.settings.group_field
        return bool(group and group.startswith("customfield_") and fields.get(group) is not None)

    def _group_is_team(self) -> bool:
        """Whether the group field is a Team field: createmeta's schema says so, read once and
        kept with the facts."""
        with self._learning:
            if self._group_team is None:
                found = self.createmeta().fields.get(str(self.settings.group_field))
                self._group_team = bool(found is not None and found.team)
            return self._group_team

    def _teams(self, issue: dict[str, Any]) -> frozenset[str]:
        """The issue's Team fields to read as team ids: the group field, when it is one. Asked
        only once a custom group field holds a value."""
        if not self._custom_group(issue.get("fields") or {}) or not self._group_is_team():
            return frozenset()
        return frozenset({str(self.settings.group_field)})

    # --- reading
    def changed_jql(self, since: Any) -> str:
        """`project = "KEY" [AND updated >= "yyyy/MM/dd HH:mm"] ORDER BY updated ASC, key ASC`."""
        jql = f"project = {jql_value(self.settings.project)}"
        if since is not None:
            jql += f" AND updated >= {jql_value(jql_time(since, self.zone()))}"
        return jql + " ORDER BY updated ASC, key ASC"

    def changed_since(self, cursor: Watermark | None) -> ChangeRead:
        """Issues updated since the watermark (minus the overlap), oldest first, streamed page by
        page; versions already applied, and repeats within this pass, are skipped. Read to the
        end, it is complete to the moment the search began, less the index lag."""
        counted: list[int | None] = []

        def expected() -> int | None:  # asked once, and only by whoever shows it: it costs a call
            if not counted:
                counted.append(self._count(cursor))
            return counted[0]

        return ChangeRead(self._changes(cursor), expected=expected)

    def _count(self, cursor: Watermark | None) -> int | None:
        """Jira's estimate of the issues a read matches (`POST search/approximate-count`: the
        enhanced search's pages carry no total); None where the site has no such call."""
        since = (cursor or Watermark()).read_from(timedelta(seconds=self.settings.overlap_s))
        jql = self.changed_jql(since).partition(" ORDER BY ")[0]
        try:
            count = self.api.count({"jql": jql}).get("count")
        except ConnectorError as exc:
            if exc.disposition == "abort":
                raise
            return None  # an estimate for people to read: without it the line shows no total
        return int(count) if isinstance(count, int) else None

    def _changes(self, cursor: Watermark | None) -> Pages:
        watermark = cursor or Watermark()
        since = watermark.read_from(timedelta(seconds=self.settings.overlap_s))
        seen: set[tuple[str, str]] = set()
        began: list[datetime | None] = []
        for issue in self.search(self.changed_jql(since), began=began):
            if not seen and since is not None and self._zone_moved(issue):
                log.warning("jira: the API user's time zone changed; reading again from the watermark")
                return (yield from self._changes(cursor))
            version = str((issue.get("fields") or {}).get("updated") or "")
            if (str(issue["id"]), version) in seen or watermark.already_applied(str(issue["id"]), version):
                continue
            seen.add((str(issue["id"]), version))
            yield self.record(issue)
        if began and began[0] is not None:
            # Everything updated before the search began, less the index lag, was visible to it
            # and has been read: the cursor may move that far, past our own writes, once applied.
            return began[0] - timedelta(seconds=self.settings.search_lag_s + 1)
        return None

    def search(
        self,
        jql: str,
        *,
        reconcile: list[str] | None = None,
        page_size: int | None = None,
        began: list[datetime | None] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Raw issues matching `jql`, page after page (`POST search/jql`, `nextPageToken`); `began`
        gets Jira's clock when the first page was answered (its `Date` header)."""
        body: dict[str, Any] = {
            "jql": jql,
            "maxResults": page_size or self.settings.page_size,
            "fields": self._fields(),
            "properties": identity.PROPERTIES,
        }
        if reconcile:
            body["reconcileIssues"] = [int(i) for i in reconcile[:50]]
        while True:
            resp = self.api.search(body)
            if began is not None and not began:
                began.append(server_time(resp.headers.get("Date")))
            page = resp.json()
            yield from page.get("issues") or []
            token = page.get("nextPageToken")
            if page.get("isLast", token is None) or not token:
                return
            body = {**body, "nextPageToken": token}

    def record(self, issue: dict[str, Any], *, fetch_comments: bool = False) -> RemoteRecord:
        """A RemoteRecord from a raw issue, fetching its comments when the embedded page is short."""
        page = (issue.get("fields") or {}).get("comment") or {}
        embedded = page.get("comments") or []
        # Fetch the comment list when the page is cut short or a comment's visibility is unknown.
        unknown = any("jsdPublic" not in c and "properties" not in c for c in embedded)
        if fetch_comments or unknown or int(page.get("total") or 0) > len(embedded):
            record = to_record(issue, self.settings, self.comments(str(issue["id"])), self.account, self._teams(issue))
        else:
            record = to_record(issue, self.settings, account=self.account, teams=self._teams(issue))
        record = self.people.read(record)
        if record.fields.get("status"):
            self.statuses.know(record.ref.id, str(record.fields["status"]))
        if self._detected:  # [audit] detected_at: the field's raw value, for MTTD
            detected = (issue.get("fields") or {}).get(self._detected)
            record = dataclasses.replace(record, fields={**record.fields, self._detected: detected})
        return record

    def _fields(self) -> list[str]:
        """The issue fields read: the record's, and the configured detected-at field."""
        fields = search_fields(self.settings)
        return [*fields, self._detected] if self._detected and self._detected not in fields else fields

    def history(self, records: list[RemoteRecord]) -> dict[str, History]:
        """Status and assignee changes from the changelog, for the audit (see history.py)."""

        def state_of(name: str) -> str:
            state = self.state_map.from_vendor(name) if name else None
            return state.value if state else name

        return read_history(self.api, records, state_of, self._detected)

    def assume_state(self, issue_id: str, state: State) -> None:
        """Unless its status is known this run, take the issue to show the status `state` maps to
        (as it did when last synced)."""
        status = self.state_map.to_vendor(state)
        if status:
            self.statuses.assume(issue_id, status)

    def fetch_many(self, refs: list[RemoteRef]) -> list[RemoteRecord]:
        """Issues by id, 100 per `issue/bulkfetch` call: read from Jira's store, not its search
        index, so our own writes show at once. Missing ones are left out."""
        ids = list(dict.fromkeys(r.id for r in refs))
        out: list[RemoteRecord] = []
        for start in range(0, len(ids), FETCH_SIZE):
            body = {
                "issueIdsOrKeys": ids[start : start + FETCH_SIZE],
                "fields": self._fields(),
                "properties": identity.PROPERTIES,
            }
            out += [self.record(issue) for issue in self.api.bulkfetch(body).get("issues") or []]
        return out

    def get_many(self, refs: list[RemoteRef]) -> list[RemoteRecord]:
        """Issues by id, each as `get` reads it (comments as a search reads them): `fetch_many`,
        100 per `issue/bulkfetch` call, strongly consistent where search lags."""
        return self.fetch_many(refs)

    def comments(self, issue_id: str) -> list[dict[str, Any]]:
        """Every comment of an issue, with properties (the internal flag)."""
        out: list[dict[str, Any]] = []
        start = 0
        while True:
            params = {"startAt": start, "maxResults": 100, "expand": "properties"}
            page = self.api.get(f"/issue/{issue_id}/comment", params, issue_id)
            batch = page.get("comments") or []
            out += batch
            start += len(batch)
            if not batch or start >= int(page.get("total") or 0):
                return out

    def get(self, ref: RemoteRef) -> RemoteRecord:
        params = {"fields": ",".join(self._fields()), "properties": ",".join(identity.PROPERTIES)}
        return self.record(self.api.issue(ref.id, params, str(ref)))

    def find(self, correlation_key: str) -> RemoteRecord | None:
        """The issue labelled with `correlation_key` whose entity property names it (else one with
        no property; never a clone, which carries the label without the property), read-after-write
        consistent for issues this connector created."""
        label = correlation.label_for(checked_key(correlation_key))
        jql = f"project = {jql_value(self.settings.project)} AND labels = {jql_value(label)} ORDER BY key ASC"
        known = self.created.ids(correlation_key)
        found = list(self.search(jql, reconcile=known, page_size=10))
        if len(found) > 1:
            log.warning("jira: %d issues carry %s: %s", len(found), label, ", ".join(str(i.get("key")) for i in found))
        best = identity.best_for(found, correlation_key)
        if best is not None:
            return self.record(best)
        for issue_id in known:  # search may lag even so; a read by id never does
            try:
                return self.get(RemoteRef(PLATFORM, issue_id))
            except NotFound:
                continue
        return None

    # --- writing
    def create(self, fields: dict[str, Any], correlation_key: str) -> RemoteRef:
        """Create one issue, its first transition riding along; after a lost answer, look it up
        until the search lag has passed before creating again, so exactly one exists (no
        read-back: the engine fetches what it wrote in bulk)."""
        return self.creator.create_one(NewIssue(self.people.outgoing(fields, True), correlation_key))

    def create_many(self, items: list[NewIssue]) -> list[Result]:
        """Create issues 50 per `issue/bulk` call; one result per item, in order: its ref, or
        the error that item met (a refused item does not stop the others)."""
        return self.creator.create_many([NewIssue(self.people.outgoing(i.fields, True), i.key, i.state) for i in items])

    def update(self, ref: RemoteRef, fields: dict[str, Any]) -> RemoteRef | RemoteRecord:
        """Edit only `fields` (status and resolution go through `transition`). The answer is the
        issue as the edit left it when it shows every field a record is read from (then no
        read-back is needed); else the ref, and the engine reads the issue back."""
        fields = self.people.outgoing(fields, False)
        cascades = any(isinstance(v, dict) and "child" in v for v in fields.values())
        group = str(self.settings.group_field)
        if self._custom_group(fields) and self._group_is_team():
            fields = {**fields, group: team_id(fields[group])}
        body = edit_body(self.createmeta() if cascades else None, fields)
        if not body:
            return ref
        issue = self.api.edit(ref.id, body, str(ref))
        shown = (issue or {}).get("fields") or {}
        # "the issue with fields edited in this request": a site that shows only those leaves the
        # version (`updated`) or other fields out, and the record would be partial.
        if issue is None or str(issue.get("id")) != ref.id or not all(f in shown for f in self._fields()):
            return ref
        return self.record(issue)

    def add_comment(self, ref: RemoteRef, comment: Comment) -> None:
        """An ADF comment, marked as ours; internal ones carry `sd.public.comment` internal=true.
        Its author is the API user: learned from the answer when not known yet (no `myself`)."""
        created = self.api.comment(ref.id, comment_json(comment), str(ref))
        if self._account is None and isinstance(created.get("author"), dict):
            self._account = identity.author_ids(created["author"]) or None

    def has_note(self, ref: RemoteRef, comment: Comment) -> bool:
        """Whether the comment itsm-bridge writes for `comment` is already on the issue (a copy
        whose answer was lost must not be sent twice)."""
        wanted = " ".join(adf_to_text(comment_json(comment)["body"]).split())  # as sent: a long one is cut
        return any(" ".join(adf_to_text(c.get("body")).split()) == wanted for c in self.comments(ref.id))

    def transition(self, ref: RemoteRef, state: State, fields: dict[str, Any] | None = None) -> RemoteRef:
        """Move the issue to the status mapped to `state`: directly, or along a path through the
        workflow; the resolution (`fields`, from the mapper) is filled when a transition's screen
        asks for it."""
        return self.mover.transition(ref, state, fields or {})

    # --- doctor
    def check(self) -> list[CheckResult]:
        return self.doctor.run()
