"""The state store over SQLAlchemy Core: one code path for SQLite (default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout and takes its write lock at BEGIN, so two processes
opening one file at once wait for each other instead of failing. The tables are in `schema`;
schema changes are named, numbered migrations (`migrations`) recorded in `schema_version`; the
journal's run queries are in `runs`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    Engine,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.exc import DatabaseError

from itsm_bridge.errors import ConfigError, ConfigProblem, LinkConflict, StoreError
from itsm_bridge.model import RemoteRef
from itsm_bridge.people import PersonEntry
from itsm_bridge.store import people as people_rows
from itsm_bridge.store import runs
from itsm_bridge.store.base import Cursor, Facts, JournalEntry, QuarantineEntry, Shadow, ShadowSides, VerifyResult
from itsm_bridge.store.chain import GENESIS, KEYED, PLAIN, Head, dumps, link_hash, verify
from itsm_bridge.store.locks import WRITER_LOCK, advisory_lock, file_lock, waiting
from itsm_bridge.store.migrations import migrate, upgrading
from itsm_bridge.store.schema import cursors, facts, journal, links, quarantine, schema_version, shadows


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _entry(r: Any) -> JournalEntry:
    return JournalEntry(
        r.seq,
        r.run_id,
        r.at,
        r.kind,
        r.key,
        r.platform,
        r.ref,
        r.action,
        json.loads(r.payload),
        r.prev_hash,
        r.hash,
        r.intent_seq,
    )


# A shadow's four JSON columns joined into one array in SQL: one parse per row, not four (the
# store audit reads every shadow, and a parse's fixed cost is most of a small column's).
_SHADOW_DOC = (
    literal("[", Text)
    + shadows.c.fields
    + ","
    + shadows.c.sides
    + ","
    + shadows.c.comments_seen
    + ","
    + shadows.c.versions
    + "]"
).label("doc")
_SHADOW = select(shadows.c.key, shadows.c.updated_at, _SHADOW_DOC)
# What an audit reads of every shadow: the merged fields and the sides, in one array per row.
_SIDES = select(shadows.c.key, (literal("[", Text) + shadows.c.fields + "," + shadows.c.sides + "]").label("doc"))


KEY_FOR = select(links.c.key).where(
    links.c.platform == bindparam("platform"), links.c.remote_id == bindparam("remote_id")
)
"""The key linked to a record (`platform`, `remote_id`): built once, as `key_for` and serve's
delivery receipt run it for every record they are told of."""

_PART = 1000
"""Rows fetched at a time where every row of a table is read: one fetch per row was a third of
reading 200k links (memory stays bounded, unlike one fetch of all)."""


def _shadow(row: Any) -> Shadow:
    key, updated_at, doc = row
    merged, sides, seen, versions = _loads(doc)
    return Shadow(key, merged, sides, frozenset(seen), versions, datetime.fromisoformat(updated_at))


def _loads(doc: str) -> Any:
    """The JSON document parsed by orjson (twice as fast as json here), by json where orjson
    refuses what json.dumps may have written (NaN, Infinity, an integer beyond 64 bits)."""
    try:
        return orjson.loads(doc)
    except orjson.JSONDecodeError:
        return json.loads(doc)


UPGRADE_WAIT_S = 30.0  # how long opening a store to upgrade it waits for a run in progress


class SqlStore:
    """StateStore over SQLAlchemy Core."""

    def __init__(self, url: str, password: str | None = None, journal_key: bytes | None = None) -> None:
        self.url = url
        self.journal_key = journal_key
        self.journal_key_problem: ConfigProblem | None = None  # a key configured but unusable
        self.is_sqlite = url.startswith("sqlite")
        try:
            self.engine = self._engine(url, password)
        except DatabaseError as exc:  # OperationalError, or a file that is not a database
            raise StoreError(f"cannot open the state store {self._safe_url()}: {exc.orig}") from None
        try:
            self._migrate()
        except DatabaseError as exc:
            self.engine.dispose()
            raise StoreError(f"cannot open the state store {self._safe_url()}: {exc.orig}") from None
        except BaseException:  # Locked (an upgrade waiting for a run), a signal: no connection left open
            self.engine.dispose()
            raise

    def _safe_url(self) -> str:
        return self.url.split("@")[-1] if "@" in self.url else self.url

    def _engine(self, url: str, password: str | None) -> Engine:
        if not self.is_sqlite:
            from sqlalchemy.engine import make_url

            made = make_url(url)
            if password:
                made = made.set(password=password)
            return create_engine(made, pool_pre_ping=True)
        path = url[len("sqlite:///") :]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN itself
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")  # first: switching to WAL may wait for a lock
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Writers take the write lock up front, so two processes never deadlock upgrading
            # a read lock; readers begin deferred and do not wait for writers (WAL).
            immediate = conn.get_execution_options().get("immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    def _migrate(self) -> None:
        """Create the store, or upgrade it. An upgrade holds the one-writer lock too (waiting a
        while for a run in progress, of this or an earlier version) so no run's writes straddle
        it; the migration transaction itself keeps two processes from both migrating."""
        with self.engine.connect() as conn:
            upgrade = upgrading(conn)
        with ExitStack() as held:
            if upgrade:
                why = "the store needs a schema upgrade, which waits for that run to finish"
                held.enter_context(waiting(lambda: self._writer_lock("schema upgrade"), UPGRADE_WAIT_S, why))
            with self._write() as conn:
                migrate(conn, self.is_sqlite)

    def _write(self) -> Any:
        """A transaction that writes (SQLite: BEGIN IMMEDIATE)."""
        return self.engine.execution_options(immediate=True).begin()

    def schema_versions(self) -> list[int]:
        with self.engine.connect() as conn:
            return [
                r.version for r in conn.execute(select(schema_version.c.version).order_by(schema_version.c.version))
            ]

    def close(self) -> None:
        self.engine.dispose()

    # --- lock
    def lock(self, owner: str, wait_s: float = 0.0) -> AbstractContextManager[None]:
        self._refuse_unkeyed_writer()
        return self._writer_lock(owner, wait_s)

    def _writer_lock(self, owner: str, wait_s: float = 0.0) -> AbstractContextManager[None]:
        """The one-writer lock; PostgreSQL waits up to `wait_s` for it in the server's queue (SQLite
        answers at once: its callers that wait poll)."""
        if self.is_sqlite:
            path = self.url[len("sqlite:///") :]
            return file_lock(Path(path + ".lock"), owner)
        return advisory_lock(self.engine, WRITER_LOCK, owner, wait_s)

    # --- links
    def link(self, key: str, ref: RemoteRef) -> None:
        with self._write() as conn:
            existing = conn.execute(
                select(links.c.remote_id, links.c.display).where(links.c.key == key, links.c.platform == ref.platform)
            ).first()
            if existing is None:
                conn.execute(
                    insert(links).values(
                        key=key, platform=ref.platform, remote_id=ref.id, display=ref.display, created_at=_now()
                    )
                )
            elif existing.remote_id != ref.id:
                raise LinkConflict(key, RemoteRef(ref.platform, existing.remote_id, existing.display), ref)

    def unlink(self, key: str, platform: str) -> RemoteRef | None:
        """Drop `key`'s link on `platform`; return what it linked (None: nothing was linked)."""
        where = (links.c.key == key, links.c.platform == platform)
        with self._write() as conn:
            row = conn.execute(select(links).where(*where)).first()
            if row is not None:
                conn.execute(links.delete().where(*where))
        return None if row is None else RemoteRef(row.platform, row.remote_id, row.display)

    def links(self, key: str) -> list[RemoteRef]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(links).where(links.c.key == key).order_by(links.c.platform))
            return [RemoteRef(r.platform, r.remote_id, r.display) for r in rows]

    def key_for(self, platform: str, remote_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(KEY_FOR, {"platform": platform, "remote_id": remote_id}).scalar()

    def all_links(self) -> Iterator[tuple[str, RemoteRef]]:
        query = select(links.c.key, links.c.platform, links.c.remote_id, links.c.display)
        with self.engine.connect() as conn:
            for part in conn.execute(query.order_by(links.c.key, links.c.platform)).partitions(_PART):
                for key, platform, remote_id, display in part:
                    yield key, RemoteRef(platform, remote_id, display)

    # --- shadows
    def shadow(self, key: str) -> Shadow | None:
        with self.engine.connect() as conn:
            r = conn.execute(_SHADOW.where(shadows.c.key == key)).first()
        return None if r is None else _shadow(r)

    def all_shadows(self) -> Iterator[Shadow]:
        """Every shadow in one query: audits read them all."""
        with self.engine.connect() as conn:
            for part in conn.execute(_SHADOW).partitions(_PART):
                yield from map(_shadow, part)

    def all_sides(self) -> Iterator[ShadowSides]:
        """Every shadow's key, merged fields and sides, in one query: what an audit reads of each
        (its comments seen, versions and time are neither read nor parsed)."""
        with self.engine.connect() as conn:
            for part in conn.execute(_SIDES).partitions(_PART):
                for key, doc in part:
                    merged, sides = _loads(doc)
                    yield key, merged, sides

    def put_shadow(self, shadow: Shadow) -> None:
        values = {
            "fields": dumps(shadow.merged),
            "sides": dumps(shadow.sides),
            "comments_seen": dumps(sorted(shadow.comments_seen)),
            "versions": dumps(shadow.versions),
            "updated_at": _now(),
        }
        with self._write() as conn:
            done = conn.execute(update(shadows).where(shadows.c.key == shadow.key).values(**values)).rowcount
            if not done:
                conn.execute(insert(shadows).values(key=shadow.key, **values))

    # --- cursors
    def cursor(self, name: str) -> Cursor | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(cursors).where(cursors.c.name == name)).first()
        return None if r is None else Cursor(r.name, r.value, tuple(json.loads(r.seen)))

    def put_cursor(self, cursor: Cursor) -> None:
        values = {"value": cursor.value, "seen": dumps(list(cursor.seen)), "updated_at": _now()}
        with self._write() as conn:
            done = conn.execute(update(cursors).where(cursors.c.name == cursor.name).values(**values)).rowcount
            if not done:
                conn.execute(insert(cursors).values(name=cursor.name, **values))

    # --- facts
    def facts(self, platform: str) -> Facts | None:
        """What earlier runs learned of `platform`; ValueError when what is kept is not JSON."""
        with self.engine.connect() as conn:
            r = conn.execute(select(facts).where(facts.c.platform == platform)).first()
        return None if r is None else Facts(r.platform, json.loads(r.facts), datetime.fromisoformat(r.learned_at))

    def put_facts(self, platform: str, values: dict[str, Any]) -> None:
        row = {"facts": dumps(values), "learned_at": _now()}
        with self._write() as conn:
            if not conn.execute(update(facts).where(facts.c.platform == platform).values(**row)).rowcount:
                conn.execute(insert(facts).values(platform=platform, **row))

    def forget_facts(self, platform: str) -> None:
        with self._write() as conn:
            conn.execute(facts.delete().where(facts.c.platform == platform))

    # --- people found by lookups
    def people(self, platform: str) -> list[PersonEntry]:
        with self.engine.connect() as conn:
            return people_rows.read(conn, platform)

    def put_people(self, entries: Sequence[PersonEntry]) -> None:
        if entries:
            with self._write() as conn:
                people_rows.write(conn, entries)

    # --- journal
    def append(
        self,
        run_id: str,
        kind: str,
        payload: dict[str, Any],
        *,
        key: str | None = None,
        platform: str | None = None,
        ref: str | None = None,
        action: str | None = None,
        intent_seq: int | None = None,
    ) -> JournalEntry:
        asked = {"key": key, "platform": platform, "ref": ref, "action": action, "intent_seq": intent_seq}
        return self.append_many([{"run_id": run_id, "kind": kind, "payload": payload, **asked}])[0]

    def append_many(self, entries: Sequence[Mapping[str, Any]]) -> list[JournalEntry]:
        """Journal entries (each the arguments of `append`, by name) chained in order and written
        in one transaction: one commit for many (`serialized`'s group commit)."""
        out: list[JournalEntry] = []
        with self._write() as conn:
            if not self.is_sqlite:
                conn.execute(text("LOCK TABLE journal IN EXCLUSIVE MODE"))
            last = conn.execute(select(journal.c.seq, journal.c.hash).order_by(journal.c.seq.desc()).limit(1)).first()
            prev = last.hash if last else GENESIS
            seq = last.seq if last else 0
            chain = KEYED if self.journal_key is not None else PLAIN
            rows = []
            for asked in entries:
                seq += 1
                fields: dict[str, Any] = {
                    "seq": seq,
                    "run_id": asked["run_id"],
                    "at": _now(),
                    "kind": asked["kind"],
                    **{name: asked.get(name) for name in ("key", "platform", "ref", "action", "intent_seq")},
                    "payload": asked["payload"],
                }
                digest = link_hash(prev, fields, self.journal_key)
                rows.append(
                    {**fields, "payload": dumps(fields["payload"]), "prev_hash": prev, "hash": digest, "chain": chain}
                )
                out.append(JournalEntry(**fields, prev_hash=prev, hash=digest))
                prev = digest
            if rows:
                conn.execute(insert(journal), rows)
        return out

    def journal(
        self, key: str | None = None, *, kinds: Sequence[str] = (), after: int | None = None, last: int | None = None
    ) -> Iterator[JournalEntry]:
        """Entries in order, of one key and of some kinds when given, after entry `after`; with
        `last`, only the last that many of them."""
        with self.engine.connect() as conn:
            rows = conn.execute(runs.entries(key, kinds, after, last))
            if last is None:
                for r in rows:
                    yield _entry(r)
                return
            newest_first = [_entry(r) for r in rows]
        yield from reversed(newest_first)

    def last_run(self) -> JournalEntry | None:
        """The entry the last finished run (sync, apply, retry) ended with."""
        with self.engine.connect() as conn:
            r = conn.execute(runs.last_run()).first()
        return None if r is None else _entry(r)

    def failed_in_last_run(self) -> list[str]:
        """Keys with a write that failed in the last finished run."""
        with self.engine.connect() as conn:
            return list(dict.fromkeys(conn.execute(runs.failed_in_last_run(self.is_sqlite)).scalars()))

    def relinked_since_last_run(self) -> list[str]:
        """Keys whose links were unlinked or relinked by hand since the last finished run."""
        with self.engine.connect() as conn:
            return list(dict.fromkeys(conn.execute(runs.relinked_since_last_run()).scalars()))

    def verify_journal(self, head: Head | None = None) -> VerifyResult:
        """Check the chain (HMACs too, with the key); against `head`, truncation and rewriting."""
        query = select(journal).order_by(journal.c.seq)
        with self.engine.connect() as conn:
            found = verify(((_entry(r), r.chain) for r in conn.execute(query)), self.journal_key, head)
        return VerifyResult(
            not found.problems, found.entries, found.problems, found.notes, found.head, found.keyed, found.plain
        )

    def head(self) -> Head:
        """The journal's entry count and last hash, to keep outside the database."""
        with self.engine.connect() as conn:
            last = conn.execute(select(journal.c.seq, journal.c.hash).order_by(journal.c.seq.desc()).limit(1)).first()
            count = conn.execute(select(func.count()).select_from(journal)).scalar() or 0
        return Head(count, last.hash if last else GENESIS)

    def _refuse_unkeyed_writer(self) -> None:
        """A journal that is HMAC-keyed takes no plain entry: dropping the key is not a way round it;
        nor does a store whose configured key is missing."""
        if self.journal_key is not None:
            return
        if self.journal_key_problem is not None:
            raise ConfigError([self.journal_key_problem])
        with self.engine.connect() as conn:
            last = conn.execute(select(journal.c.chain).order_by(journal.c.seq.desc()).limit(1)).first()
        if last is not None and last.chain == KEYED:
            raise ConfigError(
                [
                    ConfigProblem(
                        "state.journal_key_env",
                        "the journal is HMAC-keyed; set journal_key_env and its environment variable to write to it",
                    )
                ]
            )

    def open_intents(self) -> list[JournalEntry]:
        """Intents with no outcome: writes a run started and may or may not have finished."""
        outcome = journal.alias("outcome")
        settled = select(outcome.c.seq).where(outcome.c.intent_seq == journal.c.seq).exists()
        query = select(journal).where(journal.c.kind == "intent", ~settled).order_by(journal.c.seq)
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(query)]

    # --- quarantine
    def quarantine(
        self, platform: str, findings: list[dict[str, Any]], record: dict[str, Any], *, key: str | None, ref: str | None
    ) -> QuarantineEntry:
        now = _now()
        with self._write() as conn:
            same_record = (
                quarantine.c.platform == platform,
                (quarantine.c.key == key) if key is not None else (quarantine.c.ref == ref),
                # two records of one platform carrying one key (a key conflict) are two entries
                or_(quarantine.c.ref == ref, quarantine.c.ref.is_(None))
                if key is not None and ref is not None
                else true(),
            )
            # The open entry, else the newest released one: a record held again after a release
            # (retry releases first) keeps its entry and id.
            row = conn.execute(
                select(quarantine)
                .where(*same_record)
                .order_by(quarantine.c.released_at.is_not(None), quarantine.c.id.desc())
                .limit(1)
            ).first()
            if row is None:
                new_id = conn.execute(
                    insert(quarantine).values(
                        key=key,
                        platform=platform,
                        ref=ref,
                        findings=dumps(findings),
                        record=dumps(record),
                        first_seen=now,
                        last_seen=now,
                        attempts=1,
                    )
                ).inserted_primary_key[0]
                first, attempts = now, 1
            else:
                new_id, first, attempts = row.id, row.first_seen, row.attempts + 1
                conn.execute(
                    update(quarantine)
                    .where(quarantine.c.id == row.id)
                    .values(
                        findings=dumps(findings),
                        record=dumps(record),
                        last_seen=now,
                        attempts=attempts,
                        ref=ref or row.ref,
                        released_at=None,
                    )
                )
        return QuarantineEntry(new_id, key, platform, ref, findings, record, first, now, attempts)

    def quarantined(self, since: str | None = None) -> list[QuarantineEntry]:
        held = [quarantine.c.released_at.is_(None), quarantine.c.last_seen >= since if since is not None else true()]
        with self.engine.connect() as conn:
            rows = conn.execute(select(quarantine).where(*held).order_by(quarantine.c.id))
            return [
                QuarantineEntry(
                    r.id,
                    r.key,
                    r.platform,
                    r.ref,
                    json.loads(r.findings),
                    json.loads(r.record),
                    r.first_seen,
                    r.last_seen,
                    r.attempts,
                )
                for r in rows
            ]

    def release(self, entry_id: int) -> None:
        with self._write() as conn:
            conn.execute(update(quarantine).where(quarantine.c.id == entry_id).values(released_at=_now()))
