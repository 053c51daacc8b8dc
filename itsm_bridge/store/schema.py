"""The store's tables (SQLAlchemy Core), one definition for SQLite and PostgreSQL.

Times are ISO 8601 strings, plain data is canonical JSON text (`chain.dumps`): both read back the
same on either database and hash the same in the journal. A shadow's parts are columns of their
own (merged values, sides, comments seen, versions) rather than one document: each has one shape
and one reader, a reader takes only the columns it needs (the store audit skips versions and
comments), and the store's `schema_version` already versions the whole, so a document needs no
version of its own.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("applied_at", String(40), nullable=False),
)
links = Table(
    "links",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("platform", String(40), primary_key=True),
    Column("remote_id", String(200), nullable=False),
    Column("display", String(200), nullable=False, default=""),
    Column("created_at", String(40), nullable=False),
    UniqueConstraint("platform", "remote_id", name="uq_links_remote"),
)
shadows = Table(
    "shadows",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("fields", Text, nullable=False),  # the merged canonical values, as last synced
    Column("versions", Text, nullable=False),  # platform -> vendor version seen
    Column("updated_at", String(40), nullable=False),
    Column("sides", Text, nullable=False, server_default="{}"),  # platform -> carried values as it showed them
    Column("comments_seen", Text, nullable=False, server_default="[]"),  # fingerprints, sorted
)
cursors = Table(
    "cursors",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", String(100), nullable=False),
    Column("seen", Text, nullable=False),
    Column("updated_at", String(40), nullable=False),
)
facts = Table(
    "facts",
    metadata,
    Column("platform", String(40), primary_key=True),
    Column("facts", Text, nullable=False),  # the connector's own plain data, as JSON
    Column("learned_at", String(40), nullable=False),
)
people = Table(
    "people",
    metadata,
    Column("platform", String(40), primary_key=True),
    Column("email", String(320), primary_key=True),
    Column("remote_id", String(200), nullable=False),  # "" when no user of the platform has the address
    Column("looked_up_at", String(40), nullable=False),
)
journal = Table(
    "journal",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("key", String(200), index=True),
    Column("platform", String(40)),
    Column("ref", String(200)),
    Column("action", String(40)),
    Column("intent_seq", Integer, index=True),  # on an outcome: the intent it settles
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("chain", String(16)),  # how `hash` was made: sha256 (also when NULL) or hmac-sha256
)
# The last run is the last entry of kind `run`, its writes are found by run id: both by index,
# however long the journal.
JOURNAL_INDEXES = (
    Index("ix_journal_kind_seq", journal.c.kind, journal.c.seq),
    Index("ix_journal_run_id", journal.c.run_id),
)
quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), index=True),
    Column("platform", String(40), nullable=False),
    Column("ref", String(200)),
    Column("findings", Text, nullable=False),
    Column("record", Text, nullable=False),
    Column("first_seen", String(40), nullable=False),
    Column("last_seen", String(40), nullable=False),
    Column("attempts", Integer, nullable=False, default=1),
    Column("released_at", String(40)),
)
deliveries = Table(
    "deliveries",
    metadata,
    Column("platform", String(40), primary_key=True),
    Column("delivery_id", String(200), primary_key=True),  # the vendor's id of one webhook delivery
    Column("received_at", String(40), nullable=False, index=True),
)
