"""ServiceNow connector: incidents, journal notes and correlation over the Table API.

- Reads ask for `sysparm_display_value=all`: values (choice values, sys_ids) for logic and writes,
  display names for reference fields, in the same call. The alternative (values only, plus a
  cached name lookup per distinct group, person and CI) costs one call per page *plus* one per
  distinct reference; `all` costs one call per page whatever the data, for a larger body.
- `changed_since` pages by keyset, not offset: ordered by (sys_updated_on, sys_id), each page
  asks for the rows strictly after the last row of the one before,
  `sys_updated_on>E^ORsys_id>S^sys_updated_on>=E` (`^OR` binds to the condition just before it:
  (updated > E or sys_id > S) and updated >= E). Offsets over a changing table skip a row when an
  earlier one is updated mid-read and the rest slide back over a page edge; a keyset position does
  not move. So a pass reads each (sys_updated_on, sys_id) position once, and a row updated
  mid-read comes again later in the pass with a newer sys_mod_count: a newer version, yielded. Rows already
  applied at their version (the watermark's seen-set) are skipped. Memory stays flat in the
  number of records: one page at a time.
- The read ends when `X-Total-Count` (what the page's query matched) fits in one page, or, without
  that header, at a short page. Not at a short page when the count is there: the limit applies
  before ACL evaluation, so rows the user may not read leave a page short with more to come.
- Writes send values; reference fields given as names are resolved to sys_ids by a cached lookup
  (names are not unique: an ambiguous name is refused). Where the lookup table cannot be read,
  the name is sent and ServiceNow resolves the display value itself.
- A create is never re-sent blindly: after a lost answer the record is looked up by correlation_id
  first (ServiceNow reads are read-after-write consistent).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests

from itsm_bridge.config import Config
from itsm_bridge.connectors.base import CheckResult
from itsm_bridge.connectors.people import FindsPeopleBy
from itsm_bridge.connectors.servicenow.client import PLATFORM, Auth, TableClient, check_instance, make_classifier
from itsm_bridge.connectors.servicenow.history import read_history
from itsm_bridge.connectors.servicenow.people import ServiceNowPeople
from itsm_bridge.connectors.servicenow.query import Query
from itsm_bridge.connectors.servicenow.rows import READ_FIELDS, Position, page_query, position, split_row, to_record
from itsm_bridge.correlation import CORRELATION_DISPLAY, bridge_copy, mark
from itsm_bridge.errors import (
    ConfigError,
    ConfigProblem,
    ConnectorError,
    Forbidden,
    NotFound,
    RemoteValidation,
    Transient,
    TransitionNotAllowed,
)
from itsm_bridge.history import History
from itsm_bridge.http import HttpClient
from itsm_bridge.model import Comment, RemoteRef, State, Visibility
from itsm_bridge.people import Directory
from itsm_bridge.records import ChangeRead, Pages, RemoteRecord
from itsm_bridge.vendor_time import parse_snow_time
from itsm_bridge.watermark import Watermark

log = logging.getLogger("itsm_bridge.servicenow")

TABLE = "incident"
REFERENCE_TABLES: dict[str, str] = {
    "cmdb_ci": "cmdb_ci",
    "assignment_group": "sys_user_group",
    "caller_id": "sys_user",
}
"""Reference columns -> the table their names are looked up in (by `name`)."""
JOURNAL_FIELDS = "sys_id,element_id,element,value,sys_created_on,sys_created_by"
JOURNAL_BATCH = 100  # incidents per sys_journal_field query: ~3.5 KB of sys_ids in the URL
NOTE_COLUMN = {Visibility.INTERNAL: "work_notes", Visibility.PUBLIC: "comments"}
SYS_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class ReadStats:
    """What the last `changed_since` pass did, for logs and tests."""

    pages: int = 0
    rows: int = 0
    yielded: int = 0
    already_applied: int = 0  # skipped by the watermark's seen-set
    expected: int | None = None  # rows the pass yields in all, as far as the last page's count says


class ServiceNowConnector(FindsPeopleBy):
    """The Connector for one ServiceNow instance (see the module docstring for the choices)."""

    name = PLATFORM
    people: ServiceNowPeople

    def __init__(
        self, config: Config, *, session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        settings = config.settings.servicenow
        if settings is None:
            raise ConfigError([ConfigProblem("servicenow", "no [servicenow] table in the config")])
        self.config = config
        self.settings = settings
        self.states = config.state_map(PLATFORM)
        self.auth = _auth(config)
        http = HttpClient.for_platform(
            PLATFORM,
            settings,
            session=session,
            sleep=sleep,
            classify=make_classifier(settings.url, self.auth.who),
            max_wait_s=settings.max_wait_s,
        )
        self.client = TableClient(http, self.auth)
        self._sleep = sleep
        self._names: dict[tuple[str, str], str] = {}  # (table, name) -> sys_id
        self._unreadable: set[str] = set()  # lookup tables this user cannot read
        self._user: str | None = settings.user  # who our writes are made as: the author of our notes
        self.stats = ReadStats()
        ttl = timedelta(hours=config.settings.people.cache_ttl_hours)
        self.people = ServiceNowPeople(self.client, Directory(PLATFORM, config.people_of(PLATFORM), ttl))
        self._detected = config.settings.audit.detected_at.get(PLATFORM)  # [audit] detected_at, for MTTD

    @property
    def calls(self) -> int:
        return self.client.http.calls

    def _read_params(self) -> dict[str, str]:
        # custom columns read where configured: the detected-at time, the communication owner
        extra = [c for c in (self._detected, self.settings.communication_owner_field) if c]
        fields = ",".join([READ_FIELDS, *extra])
        return {"sysparm_display_value": "all", "sysparm_exclude_reference_link": "true", "sysparm_fields": fields}

    def history(self, records: list[RemoteRecord]) -> dict[str, History]:
        """State, assignee and group changes from sys_audit, counts from the rows (see history.py)."""

        def state_of(value: str) -> str:
            state = self.states.from_vendor(value) if value else None
            return state.value if state else value

        return read_history(self.client, records, state_of, self.settings.page_size, self._detected)

    # --- read
    def changed_since(self, cursor: Watermark | None, *, notes: bool = True) -> ChangeRead:
        """Incidents updated at or after `cursor.read_from(overlap)`, oldest first, streamed page by
        page (keyset paging, see the module docstring); each page's notes are read in one more call
        unless `notes` is False. The read promises nothing past its last record (`complete_to`
        stays None). Its `expected()` is known from the first page on: each page's `X-Total-Count`
        counts the rows from that page on (keyset), less those the watermark skipped so far."""
        self.stats = stats = ReadStats()
        return ChangeRead(self._changes(cursor, notes, stats), expected=lambda: stats.expected)

    def _changes(self, cursor: Watermark | None, notes: bool, stats: ReadStats) -> Pages:
        read_from = cursor.read_from(timedelta(seconds=self.settings.overlap_s)) if cursor else None
        limit = self.settings.page_size
        after: Position | None = None  # the last row read
        while True:
            page = self.client.page(
                TABLE,
                {
                    **self._read_params(),
                    "sysparm_query": page_query(read_from, after).encode(),
                    "sysparm_limit": str(limit),
                    "sysparm_suppress_pagination_header": "true",
                },
            )
            stats.pages += 1
            if page.total is not None:
                stats.expected = stats.rows - stats.already_applied + page.total
            records: list[RemoteRecord] = []
            for row in page.rows:
                stats.rows += 1
                values, display = split_row(row)
                at = position(values)
                if after is not None and at <= after:
                    # The instance dropped the keyset condition or the ordering (an invalid query
                    # part is ignored, not refused): going on would read the same rows forever.
                    raise ConnectorError(
                        f"incident rows came back out of (sys_updated_on, sys_id) order at {at[1]}; "
                        "the keyset query was not applied",
                        platform=PLATFORM,
                    )
                after = at
                if cursor is not None and cursor.already_applied(values["sys_id"], values.get("sys_mod_count", "0")):
                    stats.already_applied += 1
                    continue
                records.append(self._record(values, display))
            for record in self._with_notes(records) if notes else records:
                stats.yielded += 1
                yield record
            if not page.more(limit):
                return None
            if not page.rows:  # no row to go on from
                raise Forbidden(
                    f"{self.settings.url} showed {self.auth.who} none of the {limit} incidents of a page "
                    "(ACLs hide them); the read cannot go past them",
                    platform=PLATFORM,
                )

    def get(self, ref: RemoteRef) -> RemoteRecord:
        """The incident with all its notes (bar those itsm-bridge wrote)."""
        values, display = split_row(self.client.get(TABLE, ref.id, self._read_params()))
        notes_of, copied = self._notes([ref.id]).get(ref.id, ((), ()))
        return dataclasses.replace(self._record(values, display, notes_of), copied=copied)

    def get_many(self, refs: Sequence[RemoteRef]) -> list[RemoteRecord]:
        """Incidents by sys_id, each as `get` reads it (notes included), JOURNAL_BATCH at a time:
        one Table API query (`sys_idIN...`) and one sys_journal_field query per batch, both IN
        lists in the URL. Those not found (deleted, hidden by an ACL, or no sys_id at all: a
        sys_id is 32 hex digits) are left out, and so is any row not asked for: an instance ignores
        a query part it finds invalid (c_TableAPI.md) and would answer with other incidents."""
        ids = [i for i in dict.fromkeys(r.id for r in refs) if SYS_ID.match(i)]
        out: list[RemoteRecord] = []
        for at in range(0, len(ids), JOURNAL_BATCH):
            asked = ids[at : at + JOURNAL_BATCH]
            query = Query().where("sys_id", "IN", asked).order_by("sys_id")
            params = {
                **self._read_params(),
                "sysparm_query": query.encode(),
                "sysparm_limit": str(self.settings.page_size),
            }
            rows = [split_row(row) for page in self.client.pages(TABLE, params) for row in page]
            wanted = set(asked)
            out += self._with_notes([self._record(*row) for row in rows if row[0].get("sys_id") in wanted])
        return out

    def find(self, correlation_key: str) -> RemoteRecord | None:
        """The incident carrying `correlation_key`: our correlation_id, or its number. Fields only."""
        query = (
            Query()
            .where("correlation_id", "=", correlation_key)
            .where("correlation_display", "=", CORRELATION_DISPLAY)
            .new_query()
            .where("number", "=", correlation_key)
            .order_by("sys_created_on")
        )
        params = {**self._read_params(), "sysparm_query": query.encode(), "sysparm_limit": "2"}
        rows = next(self.client.pages(TABLE, params), [])
        if not rows:
            return None
        if len(rows) > 1:
            log.warning("servicenow: %d incidents carry key %s; using the oldest", len(rows), correlation_key)
        return self._record(*split_row(rows[0]))

    def has_note(self, ref: RemoteRef, comment: Comment) -> bool:
        """Whether the note itsm-bridge writes for `comment` is already on the incident (a copy
        whose answer was lost must not be sent twice)."""
        wanted = " ".join(_note_text(comment).split())
        query = Query().where("element_id", "=", ref.id).where("element", "=", NOTE_COLUMN[comment.visibility])
        params = {
            "sysparm_query": query.encode(),
            "sysparm_fields": "value",
            "sysparm_limit": str(self.settings.page_size),
        }
        return any(
            " ".join(str(split_row(row)[0].get("value", "")).split()) == wanted
            for rows in self.client.pages("sys_journal_field", params)
            for row in rows
        )

    def _with_notes(self, records: list[RemoteRecord]) -> list[RemoteRecord]:
        """`records` with their notes and the ids of the notes our copies name (`_notes`)."""
        by_id = self._notes([r.ref.id for r in records]) if records else {}
        out = []
        for record in records:
            notes_of, copied = by_id.get(record.ref.id, ((), ()))
            out.append(dataclasses.replace(record, comments=notes_of, copied=copied))
        return out

    def _notes(self, sys_ids: Sequence[str]) -> dict[str, tuple[tuple[Comment, ...], tuple[str, ...]]]:
        """Journal entries (work notes and comments) of these incidents, oldest first, ours left
        out; with them, the ids of the notes our copies name (what is already copied here).

        Asked for JOURNAL_BATCH incidents at a time: the IN list travels in the URL, and the
        instance echoes the whole query in each `Link` relation (first, next, last), so a page of
        1000 sys_ids makes a ~70 KB header line, past what HTTP clients and proxies accept."""
        out: dict[str, list[Comment]] = {}
        copies: dict[str, list[str]] = {}
        for at in range(0, len(sys_ids), JOURNAL_BATCH):
            self._journal_batch(list(sys_ids[at : at + JOURNAL_BATCH]), out, copies)
        return {k: (tuple(out.get(k, ())), tuple(copies.get(k, ()))) for k in {*out, *copies}}

    def _journal_batch(self, sys_ids: list[str], out: dict[str, list[Comment]], copies: dict[str, list[str]]) -> None:
        query = (
            Query()
            .where("element_id", "IN", sys_ids)
            .where("element", "IN", ["work_notes", "comments"])
            .order_by("sys_created_on")
            .order_by("sys_id")
        )
        params = {
            "sysparm_query": query.encode(),
            "sysparm_fields": JOURNAL_FIELDS,
            "sysparm_limit": str(self.settings.page_size),
            "sysparm_offset": "0",
        }
        counted: list[int] = []
        try:
            pages = list(self.client.pages("sys_journal_field", params, counted))
        except Forbidden as exc:  # a read ACL on the table: say which, or it reads as a credentials problem
            raise Forbidden(
                f"cannot read sys_journal_field, where work notes and comments are ({exc}); "
                "grant the user read on it (`itsm-bridge doctor` checks it)",
                platform=PLATFORM,
            ) from None
        if counted and counted[0] and not pages:
            # The count is taken before ACL evaluation (c_TableAPI.md): a read ACL hides the rows.
            log.warning(
                "servicenow: sys_journal_field holds %d note(s) of these incidents but showed %s none: "
                "a read ACL hides them and they do not sync (see `itsm-bridge doctor`)",
                counted[0],
                self.auth.who,
            )
        for rows in pages:
            for row in rows:
                values, _ = split_row(row)
                body = values.get("value", "")
                created = parse_snow_time(values.get("sys_created_on"))
                copy = bridge_copy(body, {values.get("sys_created_by", "")}, self._integration_user())
                if copy is not None:
                    if copy.note_id:
                        copies.setdefault(values["element_id"], []).append(copy.note_id)
                    continue
                if created is None:
                    continue
                visibility = Visibility.INTERNAL if values.get("element") == "work_notes" else Visibility.PUBLIC
                out.setdefault(values["element_id"], []).append(
                    Comment(
                        values.get("sys_created_by", ""),
                        body,
                        created,
                        visibility,
                        origin=PLATFORM,
                        id=values.get("sys_id", ""),
                    )
                )

    def _integration_user(self) -> set[str] | None:
        """Who the bridge writes notes as (`sys_created_by`): the basic-auth user; with a token,
        the user the answers to our writes name (kept with the facts); None until one is seen."""
        return {self._user} if self._user else None

    def _wrote(self, values: Mapping[str, Any]) -> None:
        """Learn, from the answer to a write, the user our writes are made as (`sys_updated_by`)."""
        if self._user is None and values.get("sys_updated_by"):
            self._user = str(values["sys_updated_by"])

    # --- what one run learns and the next starts from (kept in the state store)
    def facts(self) -> dict[str, Any]:
        return {"user": self._user}

    def restore(self, facts: dict[str, Any]) -> None:
        self._user = self._user or facts.get("user") or None

    # --- write
    def create(self, fields: dict[str, Any], correlation_key: str) -> RemoteRecord:
        """POST with correlation_id/correlation_display. After a lost answer, look the key up
        first and send again only if the record is not there."""
        Query().where("correlation_id", "=", correlation_key)  # refuses a key a later find() could not use
        body = {
            **self._resolve_references(fields),
            "correlation_id": correlation_key,
            "correlation_display": CORRELATION_DISPLAY,
        }
        failures = 0
        while True:
            try:
                return self._record(*split_row(self.client.create(TABLE, body, self._read_params())))
            except Transient:
                failures += 1
                found = self.find(correlation_key)
                if found is not None:
                    log.info("servicenow: create of %s was committed though its answer was lost", correlation_key)
                    return found
                if failures > self.settings.max_retries:
                    raise
                self._sleep(self.client.http.backoff.delay(failures))

    def update(self, ref: RemoteRef, fields: dict[str, Any], *, comments: Sequence[Comment] = ()) -> RemoteRecord:
        """One PATCH with only `fields` (the changed ones) and up to one new note of each kind;
        more notes of one kind follow as their own PATCHes (one journal entry each)."""
        body = self._resolve_references(fields)
        later: list[Comment] = []
        for comment in comments:
            column = NOTE_COLUMN[comment.visibility]
            if column in body:
                later.append(comment)
            else:
                body[column] = _note_text(comment)
        if not body:
            return self.get(ref)
        record = self._record(*split_row(self.client.patch(TABLE, ref.id, body, self._read_params())))
        self._wrote(record.fields)
        for comment in later:
            self.add_comment(ref, comment)
        return record

    def add_comment(self, ref: RemoteRef, comment: Comment) -> None:
        """A work note (internal) or comment (public), marked so it is never read back as new."""
        row = self.client.patch(
            TABLE,
            ref.id,
            {NOTE_COLUMN[comment.visibility]: _note_text(comment)},
            {"sysparm_fields": "sys_id,sys_updated_by"},
        )
        self._wrote(split_row(row)[0])

    def transition(self, ref: RemoteRef, state: State, fields: Mapping[str, Any] | None = None) -> RemoteRecord:
        """One PATCH setting the mapped state with `fields` (close_code/close_notes when resolving
        or closing, as the mapper produced them and checked their required-field rules)."""
        value = self.states.to_vendor(state)
        if value is None:
            raise TransitionNotAllowed(f"no ServiceNow state value for {state.value}", platform=PLATFORM, ref=str(ref))
        body: dict[str, Any] = {**(fields or {}), "state": value}
        record = self._record(*split_row(self.client.patch(TABLE, ref.id, body, self._read_params())))
        self._wrote(record.fields)
        return record

    def _record(
        self, values: dict[str, str], display: dict[str, str], comments: tuple[Comment, ...] = ()
    ) -> RemoteRecord:
        return self.people.read(to_record(values, display, comments))

    def _resolve_references(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """The assignee (a person) -> a sys_id by address; other reference fields given as names
        -> sys_ids, by a cached lookup on their table."""
        out = self.people.outgoing(dict(fields))
        for column, table in REFERENCE_TABLES.items():
            name = out.get(column)
            if not name or SYS_ID.match(str(name)) or table in self._unreadable:
                continue
            out[column] = self._lookup(table, column, str(name))
        return out

    def _lookup(self, table: str, column: str, name: str) -> str:
        cached = self._names.get((table, name))
        if cached:
            return cached
        params = {
            "sysparm_query": Query().where("name", "=", name).encode(),
            "sysparm_fields": "sys_id,name",
            "sysparm_limit": "2",
        }
        try:
            rows = next(self.client.pages(table, params), [])
        except (NotFound, Forbidden) as exc:
            self._unreadable.add(table)
            log.warning("servicenow: cannot read %s (%s); sending names for ServiceNow to resolve", table, exc)
            return name
        if len(rows) != 1:
            problem = "is ambiguous: several records carry it" if rows else "matches no record"
            raise RemoteValidation(f"{column} {name!r} {problem} in {table}", platform=PLATFORM, fields=[column])
        sys_id = split_row(rows[0])[0]["sys_id"]
        self._names[(table, name)] = sys_id
        return sys_id

    def check(self) -> list[CheckResult]:
        """Reachability, credentials, read/write of incident, and the mapped choice values."""
        tax = self.config.taxonomy
        expected: dict[str, set[tuple[str, str]]] = {
            "category": {(v, "") for v in tax.categories.platform_values(PLATFORM).values()},
            "subcategory": set(),
            "close_code": {(v, "") for v in tax.resolution_codes.platform_values(PLATFORM).values()},
        }
        for term in tax.categories.terms.values():
            parent = term.values.get(PLATFORM, "")
            for child in term.children.terms.values() if term.children else ():
                if PLATFORM in child.values:
                    expected["subcategory"].add((child.values[PLATFORM], parent))
        return check_instance(self.client, self.settings.url, expected)


def _note_text(comment: Comment) -> str:
    """A note as the bridge copies it: marked with the note it copies, its author named in the text."""
    return mark(
        f"{comment.author}: {comment.body}" if comment.author else comment.body,
        comment.origin or "itsm-bridge",
        comment.id,
    )


def _auth(config: Config) -> Auth:
    s = config.settings.servicenow
    assert s is not None
    if s.user and s.password_env:
        return Auth("basic", f"user {s.user!r}", user=s.user, password=config.secret("servicenow", "password_env"))
    if s.token_env:
        return Auth("token", f"the bearer token in ${s.token_env}", token=config.secret("servicenow", "token_env"))
    return Auth(
        "oauth",
        f"the OAuth client in ${s.client_id_env}",
        client_id=config.secret("servicenow", "client_id_env"),
        client_secret=config.secret("servicenow", "client_secret_env"),
    )
