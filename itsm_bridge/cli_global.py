"""The command group's behaviour shared by every command: usage mistakes and ordinary failures
(`cli_errors.ordinary`) end in one `error:` line, never a traceback; and the global options
(`--config`, `--json`, `-v`, `-q`, `--log-format`, `--progress`) are accepted after the subcommand too: `itsm-bridge status --json` and `itsm-bridge sync --config x.toml`, as users of
`gh` or `sqlite-utils` expect. The form before the subcommand keeps working; given in both places,
the one after the subcommand wins.

The group's callback runs before the subcommand's options are parsed (click makes the
subcommand's context after invoking the group), so each option's callback here updates the
context object the group made and sets the logging up again when it changed.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

LOG_FORMATS = ("text", "json")


def _apply(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    obj = ctx.find_root().obj  # the Context the group made (by position: under `python -m` cli is __main__)
    if obj is not None and param.name == "show_progress" and value is not None:
        obj.progress = value  # --no-progress (False) counts too
        return
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
        click.Option(
            ["--config", "config_path"],
            type=click.Path(dir_okay=False),
            metavar="PATH",
            help="Config file (as the global --config).",
            **common,
        ),
        click.Option(
            ["--json", "as_json"],
            is_flag=True,
            help="Machine-readable JSON on stdout (as the global --json).",
            **common,
        ),
        click.Option(["-v", "--verbose"], count=True, help="More log output on stderr (as the global -v).", **common),
        click.Option(["-q", "--quiet"], is_flag=True, help="Errors only on stderr (as the global -q).", **common),
        click.Option(
            ["--log-format"], type=click.Choice(LOG_FORMATS), help="Log format (as the global --log-format).", **common
        ),
        click.Option(
            ["--progress/--no-progress", "show_progress"],
            default=None,
            help="Live progress on stderr (as the global --progress).",
            **common,
        ),
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

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:  # a bad global option or command name
            if parent is not None:
                raise
            _usage_line(exc)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; an ordinary failure (disk full, a path or port unusable, a broken
        state store) is reported as one `error:` line with its exit code, never a traceback."""
        from itsm_bridge.cli_errors import ordinary

        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            if ctx.parent is not None:
                raise
            _usage_line(exc)
        except KeyboardInterrupt:  # Ctrl-C outside a run (a run handles its own signals)
            if ctx.parent is not None:
                raise
            click.echo("error: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001  (only what `ordinary` recognises is handled)
            error = ordinary(exc)
            if error is None or ctx.parent is not None:
                raise
            report = sys.modules[self.callback.__module__].fail  # cli.fail
            report(ctx.obj, error)


def _usage_line(exc: click.UsageError) -> NoReturn:
    """A usage mistake as one line, naming where help is, with click's exit code (2)."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):  # a bare group name: its help, as click shows it
        exc.show()
        sys.exit(exc.exit_code)
    where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    click.echo(f"error: {exc.format_message()}{where}", err=True)
    sys.exit(exc.exit_code)
