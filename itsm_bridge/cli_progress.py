"""Whether and how the CLI shows live progress (drawn by `itsm_bridge.progress_view`, with rich).

Shown when stderr is a terminal, unless `--json` or `-q`; `--progress` / `--no-progress` force it
either way. Under cron (stderr not a terminal) nothing is drawn, rich is not even imported, and
nothing extra is asked of a vendor.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from itsm_bridge import progress

if TYPE_CHECKING:
    from itsm_bridge.progress_view import TerminalProgress


def wanted(forced: bool | None, as_json: bool, verbosity: int) -> bool:
    """Draw progress? As forced, else on a terminal, not under --json or -q."""
    if forced is not None:
        return forced
    return sys.stderr.isatty() and not as_json and verbosity >= 0


@contextmanager
def shown(forced: bool | None, as_json: bool, verbosity: int) -> Iterator[TerminalProgress | None]:
    """Progress on stderr for the block when `wanted`; the display is ended on the way out."""
    if not wanted(forced, as_json, verbosity):
        yield None
        return
    from rich.console import Console

    from itsm_bridge.progress_view import TerminalProgress

    renderer = TerminalProgress(Console(stderr=True, force_terminal=True if forced else None))
    try:
        with progress.observing(renderer):
            yield renderer
    finally:
        renderer.pause()


def paused_echo(live: TerminalProgress | None) -> Callable[[str], None]:
    """`click.echo` that first ends the live display, so a line on stdout never lands inside it."""
    import click

    def echo(line: str) -> None:
        if live is not None:
            live.pause()
        click.echo(line)

    return echo
