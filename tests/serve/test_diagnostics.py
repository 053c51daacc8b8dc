"""What an operator can ask of a running `serve` that seems stuck."""

from __future__ import annotations

import gc
import io
import re
import signal
import sys
import time

from itsm_bridge.serve import stacks
from tests.serve.conftest import Serve


def test_sigusr1_writes_every_threads_stack_to_stderr_and_serve_keeps_running(serve: Serve) -> None:
    serve.proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while "--- end of stacks" not in serve.stderr() and time.monotonic() < deadline:
        time.sleep(0.05)
    dumped = serve.stderr()
    assert "--- end of stacks" in dumped, dumped
    assert ", in serve_until_stopped" in dumped, dumped  # the main thread, waiting for a stop
    assert "in serve_forever" in dumped, dumped  # the receiver's
    # the idle job slots (the default 200) stand at one place: written once, with their count
    counts = [int(n) for n in re.findall(r"^(\d+) thread\(s\): ", dumped, re.M)]
    total = int(re.search(r"--- stacks of (\d+) threads", dumped).group(1))  # type: ignore[union-attr]
    assert sum(counts) == total and max(counts) >= 200, dumped
    assert serve.proc.poll() is None
    assert serve.get("/healthz").status_code == 200
    code, _ = serve.stop()
    assert code == 143


def test_the_stacks_are_taken_with_the_collector_off_and_it_is_left_as_it_was(monkeypatch) -> None:
    # a collection inside sys._current_frames() can hang CPython before 3.11.9 (python/cpython#106883)
    take, seen = sys._current_frames, []

    def frames_noting_the_collector():
        seen.append(gc.isenabled())
        return take()

    monkeypatch.setattr(sys, "_current_frames", frames_noting_the_collector)
    out = io.StringIO()
    assert gc.isenabled()
    stacks.dump(out)
    assert seen == [False] and gc.isenabled() and "--- end of stacks" in out.getvalue()
    gc.disable()
    try:
        stacks.dump(io.StringIO())
        assert seen == [False, False] and not gc.isenabled()  # a process that keeps it off keeps it off
    finally:
        gc.enable()
