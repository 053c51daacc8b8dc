"""`itsm-bridge init [PATH]`: write the commented starter config and say what to set next.

Parsing and printing only; the work is in `itsm_bridge.starter`.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from itsm_bridge.cli import Context
    from itsm_bridge.starter import Started


@click.command("init")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite PATH when it exists.")
@click.pass_obj
def init_command(ctx: Context, path: str | None, force: bool) -> None:
    """Write a commented starter config to PATH (default: --config, $ITSM_BRIDGE_CONFIG or
    ./itsm-bridge.toml) and print what to set next. Refuses an existing file (exit 2) unless --force."""
    from pathlib import Path

    from itsm_bridge.cli import emit, fail
    from itsm_bridge.config import default_path
    from itsm_bridge.errors import BridgeError
    from itsm_bridge.starter import write_starter

    target = Path(path or ctx.config_path or default_path())
    try:
        started = write_starter(target, force)
    except BridgeError as exc:
        fail(ctx, exc)
    emit(ctx, started.to_dict(), lambda: next_steps(started))


def next_steps(started: Started) -> str:
    """What a person does after `init`: edit, export the secrets, check, preview."""
    from itsm_bridge.config import default_path

    config = "" if started.path == default_path() else f" --config {shlex.quote(str(started.path))}"
    width = max((len(k) for k in started.secrets), default=0)
    lines = [
        f"Wrote {started.path}: the commented example config.",
        "Next:",
        "  1. Edit it: each platform's url and account, the Jira project, the status page id, [sync] and",
        "     the mappings. As written it targets the bundled sandbox (itsm-bridge sandbox --port 8800 --seed 50).",
        "  2. Export the secrets; the file names the environment variables, never the values:",
        *(f"       {key:<{width}}  ${env}" for key, env in started.secrets.items()),
        f"  3. itsm-bridge{config} doctor   checks each platform: reachable, credentials, permissions, mapped values",
        f"  4. itsm-bridge{config} plan     shows what the first sync would change, writing nothing",
    ]
    return "\n".join(lines)
