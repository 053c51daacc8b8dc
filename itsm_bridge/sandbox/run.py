"""`itsm-bridge sandbox`: start every imitated platform, say where they are, serve until stopped."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from itsm_bridge.sandbox.app import Sandbox


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
) -> None:
    """Start, seed (unless resuming a state file), print the description, wait for SIGINT/SIGTERM."""
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
    lines.append("\nCredentials (export these for itsm-bridge):")
    env = info.get("env") or {}
    assert isinstance(env, dict)
    lines += [f"  export {name}='{value}'" for name, value in env.items()]
    lines.append("\nServing until Ctrl-C.")
    return "\n".join(lines)
