"""The API tests use the integration fixtures: a running sandbox over loopback HTTP and a config
pointing at it (its secrets in this process's environment)."""

from __future__ import annotations

from tests.integration.conftest import bridge, sandbox  # noqa: F401  (fixtures)
