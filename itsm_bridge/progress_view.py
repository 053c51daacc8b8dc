"""Live progress drawn with `rich` on stderr: the renderer `itsm_bridge.cli_progress` installs.

One line per phase and platform, e.g.

    reading servicenow   ━━━━━━━━━━━━━━━━━━━━━━━━ 1,200/5,000 · 410 rec/s · ETA 9 s
    publishing statuspage ━━━━━━━━━━━━━━━━━━━━━━━━ 12/1,720 · 1 req/s · ETA 28 min

below them what a request has been waiting for, once it takes longer than a second, and the
retry and Retry-After waits of each platform's client. The display runs only while a command
works (`pause` ends it, its last state staying on screen), so the command's own output on stdout
never lands inside it.
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

from rich.console import Console, RenderableType
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskID, TextColumn
from rich.text import Text

from itsm_bridge import progress
from itsm_bridge.log import redact
from itsm_bridge.output import printable

SLOW_S = 1.0  # a request in flight longer than this is shown with what it waits for
REFRESH_PER_SECOND = 4


def duration(seconds: float) -> str:
    """A duration as people say it: "0.4 s", "17 s", "28 min", "2 h 5 min"."""
    if seconds < 9.95:
        return f"{max(0.0, seconds):.1f} s"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"


def rate(per_second: float) -> str:
    """A rate with as many digits as it needs: "0.4", "1", "410"."""
    return f"{per_second:.1f}" if per_second < 0.95 else f"{per_second:,.0f}"


class Figures(ProgressColumn):
    """`done/total · rate unit/s · ETA`, or `done · rate unit/s · done in N s` once closed."""

    def render(self, task: Task) -> Text:
        done = int(task.completed)
        unit = task.fields.get("unit", "")
        parts = [f"{done:,}/{int(task.total):,}" if task.total is not None else f"{done:,}"] if unit else []
        took = task.fields.get("took")
        if took is not None:
            if unit and done and took > 0:
                parts.append(f"{rate(done / took)} {unit}/s")
            parts.append(f"done in {duration(took)}")
        elif unit and task.speed:
            parts.append(f"{rate(task.speed)} {unit}/s")
            if task.total is not None and task.total > done:
                parts.append(f"ETA {duration((task.total - done) / task.speed)}")
        return Text(" · ".join(parts).replace(" /s", "/s"))


class Lines(Progress):
    """The task lines, then what requests and retries are waiting for."""

    def __init__(self, waits: Waits, console: Console) -> None:
        self.waits = waits  # rendered already while the base class is made
        super().__init__(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24 if console.width >= 100 else 10),
            Figures(),
            console=console,
            refresh_per_second=REFRESH_PER_SECOND,
            redirect_stdout=False,  # the command's output stays on stdout
            redirect_stderr=True,  # log lines print above the display, not through it
        )

    def get_renderables(self) -> Iterable[RenderableType]:
        if self.tasks:
            yield self.make_tasks_table(self.tasks)
        for line in self.waits.lines():
            yield Text(line, style="yellow")


class Waits:
    """Requests in flight and retry waits, per platform. Its own lock, never held while calling
    into rich: the display's refresh thread reads it while holding rich's lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flight: dict[int, tuple[str, str, float]] = {}  # token -> (platform, target, since)
        self._retries: dict[str, tuple[str, float]] = {}  # platform -> (reason, until)
        self._tokens = itertools.count()

    def sent(self, platform: str, target: str) -> int:
        token = next(self._tokens)
        with self._lock:
            self._flight[token] = (platform, target, time.monotonic())
            self._retries.pop(platform, None)  # the wait is over: this is the retry
        return token

    def answered(self, token: object) -> None:
        with self._lock:
            if isinstance(token, int):
                self._flight.pop(token, None)

    def retry(self, platform: str, reason: str, seconds: float) -> None:
        with self._lock:
            self._retries[platform] = (reason, time.monotonic() + seconds)

    def clear(self) -> None:
        with self._lock:
            self._flight.clear()
            self._retries.clear()

    def lines(self) -> list[str]:
        """What is being waited for now: the oldest slow request per platform, then retries."""
        now = time.monotonic()
        with self._lock:
            flight = sorted(self._flight.values(), key=lambda f: f[2])
            retries = list(self._retries.items())
        out: list[str] = []
        seen: set[str] = set()
        for platform, target, since in flight:
            if now - since >= SLOW_S and platform not in seen:
                seen.add(platform)
                out.append(_clean(f"waiting {duration(now - since)} for {platform}: {target}"))
        out += [
            _clean(f"{p}: {reason} ({duration(until - now)} left)") for p, (reason, until) in retries if until > now
        ]
        return out


