"""`itsm-bridge links ...`: list, show and repair the links between keys and remote records.

Parsing and printing only, over `itsm_bridge.Bridge` (the work is in `itsm_bridge.links`). Unlink
and relink take the store's lock (a running sync is never changed under its feet) and are journaled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from itsm_bridge.cli import Context

# cli.py registers this group, so its helpers are imported when a command runs (not at import).
pass_ctx = click.pass_obj


def emit(ctx: Context, data: Any, text: str | Callable[[], str]) -> None:
    from itsm_bridge.cli import emit as cli_emit

    cli_emit(ctx, data, text)


@click.group("links")
def links_group() -> None:
    """The links between canonical keys and remote records, and their repair."""


@links_group.command("list")
@pass_ctx
def links_list(ctx: Context) -> None:
    """Every link: key, platform, remote id and display name."""
    from dataclasses import asdict

    from itsm_bridge.cli import _run
    from itsm_bridge.output import table

    links = _run(ctx, lambda bridge: bridge.links())
    text = table(["key", "platform", "id", "display"], [[r.key, r.platform, r.id, r.display] for r in links])
    emit(ctx, [asdict(r) for r in links], text if links else "No links.")


@links_group.command("show")
@click.argument("key")
@pass_ctx
def links_show(ctx: Context, key: str) -> None:
    """One key: its links, its state as last synced, what holds it back, its latest journal entries."""
    from itsm_bridge.cli import _run

    data = _run(ctx, lambda bridge: bridge.key(key)).to_dict()
    emit(ctx, data, lambda: _render_show(data))


def _render_show(data: dict[str, Any]) -> str:
    from itsm_bridge.output import table

    synced = data["synced"]
    lines = [f"{data['key']}: {synced.get('title') or '(no shadow)'} [{synced.get('state') or '-'}]"]
    lines += [f"  {r['platform']}: {r['display'] or r['id']} (id {r['id']})" for r in data["links"]] or [
        "  linked to nothing"
    ]
    lines += [f"  quarantined on {q['platform']}: {'; '.join(map(str, q['findings']))}" for q in data["quarantined"]]
    rows = [
        [e["seq"], e["at"][:19], e["kind"], e["action"] or "", e["platform"] or "", e["result"] or ""]
        for e in data["journal"]
    ]
    return "\n".join(lines) + (
        "\n" + table(["seq", "at", "kind", "action", "platform", "result"], rows) if rows else ""
    )


@links_group.command("unlink")
@click.argument("key")
@click.argument("platform", metavar="PLATFORM")
@pass_ctx
def links_unlink(ctx: Context, key: str, platform: str) -> None:
    """Forget KEY's record on PLATFORM (journaled); `itsm-bridge retry` then creates it again,
    or finds it by its correlation key. Exit 2 when nothing is linked there."""
    from itsm_bridge.cli import _run

    was = _run(ctx, lambda bridge: bridge.unlink(key, platform))
    emit(
        ctx,
        {"ok": True, "key": key, "platform": platform, "was": {"id": was.id, "display": was.display}},
        f"Unlinked {key} from {platform} {was.display or was.id}; run `itsm-bridge retry` to create or find it again.",
    )


@links_group.command("relink")
@click.argument("key")
@click.argument("platform", metavar="PLATFORM")
@click.argument("ref", metavar="REF")
@pass_ctx
def links_relink(ctx: Context, key: str, platform: str, ref: str) -> None:
    """Link KEY on PLATFORM to the record REF (sys_id, issue key or id, page incident id), checked
    to exist and to be linked to no other key (journaled); `itsm-bridge retry` then aligns it.
    Exit 2 when REF is not there or belongs to another key, 4 when the platform is unreachable."""
    from itsm_bridge.cli import _run

    new = _run(ctx, lambda bridge: bridge.relink(key, platform, ref))
    emit(
        ctx,
        {"ok": True, "key": key, "platform": platform, "now": {"id": new.id, "display": new.display}},
        f"Linked {key} to {platform} {new.display or new.id}; run `itsm-bridge retry` to align it.",
    )
