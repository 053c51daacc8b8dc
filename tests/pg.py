"""PostgreSQL for the store's tests: a database of its own per test, on the server named by
ITSM_BRIDGE_TEST_PG_URL (an admin URL, e.g. postgresql+psycopg://postgres@127.0.0.1:55439/postgres;
.ci/run starts a throwaway server and sets it). Without it, these tests are skipped, visibly."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

ADMIN_URL = os.environ.get("ITSM_BRIDGE_TEST_PG_URL")
needs_pg = pytest.mark.skipif(not ADMIN_URL, reason="ITSM_BRIDGE_TEST_PG_URL not set (.ci/run sets it)")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    from sqlalchemy import create_engine, text

    assert ADMIN_URL is not None
    name = f"bridge_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