class TerminalProgress(progress.Observer):
    """A `progress.Observer` drawing on a terminal; thread-safe (workers report too)."""

    showing = True

    def __init__(self, console: Console) -> None:
        self.console = console
        self._lock = threading.RLock()
        self._lines: Lines | None = None
        self._waits = Waits()
        self._tasks: dict[str, TaskID] = {}
        self._totals: dict[str, int | None] = {}
        self._counts: dict[str, int] = {}
        self._began: dict[str, float] = {}  # when a line's work began: its first step, for a queue
        self._queued: set[str] = set()  # lines whose work is handed over before it starts (writes)
        self._handlers: list[tuple[logging.StreamHandler[Any], Any]] = []

    # --- the display's life
    def _display(self) -> Lines:
        with self._lock:
            if self._lines is None:
                self._lines = Lines(self._waits, self.console)
                self._lines.start()
                self._follow_logs()
            return self._lines

    def pause(self) -> None:
        """End the display (its last state stays on screen); the next event starts a new one."""
        with self._lock:
            if self._lines is None:
                return
            self._waits.clear()
            self._lines.stop()
            self._restore_logs()
            self._lines = None
            self._tasks, self._totals, self._counts, self._began = {}, {}, {}, {}
            self._queued.clear()

    def _follow_logs(self) -> None:
        """Log handlers writing to the terminal's stderr write through the display while it runs
        (rich prints them above it), or a log line would tear the drawing."""
        for name in ("itsm_bridge", "urllib3"):
            for handler in logging.getLogger(name).handlers:
                if isinstance(handler, logging.StreamHandler) and handler.stream is sys.__stderr__:
                    self._handlers.append((handler, handler.stream))
                    handler.setStream(sys.stderr)  # rich's proxy while the display runs

    def _restore_logs(self) -> None:
        for handler, stream in self._handlers:
            handler.setStream(stream)
        self._handlers.clear()

    # --- lines
    def line(self, key: str, label: str, unit: str = "", total: int | None = None) -> None:
        with self._lock:
            lines = self._display()
            if key not in self._tasks:
                self._tasks[key] = lines.add_task(printable(label), total=total, unit=unit)
                self._totals[key], self._counts[key], self._began[key] = total, 0, time.monotonic()
            elif total is not None:
                self.total(key, total)

    def grow(self, key: str, n: int) -> None:
        with self._lock:
            if self._lines is not None and key in self._tasks:
                self._totals[key] = (self._totals[key] or 0) + n
                self._queued.add(key)
                self._lines.update(self._tasks[key], total=self._totals[key], took=None)

    def total(self, key: str, total: int) -> None:
        with self._lock:
            if self._lines is not None and key in self._tasks:
                self._totals[key] = max(total, self._counts[key])
                self._lines.update(self._tasks[key], total=self._totals[key])

    def advance(self, key: str, n: int = 1) -> None:
        with self._lock:
            if self._lines is not None and key in self._tasks:
                if key in self._queued and not self._counts[key]:
                    self._began[key] = time.monotonic()  # a queue's rate counts from its first write
                self._counts[key] += n
                self._lines.advance(self._tasks[key], n)
                total = self._totals[key]
                if total is not None and self._counts[key] >= total:  # caught up: done, unless it grows again
                    self.done(key)

    def done(self, key: str) -> None:
        with self._lock:
            if self._lines is not None and key in self._tasks:
                self._totals[key] = self._counts[key]
                took = time.monotonic() - self._began[key]
                self._lines.update(self._tasks[key], total=self._counts[key], took=took)

    # --- requests and waits
    def request(self, platform: str, target: str) -> object:
        if self._lines is None:
            self._display()  # so a request that hangs before any line is shown with what it waits for
        return self._waits.sent(platform, target)

    def answered(self, token: object) -> None:
        self._waits.answered(token)

    def waiting(self, platform: str, reason: str, seconds: float) -> None:
        self._waits.retry(platform, reason, seconds)
        if self._lines is None:
            self._display()


def _clean(text: str) -> str:
    """No secret and no control character reaches the terminal."""
    return printable(redact(text), keep="")
