"""The `itsm-bridge` command: parsing and printing only; the work lives in the library.

Imports of the library happen inside commands, so `itsm-bridge --help` starts fast.
Exit codes: 0 ok, 1 records failed or were quarantined, 2 usage or config error,
3 another run holds the lock, 4 a platform is unreachable or refused credentials.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, Callable, NoReturn

import click

from itsm_bridge import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED, EXIT_UNREACHABLE = 0, 1, 2, 3, 4


@dataclass
class Context:
    config_path: str | None
    json: bool
    verbosity: int
    log_format: str

    def load_config(self, path: str | None = None) -> Any:
        from itsm_bridge import config

        return config.load(path or self.config_path)


def emit(ctx: Context, data: Any, text: str | Callable[[], str]) -> None:
    """Print `data` as JSON under --json, else the human text."""
    if ctx.json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(text() if callable(text) else text)


def fail(ctx: Context, exc: Exception) -> NoReturn:
    """Report a BridgeError on stderr (and as JSON on stdout with --json); exit with its code."""
    from itsm_bridge.errors import BridgeError, ConfigError

    code = exc.exit_code if isinstance(exc, BridgeError) else EXIT_FAILED
    if isinstance(exc, ConfigError):
        lines = [str(p) for p in exc.problems]
        payload: dict[str, Any] = {
            "ok": False,
            "error": "config",
            "problems": [
                {"key": p.key_path, "message": p.message, "file": p.file, "line": p.line} for p in exc.problems
            ],
        }
    else:
        lines = [str(exc)]
        payload = {"ok": False, "error": type(exc).__name__, "message": str(exc)}
    from itsm_bridge.log import redact

    for line in lines:
        click.echo(redact(f"error: {line}"), err=True)
    if ctx.json:
        click.echo(redact(json.dumps(payload, indent=2, ensure_ascii=False)))
    sys.exit(code)


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="itsm-bridge")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="ITSM_BRIDGE_CONFIG",
    help="Config file (default ./itsm-bridge.toml, or $ITSM_BRIDGE_CONFIG).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Errors only on stderr.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def main(click_ctx: click.Context, config_path: str | None, as_json: bool, verbose: int, quiet: bool, log_format: str) -> None:
    """Keep ServiceNow, Jira Service Management and a status page aligned on one incident model."""
    from itsm_bridge.log import setup

    verbosity = -1 if quiet else verbose
    setup(verbosity, log_format)
    click_ctx.obj = Context(config_path, as_json, verbosity, log_format)


# ---------------------------------------------------------------------------------------------
# config


@main.group("config")
def config_group() -> None:
    """Check and show the configuration."""


@config_group.command("validate")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@pass_ctx
def config_validate(ctx: Context, path: str | None) -> None:
    """Validate a config file: prints OK, or every problem with key, file and line (exit 2)."""
    from itsm_bridge.errors import ConfigError

    try:
        cfg = ctx.load_config(path)
    except ConfigError as exc:
        fail(ctx, exc)
    emit(ctx, {"ok": True, "file": str(cfg.path)}, f"OK: {cfg.path}")


@config_group.command("show")
@pass_ctx
def config_show(ctx: Context) -> None:
    """Print the effective config, defaults filled in; secrets shown only as set / not set."""
    from itsm_bridge.config_view import effective_config, render_toml
    from itsm_bridge.errors import ConfigError

    try:
        cfg = ctx.load_config()
    except ConfigError as exc:
        fail(ctx, exc)
    data = effective_config(cfg)
    emit(ctx, data, lambda: render_toml(data))


# ---------------------------------------------------------------------------------------------
# mapping


@main.group("mapping")
def mapping_group() -> None:
    """Inspect the priority matrix, taxonomy and state maps."""


@mapping_group.command("check")
@pass_ctx
def mapping_check(ctx: Context) -> None:
    """Show the priority matrix and each platform's values; flag terms a platform cannot express."""
    from itsm_bridge.errors import ConfigError
    from itsm_bridge.mapping.check import mapping_report
    from itsm_bridge.output import render_mapping

    try:
        cfg = ctx.load_config()
    except ConfigError as exc:
        fail(ctx, exc)
    report = mapping_report(cfg)
    emit(ctx, report, lambda: render_mapping(report))


# ---------------------------------------------------------------------------------------------
# sandbox


@main.command("sandbox")
@click.option("--port", type=int, default=0, show_default=True,
              help="First port (ServiceNow; Jira +1, Statuspage +2, Cachet +3); 0 picks free ports.")
@click.option("--seed", "incidents", type=int, default=0, show_default=True, help="Load N realistic incidents.")
@click.option("--faults", type=click.Choice(["none", "flaky", "storm", "lossy"]), default="none", show_default=True,
              help="Fault profile, seeded and deterministic.")
@click.option("--state", type=click.Path(dir_okay=False), help="Persist data here; resume from it when it exists.")
@click.option("--random-seed", type=int, default=0, show_default=True, help="Seed of generated data, ids and faults.")
@click.option("--write-config", type=click.Path(dir_okay=False), help="Write an itsm-bridge config for this sandbox.")
@click.option("--provider", type=click.Choice(["statuspage", "cachet"]), default="statuspage", show_default=True,
              help="Status page the written config targets.")
@pass_ctx
def sandbox_command(
    ctx: Context, port: int, incidents: int, faults: str, state: str | None, random_seed: int,
    write_config: str | None, provider: str,
) -> None:  # fmt: skip
    """Serve local ServiceNow, Jira, Statuspage and Cachet imitations until SIGINT or SIGTERM.

    With --json, prints one line of JSON when ready: each platform's URL, the Statuspage page id,
    the credentials, and "env" (the environment variables holding them).
    """
    from itsm_bridge.sandbox.run import serve_until_stopped

    serve_until_stopped(
        port=port, incidents=incidents, faults=faults, state=state, random_seed=random_seed,
        write_config=write_config, provider=provider, as_json=ctx.json, echo=click.echo,
    )  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    main()
