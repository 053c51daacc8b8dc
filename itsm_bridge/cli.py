"""The `itsm-bridge` command: parsing and printing only, over the public API (`itsm_bridge.Bridge`).

Imports of the library happen inside commands, so `itsm-bridge --help` starts fast.
Exit codes: 0 ok, 1 records failed or were quarantined, 2 usage or config error,
3 another run holds the lock, 4 a platform is unreachable or refused credentials.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar

import click

from itsm_bridge import __version__
from itsm_bridge.cli_global import BridgeGroup

if TYPE_CHECKING:
    from itsm_bridge import JournalEntry
    from itsm_bridge.api import Bridge
    from itsm_bridge.config import Config
    from itsm_bridge.reports.baseline import Baseline
    from itsm_bridge.results import RunResult

T = TypeVar("T")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED, EXIT_UNREACHABLE = 0, 1, 2, 3, 4


@dataclass
class Context:
    config_path: str | None
    json: bool
    verbosity: int
    log_format: str
    progress: bool | None = None  # --progress / --no-progress; None: on a terminal only

    def load_config(self, path: str | None = None) -> Config:
        from itsm_bridge import load_config

        return load_config(path or self.config_path)


def emit(ctx: Context, data: Any, text: str | Callable[[], str]) -> None:
    """Print `data` as JSON under --json, else the human text (control characters escaped)."""
    from itsm_bridge.output import printable

    if ctx.json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(printable(text() if callable(text) else text))


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
    from itsm_bridge.output import printable

    for line in lines:
        click.echo(printable(redact(f"error: {line}")), err=True)
    if ctx.json:
        click.echo(redact(json.dumps(payload, indent=2, ensure_ascii=False)))
    sys.exit(code)


pass_ctx = click.make_pass_decorator(Context)


@click.group(cls=BridgeGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
@click.option(
    "--progress/--no-progress",
    "show_progress",
    default=None,
    help="Live progress on stderr (default: on a terminal, not with --json or -q).",
)
@click.pass_context
def main(
    click_ctx: click.Context,
    config_path: str | None,
    as_json: bool,
    verbose: int,
    quiet: bool,
    log_format: str,
    show_progress: bool | None,
) -> None:
    """Keep ServiceNow, Jira Service Management and a status page aligned on one incident model."""
    from itsm_bridge.log import setup

    verbosity = -1 if quiet else verbose
    setup(verbosity, log_format)
    click_ctx.obj = Context(config_path, as_json, verbosity, log_format, show_progress)


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
# sync, plan, apply, retry


def _run(ctx: Context, work: Callable[[Bridge], T]) -> T:
    """`work` done by the Bridge over the command's config, with live progress on a terminal
    (ended before anything is printed); a BridgeError ends the command."""
    from itsm_bridge.api import Bridge
    from itsm_bridge.cli_progress import shown
    from itsm_bridge.errors import BridgeError

    try:
        with shown(ctx.progress, ctx.json, ctx.verbosity):
            return work(Bridge(ctx.config_path))
    except BridgeError as exc:
        fail(ctx, exc)


def _writable(ctx: Context, *outputs: tuple[str | None, str]) -> None:
    """Fail (exit 2) before any work when an output file given, as (path, option), cannot be written."""
    from itsm_bridge.cli_errors import UnusablePath, check_writable

    try:
        for path, option in outputs:
            if path:
                check_writable(path, option)
    except UnusablePath as exc:
        fail(ctx, exc)


def _finish(ctx: Context, result: RunResult, text: str) -> None:
    emit(ctx, result.to_dict(), text)
    sys.exit(result.exit_code)


def _summary_text(result: RunResult) -> str:
    from itsm_bridge.output import counts, run_counts

    d = result.to_dict()
    lines = [f"run {d['run_id']}: {run_counts(d)}; API calls: {counts(d['api_calls'])}"]
    lines += [f"  failed {e['action']} {e['platform']} [{e['key']}]: {e['message']}" for e in d["errors"]]
    lines += [
        f"  {p}: rate limit reached; its work waits for the next run (the limit resets at {at})"
        for p, at in d.get("paused", {}).items()
    ]
    if d.get("interrupted"):
        lines.insert(
            0,
            f"INTERRUPTED by {d['interrupted']}: the writes in flight finished and are journaled; "
            f"{d.get('unfinished', 0)} incident(s) unfinished; the next run carries on",
        )
    if d.get("held_in_quarantine"):
        lines.append(
            f"{d['held_in_quarantine']} record(s) held in quarantine (exit 1 until released): "
            "`itsm-bridge quarantine list`; fix the cause and `retry`, or `quarantine ack`"
        )
    if d.get("journal_head"):
        lines.append(f"journal head {d['journal_head']['head']} (keep it outside the database: journal verify --head)")
    return "\n".join(lines)


@main.command("sync")
@click.option("--dry-run", is_flag=True, help="Plan only: read, print what would change, write nothing.")
@click.option("--only", metavar="KEY", help="Only the incident with this canonical key.")
@click.option("--limit", type=click.IntRange(min=0), help="At most N incidents this run (the rest next run).")
@pass_ctx
def sync_command(ctx: Context, dry_run: bool, only: str | None, limit: int | None) -> None:
    """Plan and apply one cycle: read changes, merge, write to every target, record state.

    Exit 0 when everything was applied, 1 when a record failed or any record is held in
    quarantine (this run's or an earlier one's), 2 on a usage or config error (an --only KEY that
    exists nowhere included), 3 when another run holds the lock, 4 when a platform is unreachable
    or refuses the credentials.
    """
    result = _run(ctx, lambda bridge: bridge.sync(dry_run=dry_run, only=only, limit=limit))
    text = (result.plan.render() + "\n") if result.plan is not None else ""
    _finish(ctx, result, text + _summary_text(result))


@main.command("plan")
@click.option("--out", type=click.Path(dir_okay=False), help="Save the plan as JSON for `itsm-bridge apply`.")
@click.option("--only", metavar="KEY", help="Only the incident with this canonical key.")
@click.option("--limit", type=click.IntRange(min=0), help="At most N incidents.")
@pass_ctx
def plan_command(ctx: Context, out: str | None, only: str | None, limit: int | None) -> None:
    """Read only, and print every create, update, transition, comment and publish a sync would
    make, with old -> new values and the rule that decided it.

    Exit 0 when nothing would be held back, 1 when a record would be quarantined (blocked),
    2 on a usage or config error (an --only KEY that exists nowhere included), 4 when a platform
    is unreachable or refuses the credentials. It takes no lock and writes nothing.
    """
    _writable(ctx, (out, "--out"))
    plan = _run(ctx, lambda bridge: bridge.plan(only=only, limit=limit))
    if out:
        plan.save(out)
    emit(ctx, plan.to_dict(), plan.render() + (f"\nSaved to {out}" if out else ""))
    sys.exit(1 if plan.blocked else 0)


@main.command("apply")
@click.argument("plan_file", metavar="PLAN", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def apply_command(ctx: Context, plan_file: str) -> None:
    """Apply exactly a saved plan; refuse any action whose record changed since it was made."""
    from itsm_bridge.sync.plan import Plan

    try:
        plan = Plan.load(plan_file)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # not JSON, or not a plan's shape
        raise click.BadParameter(f"{plan_file}: not an itsm-bridge plan ({exc})", param_hint="PLAN") from None
    result = _run(ctx, lambda bridge: bridge.apply(plan))
    _finish(ctx, result, _summary_text(result))


@main.command("retry")
@pass_ctx
def retry_command(ctx: Context) -> None:
    """Re-evaluate quarantined records (after a mapping fix) and re-run failed writes."""
    result = _run(ctx, lambda bridge: bridge.retry())
    _finish(ctx, result, _summary_text(result))


# ---------------------------------------------------------------------------------------------
# status, quarantine, journal, doctor


@main.command("status")
@pass_ctx
def status_command(ctx: Context) -> None:
    """Last run, quarantined records, recent conflicts, cursors and links."""
    from itsm_bridge.output import render_status

    st = _run(ctx, lambda bridge: bridge.status())
    emit(ctx, st.to_dict(), lambda: render_status(st.to_dict()))


@main.group("quarantine")
def quarantine_group() -> None:
    """Records held back by blocking findings."""


@quarantine_group.command("list")
@pass_ctx
def quarantine_list(ctx: Context) -> None:
    """Every quarantined record with the findings that hold it."""
    from itsm_bridge.output import table

    held = _run(ctx, lambda bridge: bridge.status()).to_dict()["quarantined"]
    rows = [[q["id"], q["key"], q["platform"], q["attempts"], "; ".join(q["findings"])] for q in held]
    emit(ctx, held, table(["id", "key", "platform", "attempts", "findings"], rows) if rows else "Nothing quarantined.")


@quarantine_group.command("ack")
@click.argument("ids", metavar="ID...", nargs=-1, required=True, type=int)
@click.option("--reason", required=True, help="Why the record may stay unsynced (journaled).")
@pass_ctx
def quarantine_ack(ctx: Context, ids: tuple[int, ...], reason: str) -> None:
    """Acknowledge quarantined records: release them without syncing, journaling who and why,
    so runs stop exiting 1 for them. A later change to the record is synced (or held) again."""
    from dataclasses import asdict

    acked = _run(ctx, lambda bridge: bridge.acknowledge(list(ids), reason))
    emit(
        ctx,
        {"acknowledged": [asdict(q) for q in acked]},
        "\n".join(f"acknowledged {q.id} {q.key} ({q.platform})" for q in acked),
    )


@main.group("journal")
def journal_group() -> None:
    """The hash-chained record of every write."""


@journal_group.command("verify")
@click.option(
    "--head",
    "head_value",
    metavar="HEAD",
    help="A head kept outside the database (ENTRIES:HASH from a run summary, or a head file): "
    "also detects removed last entries and rewriting up to it.",
)
@pass_ctx
def journal_verify(ctx: Context, head_value: str | None) -> None:
    """Check the hash chain (HMACs with state.journal_key_env): exit 1 if any entry was edited,
    removed or reordered, or the journal does not match --head."""
    from itsm_bridge.store.chain import Head

    try:
        head = Head.parse(head_value) if head_value else None
    except (ValueError, OSError) as exc:
        raise click.BadParameter(str(exc), param_hint="--head") from None
    result = _run(ctx, lambda bridge: bridge.verify_journal(head))
    found = result.head.to_dict() if result.head else None
    status = f"OK: {result.entries} entries, chain intact" if result.ok else "\n".join(["BROKEN:", *result.problems])
    text = "\n".join(
        [
            status,
            f"head {found['head'] if found else '-'} ({result.keyed} keyed, {result.plain} plain)",
            *[f"note: {n}" for n in result.notes],
        ]
    )
    emit(
        ctx,
        {
            "ok": result.ok,
            "entries": result.entries,
            "problems": result.problems,
            "notes": result.notes,
            "head": found,
            "keyed": result.keyed,
            "plain": result.plain,
        },
        text,
    )
    sys.exit(0 if result.ok else 1)


def _journal_result(entry: JournalEntry) -> str:
    """The `result` column of `journal show`: a run's counts, else the entry's outcome or reason."""
    from itsm_bridge.output import run_counts

    p = entry.payload
    if entry.kind == "run":  # an interrupted run's result says so, with what it did
        return ("retry: " if p.get("retry") else "") + str(p.get("result") or run_counts(p))
    return str(p.get("result") or p.get("rule") or p.get("reason") or p.get("message") or "")


@journal_group.command("show")
@click.option("--key", help="Only entries of this canonical key.")
@click.option("--last", type=click.IntRange(min=1), default=50, show_default=True, help="How many entries.")
@pass_ctx
def journal_show(ctx: Context, key: str | None, last: int) -> None:
    """Journal entries, newest last."""
    from itsm_bridge.output import table

    entries = _run(ctx, lambda bridge: bridge.journal(key=key, last=last))
    data = [e.__dict__ for e in entries]
    rows = [
        [
            e.seq,
            e.at[:19],
            e.kind,
            e.action or "",
            e.platform or "",
            e.key or "",
            e.ref or "",
            _journal_result(e),
        ]
        for e in entries
    ]
    emit(ctx, data, table(["seq", "at", "kind", "action", "platform", "key", "ref", "result"], rows))


@main.command("doctor")
@pass_ctx
def doctor_command(ctx: Context) -> None:
    """Check every platform (reachable, credentials, permissions, mapped values) and the mapping.

    Exit 0 when all is fine, 4 when a platform check fails, 2 when only the config or the
    environment (a secret's variable not set) is at fault, 1 when only linked records are gone.
    """
    from itsm_bridge.output import table

    result = _run(ctx, lambda bridge: bridge.doctor())
    rows = [
        [r.platform, r.check, "FAIL" if not r.ok else "warn" if r.warning else "ok", r.detail, r.fix]
        for r in result.checks
    ]
    emit(ctx, result.to_dict(), table(["platform", "check", "", "detail", "fix"], rows))
    sys.exit(result.exit_code)


@main.command("demo")
@click.option("--incidents", type=click.IntRange(min=1), default=20, show_default=True, help="Seeded incidents.")
@click.option(
    "--workdir", type=click.Path(file_okay=False), help="Where config, state and reports go (default: a new temp dir)."
)
@pass_ctx
def demo_command(ctx: Context, incidents: int, workdir: str | None) -> None:
    """Run the whole product on the bundled sandbox: sync ServiceNow -> Jira and the status page,
    sync again (writes nothing), resolve an issue in Jira and sync it back. No account needed."""
    from itsm_bridge import stopping
    from itsm_bridge.cli_progress import paused_echo, shown
    from itsm_bridge.demo import run_demo
    from itsm_bridge.demo_story import next_steps
    from itsm_bridge.errors import BridgeError

    try:  # a signal ends the demo after the writes in flight (exit 130/143)
        with shown(ctx.progress, ctx.json, ctx.verbosity) as live, stopping.handling():
            result = run_demo(incidents, workdir, echo=(lambda line: None) if ctx.json else paused_echo(live))
    except BridgeError as exc:
        fail(ctx, exc)
    text = [
        f"\nState:   {result.state_path}",
        f"Config:  {result.config_path}",
        f"Journal: itsm-bridge --config {result.config_path} journal show",
    ]
    text += [f"PROBLEM: {p}" for p in result.problems]
    text.append("Demo OK." if result.ok else "Demo FAILED.")
    text += next_steps(result)
    emit(ctx, result.to_dict(), "\n".join(text))
    sys.exit(0 if result.ok else 1)


@main.command("audit")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "html", "metrics-csv"]),
    default="table",
    show_default=True,
    help="table on the terminal; json (documented schema); csv, one finding per row; html, one self-contained "
    "file; metrics-csv, one row per metric and group.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the report to FILE instead of stdout.")
@click.option(
    "--since",
    metavar="DATE",
    help="Only incidents opened on or after DATE (YYYY-MM-DD or ISO 8601; UTC unless it says).",
)
@click.option(
    "--fail-on",
    type=click.Choice(["warn", "block"]),
    default="warn",
    show_default=True,
    help="Exit 1 when a finding is at least this severe (warn: any finding).",
)
@click.option(
    "--baseline",
    metavar="PREVIOUS.json",
    help="A previous `audit --format json` report: mark each finding new or still open, and list the fixed.",
)
@pass_ctx
def audit_command(
    ctx: Context, fmt: str, out: str | None, since: str | None, fail_on: str, baseline: str | None
) -> None:
    """Read the platforms (read only) and the state store and report categorization consistency,
    priority conformance, status drift, required fields, link health and ITIL metrics.

    Exit 0 when clean, 1 when findings reach --fail-on, 2 on a usage or config error, 4 when a
    platform is unreachable or refuses the credentials. --json is --format json.
    """
    from datetime import UTC, datetime
    from pathlib import Path

    from itsm_bridge.reports.render import render

    _writable(ctx, (out, "--out"))  # before the whole platform read, not after it
    when = None
    if since:
        try:
            when = datetime.fromisoformat(since)
        except ValueError:
            raise click.BadParameter(
                f"{since!r} is not a date; use YYYY-MM-DD or ISO 8601", param_hint="--since"
            ) from None
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    previous = _baseline(baseline) if baseline else None  # before the whole platform read, not after it
    report = _run(ctx, lambda bridge: bridge.audit(since=when))
    if previous is not None:
        report.against(previous)
    severity: Literal["warn", "block"] = "block" if fail_on == "block" else "warn"
    fmt = "json" if ctx.json and fmt == "table" else fmt
    text = render(report, fmt)
    if out:
        Path(out).write_text(text, encoding="utf-8", newline="")
        summary = report.to_dict()["summary"]
        emit(
            ctx,
            {"ok": not report.reaches(severity), "out": out, "format": fmt, **summary},
            f"Wrote the {fmt} report to {out}: {summary['findings']} finding(s)",
        )
    else:
        click.echo(text, nl=not text.endswith("\n"))
    sys.exit(EXIT_FAILED if report.reaches(severity) else EXIT_OK)


def _baseline(path: str) -> Baseline:
    from itsm_bridge.reports.baseline import BaselineError, load

    try:
        return load(path)
    except BaselineError as e:
        raise click.BadParameter(str(e), param_hint="--baseline") from None


# ---------------------------------------------------------------------------------------------
# sandbox


@main.command("sandbox")
@click.option(
    "--port",
    type=int,
    default=0,
    show_default=True,
    help="First port (ServiceNow; Jira +1, Statuspage +2, Cachet +3); 0 picks free ports.",
)
@click.option("--seed", "incidents", type=int, default=0, show_default=True, help="Load N realistic incidents.")
@click.option(
    "--faults",
    type=click.Choice(["none", "flaky", "storm", "lossy"]),
    default="none",
    show_default=True,
    help="Fault profile, seeded and deterministic.",
)
@click.option("--state", type=click.Path(dir_okay=False), help="Persist data here; resume from it when it exists.")
@click.option("--random-seed", type=int, default=0, show_default=True, help="Seed of generated data, ids and faults.")
@click.option("--write-config", type=click.Path(dir_okay=False), help="Write an itsm-bridge config for this sandbox.")
@click.option(
    "--provider",
    type=click.Choice(["statuspage", "cachet"]),
    default="statuspage",
    show_default=True,
    help="Status page the written config targets.",
)
@click.option(
    "--vendor",
    "vendor",
    multiple=True,
    metavar="NAME=VALUE",
    help="A vendor behaviour, e.g. servicenow.hourly_rule=1000, servicenow.user_timezone=Europe/Berlin, "
    "servicenow.journal_access=hidden, cachet.version=2.3.18, cachet.app_timezone=Australia/Sydney.",
)
@click.option(
    "--webhook-url", metavar="BASE", help="Post Jira and ServiceNow webhooks to BASE/webhooks/jira|servicenow."
)
@click.option(
    "--webhook-secret-env", metavar="NAME", help="Sign webhooks with the secret in environment variable NAME."
)
@click.option(
    "--webhook-faults",
    type=click.Choice(["none", "lossy", "duplicate", "reorder", "chaos"]),
    default="none",
    show_default=True,
    help="Drop (lossy), duplicate or reorder webhook deliveries, seeded (chaos: all three).",
)
@pass_ctx
def sandbox_command(
    ctx: Context,
    port: int,
    incidents: int,
    faults: str,
    state: str | None,
    random_seed: int,
    write_config: str | None,
    provider: str,
    vendor: tuple[str, ...],
    webhook_url: str | None,
    webhook_secret_env: str | None,
    webhook_faults: str,
) -> None:
    """Serve local ServiceNow, Jira, Statuspage and Cachet imitations until SIGINT or SIGTERM.

    With --json, prints one line of JSON when ready: each platform's URL, the Statuspage page id,
    the credentials, and "env" (the environment variables holding them). With --webhook-url and
    --webhook-secret-env, every later change posts the vendors' signed webhooks ("webhooks" in
    the JSON), and --write-config adds the [serve] settings that verify them.
    """
    import errno

    from itsm_bridge.cli_errors import UnusablePath
    from itsm_bridge.sandbox.app import VendorOptionError
    from itsm_bridge.sandbox.run import WebhookOptionError, serve_until_stopped

    _writable(ctx, (write_config, "--write-config"), (state, "--state"))
    try:
        serve_until_stopped(
            port=port,
            incidents=incidents,
            faults=faults,
            state=state,
            random_seed=random_seed,
            write_config=write_config,
            provider=provider,
            as_json=ctx.json,
            echo=click.echo,
            vendor=vendor,
            webhook_url=webhook_url,
            webhook_secret_env=webhook_secret_env,
            webhook_faults=webhook_faults,
        )
    except WebhookOptionError as exc:
        raise click.BadParameter(str(exc), param_hint=exc.option) from None
    except VendorOptionError as exc:
        raise click.BadParameter(str(exc), param_hint="--vendor") from None
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        fail(
            ctx,
            UnusablePath(
                f"--port {port}: a port the sandbox needs ({port} to {port + 3}) is in use; "
                "pick another or --port 0 for free ones"
            ),
        )


def _register() -> None:
    from itsm_bridge.cli_init import init_command
    from itsm_bridge.cli_links import links_group
    from itsm_bridge.cli_serve import serve_command

    main.add_command(links_group)
    main.add_command(init_command)
    main.add_command(serve_command)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
