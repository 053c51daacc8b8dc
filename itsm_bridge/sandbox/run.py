"""`itsm-bridge sandbox`: start every imitated platform, say where they are, serve until stopped."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from itsm_bridge.sandbox.app import Sandbox


class WebhookOptionError(ValueError):
    """`--webhook-url` / `--webhook-secret-env` given wrong; `option` names the flag."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


def webhook_secret(url: str | None, secret_env: str | None) -> str | None:
    """The secret the webhooks are signed with, read from the variable `secret_env` names (never
    from argv); None without webhooks; WebhookOptionError when the flags or the variable are wrong."""
    import os

    from itsm_bridge.sandbox.webhooks import check_base_url

    if not url and not secret_env:
        return None
    if not url or not secret_env:
        missing = "--webhook-url" if not url else "--webhook-secret-env"
        raise WebhookOptionError(missing, "--webhook-url and --webhook-secret-env go together: webhooks are signed")
    try:
        check_base_url(url)
    except ValueError as exc:
        raise WebhookOptionError("--webhook-url", str(exc)) from None
    secret = os.environ.get(secret_env, "")
    if not secret:
        raise WebhookOptionError("--webhook-secret-env", f"the environment variable {secret_env} is not set or empty")
    return secret


def serve_until_stopped(
    *,
    port: int,
    incidents: int,
    faults: str,
    state: str | None,
    random_seed: int,
    write_config: str | None,
    provider: str,
    as_json: bool,
    echo: Callable[[str], None],
    vendor: tuple[str, ...] = (),
    webhook_url: str | None = None,
    webhook_secret_env: str | None = None,
    webhook_faults: str = "none",
) -> None:
    """Start, seed (unless resuming a state file), send webhooks from then on when asked, print the
    description, wait for SIGINT/SIGTERM."""
    secret = webhook_secret(webhook_url, webhook_secret_env)  # before anything is served
    resuming = bool(state and Path(state).exists())
    sandbox = Sandbox(seed=random_seed, faults=faults, state_file=state, port=port)
    for setting in vendor:  # ValueError naming the setting, before anything is served
        sandbox.set_vendor(setting)
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    sandbox.start()
    try:
        if incidents and not resuming:
            sandbox.seed(incidents)
        if webhook_url and secret:  # the seeded data predates the webhooks, as on an instance
            sandbox.send_webhooks(webhook_url, secret, faults=webhook_faults, secret_env=webhook_secret_env)
        info = sandbox.info()
        if write_config:
            from itsm_bridge.sandbox.config_writer import write_config as write

            info["config"] = str(write(info, Path(write_config), provider))
        if as_json:
            echo(json.dumps(info, ensure_ascii=False))
        else:
            echo(describe(info))
        stopped.wait()
    finally:
        sandbox.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)


def describe(info: dict[str, object]) -> str:
    lines = [
        f"ServiceNow  {info['servicenow']}",
        f"Jira        {info['jira']}",
        f"Statuspage  {info['statuspage']}  (page {info['statuspage_page_id']})",
        f"Cachet      {info['cachet']}",
    ]
    if "config" in info:
        lines.append(f"Config      {info['config']}")
    hooks = info.get("webhooks")
    if isinstance(hooks, dict):
        lines.append(f"Webhooks    {hooks['jira']}, {hooks['servicenow']}  (secret from ${hooks['secret_env']})")
    lines.append("\nCredentials (export these for itsm-bridge):")
    env = info.get("env") or {}
    assert isinstance(env, dict)
    lines += [f"  export {name}='{value}'" for name, value in env.items()]
    lines.append("\nServing until Ctrl-C.")
    return "\n".join(lines)
