"""`serve` keeps the cadence too: its sweep is a `sync`, so a published incident left silent past
its cadence gets its scheduled update from the running service, once."""

from __future__ import annotations

import time
from datetime import timedelta

from tests.integration.conftest import Bridge as Cli
from tests.integration.test_cadence import CADENCE, P1, updates
from tests.integration.test_sync import add_incident
from tests.serve.conftest import Serve, serve_config


def test_the_serve_sweep_posts_the_scheduled_update_of_a_silent_p1_once(bridge: Cli) -> None:
    bridge.config_path.write_text(bridge.config_path.read_text() + CADENCE)
    record = add_incident(bridge.sandbox, **P1)
    bridge.sandbox.statuspage.clock.skew = timedelta(minutes=-40)  # the first post looks 40 minutes old
    assert bridge.sync_json()[0] == 0
    bridge.sandbox.statuspage.clock.skew = timedelta(0)
    serve_config(bridge, sweep=1)
    running = Serve(bridge)
    try:
        deadline = time.monotonic() + 30
        while len(updates(bridge.sandbox, record["number"])) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)  # more sweeps: the update just posted restarts the cadence
    finally:
        code, err = running.stop()
    newest, first = updates(bridge.sandbox, record["number"])
    assert "Next update by" in newest["body"] and "Next update by" not in first["body"]
    assert code in (0, 143), err
