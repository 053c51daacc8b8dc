"""`itsm-bridge serve`: parsing and printing only; the work is in `itsm_bridge.serve`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from itsm_bridge.cli import Context


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; TLS is a reverse proxy's job.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0 picks a free port.")
@click.option(
    "--workers",
    type=click.IntRange(1, 1000),
    default=200,
    show_default=True,
    help="Jobs this process takes at once; those taken while one engine run writes join the next run "
    "(up to 100 a run): twice that keeps the next batch filling while one runs.",
)
@click.pass_obj
def serve_command(ctx: Context, host: str, port: int, workers: int) -> None:
    """Take Jira and ServiceNow webhooks and sync the incidents they name, until SIGINT or SIGTERM.

    Endpoints: POST /webhooks/jira, POST /webhooks/servicenow; GET /healthz, /readyz, /metrics.
    A webhook is only a hint: its record is read again through the API and synced as `sync`
    would. A full sync (the sweep) runs at start and every [serve] sweep_interval_seconds.
    With --json, prints one line of JSON when ready, holding "url". Exits 130 or 143 when stopped.
    """
    import errno

    from itsm_bridge.cli import fail
    from itsm_bridge.cli_errors import UnusablePath
    from itsm_bridge.errors import BridgeError
    from itsm_bridge.serve.app import serve_until_stopped

    try:
        config = ctx.load_config()
        code = serve_until_stopped(config, host=host, port=port, workers=workers, as_json=ctx.json, echo=_echo)
    except BridgeError as exc:
        fail(ctx, exc)
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        fail(ctx, UnusablePath(f"--host {host} --port {port}: cannot listen there ({exc.strerror})"))
    sys.exit(code)


def _echo(line: str) -> None:
    click.echo(line)
    sys.stdout.flush()
