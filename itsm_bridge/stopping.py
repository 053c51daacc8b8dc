"""Stopping a run on SIGINT or SIGTERM without leaving anything half-done.

The first signal sets one process-wide flag. From then on the engine takes no new record, the
applier starts no new action, and the HTTP client sends no new request (a request waiting for
its rate slot or a retry wakes and is not sent); requests already on the wire finish, bounded by
the request timeout, and their outcomes are journaled. The run is then recorded as interrupted,
every worker thread has stopped, the lock is released, and the process exits 130 (SIGINT) or
143 (SIGTERM).

A second SIGINT exits at once: a write in flight then has an intent and no outcome, which the next
run settles by looking the record up (as after a crash).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from itsm_bridge.errors import BridgeError

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_stop = threading.Event()
_received: list[int] = []
_local = threading.local()  # per worker: whether the current action has sent a write yet
READS = frozenset({"GET", "HEAD", "OPTIONS"})


class Interrupted(BridgeError):
    """A request or action not started because the run was asked to stop."""

    def __init__(self, message: str, signum: int | None = None, *, unsent: bool = False) -> None:
        super().__init__(message)
        self.unsent = unsent  # True only when nothing of the action can have reached the platform
        self.exit_code = 128 + signum if signum else exit_code()  # type: ignore[misc]  # per signal: over the class's default


def requested() -> bool:
    """Whether a stop was asked for (by a signal, or `request` in-process)."""
    return _stop.is_set()


def signal_name() -> str | None:
    """SIGINT or SIGTERM once a stop was asked for by a signal."""
    return signal.Signals(_received[0]).name if _received else None


def reason() -> str | None:
    """What a run records as its interruption: the signal's name, "stop" when asked in-process,
    None when it was not stopped."""
    return signal_name() or ("stop" if _stop.is_set() else None)


def exit_code() -> int:
    """128 + the signal's number: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + (_received[0] if _received else signal.SIGINT)


def check(what: str) -> None:
    """Raise Interrupted instead of starting `what` once a stop was asked for. It is `unsent`
    when the calling thread's action (since `begin_action`) has sent no write yet."""
    if _stop.is_set():
        raise Interrupted(f"not started: {what} (the run was interrupted)", unsent=not getattr(_local, "wrote", False))


def begin_action() -> None:
    """A write action starts on this thread: nothing of it sent yet."""
    _local.wrote = False


def note_sent(method: str) -> None:
    """A request is about to be sent; a write (any method but a read's) may land from now on."""
    if method.upper() not in READS:
        _local.wrote = True


def sleep(seconds: float) -> None:
    """time.sleep that ends early when a stop is asked for."""
    if seconds > 0:
        _stop.wait(seconds)


def interruptible(sleeper: Callable[[float], None]) -> Callable[[float], None]:
    """`sleep` in place of the real time.sleep; an injected (test) sleeper is kept."""
    return sleep if sleeper is time.sleep else sleeper


def request(signum: int = signal.SIGINT) -> None:
    """Ask the run to stop, as the first signal does."""
    if not _stop.is_set():
        _received.append(signum)
        _stop.set()


def reset() -> None:
    """Forget a stop (between runs in one process: tests, the demo)."""
    _received.clear()
    _stop.clear()


def _on_signal(signum: int, frame: object) -> None:
    if _stop.is_set():
        if signum == signal.SIGINT:  # the second Ctrl-C: now
            os.write(2, b"error: interrupted again: stopping now; the next run settles the writes in flight\n")
            os._exit(130)
        return
    request(signum)
    # os.write, not logging: a handler may run while the main thread holds the logging lock.
    name = signal.Signals(signum).name
    os.write(
        2,
        f"{name}: stopping: no new records or requests; waiting for those in flight (Ctrl-C again to stop now)\n".encode(),
    )


@contextmanager
def handling() -> Iterator[None]:
    """SIGINT and SIGTERM ask the run to stop for the duration (main thread only; nested use
    keeps the outer handlers)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is _on_signal:
        yield
        return
    previous = {s: signal.signal(s, _on_signal) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
