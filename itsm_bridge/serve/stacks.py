"""`kill -USR1 PID`: every thread's stack of a running serve, on stderr.

Threads standing at the same place (the idle job slots, hundreds of them) are written once, with
their count and names, so the few threads that matter (an engine run, its writers, the queue's
loop) stand out; faulthandler would stop at 100 threads. A Python handler, so it runs when the
main thread next holds the interpreter: a thread stuck holding the interpreter in C code shows
nothing here (`PYTHONFAULTHANDLER=1` and SIGABRT are for that).
"""

from __future__ import annotations

import signal
import sys
import threading
import traceback
from types import FrameType
from typing import TextIO

from itsm_bridge.collector import gc_paused


def install() -> None:
    """Dump the stacks on SIGUSR1 (where the platform has it, from the main thread only)."""
    if hasattr(signal, "SIGUSR1") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGUSR1, _on_signal)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    dump(sys.stderr)


def _frames() -> dict[int, FrameType]:
    """Every thread's current frame, with the collector off: on CPython before 3.11.9 (and
    3.12.3) a collection inside `sys._current_frames()` can free a `threading.local` whose cleanup
    waits for the lock that call holds, and the process hangs (python/cpython#106883)."""
    with gc_paused():
        return sys._current_frames()


def dump(out: TextIO) -> None:
    """Every thread's stack, threads at the same place grouped, largest groups last."""
    names = {t.ident: t.name for t in threading.enumerate()}
    groups: dict[str, list[str]] = {}
    for ident, frame in _frames().items():
        stack = "".join(traceback.format_stack(frame))
        groups.setdefault(stack, []).append(names.get(ident, str(ident)))
    lines = [f"--- stacks of {sum(map(len, groups.values()))} threads (SIGUSR1)"]
    for stack, threads in sorted(groups.items(), key=lambda g: len(g[1])):
        shown = ", ".join(sorted(threads)[:5]) + (", ..." if len(threads) > 5 else "")
        lines.append(f"{len(threads)} thread(s): {shown}\n{stack}")
    out.write("\n".join(lines) + "--- end of stacks\n")
    out.flush()
