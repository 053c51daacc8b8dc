"""The integration fixtures (a running sandbox, and `bridge` running the CLI against it), shared."""

from tests.integration.conftest import bridge, sandbox  # noqa: F401  (pytest fixtures)
