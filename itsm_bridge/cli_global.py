"""Global options (`--config`, `--json`, `-v`, `-q`, `--log-format`) accepted after the
subcommand too: `itsm-bridge status --json` and `itsm-bridge sync --config x.toml`, as users of
`gh` or `sqlite-utils` expect. The form before the subcommand keeps working; given in both places,
the one after the subcommand wins.

The group's callback runs before the subcommand's options are parsed (click makes the
subcommand's context after invoking the group), so each option's callback here updates the
context object the group made and sets the logging up again when it changed.
"""

from __future__ import annotations

from typing import Any

import click

LOG_FORMATS = ("text", "json")


def _apply(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    obj = ctx.find_root().obj  # the Context the group made (by position: under `python -m` cli is __main__)
    if obj is None or value in (None, False, 0):
        return
    if param.name == "config_path":
        obj.config_path = value
    elif param.name == "as_json":
        obj.json = True
    elif param.name == "verbose":
        obj.verbosity = value
    elif param.name == "quiet":
        obj.verbosity = -1
    elif param.name == "log_format":
        obj.log_format = value
    from itsm_bridge.log import setup

    setup(obj.verbosity, obj.log_format)


def global_params() -> list[click.Parameter]:
    """Fresh copies of the global options for one subcommand (a parameter belongs to one command)."""
    common: dict[str, Any] = {"expose_value": False, "callback": _apply}
    return [
        click.Option(["--config", "config_path"], type=click.Path(dir_okay=False), metavar="PATH",
                     help="Config file (as the global --config).", **common),  # fmt: skip
        click.Option(["--json", "as_json"], is_flag=True, help="Machine-readable JSON on stdout (as the global --json).", **common),
        click.Option(["-v", "--verbose"], count=True, help="More log output on stderr (as the global -v).", **common),
        click.Option(["-q", "--quiet"], is_flag=True, help="Errors only on stderr (as the global -q).", **common),
        click.Option(["--log-format"], type=click.Choice(LOG_FORMATS), help="Log format (as the global --log-format).", **common),
    ]


def with_global_params(command: click.Command) -> click.Command:
    """Give `command` (and, for a group, every command in it) the global options, once."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_global_params(sub)
        return command
    names = {n for p in command.params for n in p.opts}
    if "--json" not in names and "--config" not in names:
        command.params.extend(p for p in global_params() if not names & set(p.opts))
    return command


class BridgeGroup(click.Group):
    """A group whose commands (added by decorator or `add_command`, nested groups included)
    accept the global options after their name."""

    group_class = type  # nested groups are BridgeGroups too

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        super().add_command(with_global_params(cmd), name)
