"""What `/metrics` shows, in the Prometheus text format (version 0.0.4).

Counters are this process's since it started (each serve process is scraped on its own); the
queue's depth and the age of its oldest job are read from the queue at each scrape, so on
PostgreSQL they are the whole fleet's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

PREFIX = "itsm_bridge_serve"
Labels = tuple[tuple[str, str], ...]

HELP = {
    "queue_depth": ("gauge", "Jobs waiting in the queue (not yet started)."),
    "queue_oldest_job_age_seconds": ("gauge", "Age of the oldest waiting job; 0 when none waits."),
    "jobs_running": ("gauge", "Jobs this process has taken and not finished (waiting for an engine run or in one)."),
    "jobs_total": ("counter", "Jobs finished, by outcome."),
    "engine_runs_total": (
        "counter",
        "Engine runs, by kind: record (one run serves every record job waiting) or sweep.",
    ),
    "webhooks_total": ("counter", "Webhook deliveries accepted, by platform and result."),
    "webhook_rejects_total": ("counter", "Webhook deliveries refused, by reason."),
    "writes_total": ("counter", "Writes made by this process's jobs, by platform."),
    "api_calls_total": ("counter", "API calls made by this process's jobs, by platform."),
    "rate_limited_total": ("counter", "429 (and 420) answers received, by platform."),
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    """Thread-safe counters, one family per name, each keyed by its label values."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = {}

    def count(self, name: str, amount: float = 1, **labels: str) -> None:
        """Add `amount` to the counter `name` with these labels."""
        if amount <= 0:
            return
        with self._lock:
            family = self._counters.setdefault(name, {})
            key = tuple(sorted(labels.items()))
            family[key] = family.get(key, 0.0) + amount

    def value(self, name: str, **labels: str) -> float:
        """A counter's value now (0 when never counted)."""
        with self._lock:
            return self._counters.get(name, {}).get(tuple(sorted(labels.items())), 0.0)

    def render(self, gauges: Mapping[str, float], extra: Callable[[], Mapping[str, Mapping[str, int]]]) -> str:
        """The exposition text: `gauges` (name -> value) and every counter, plus per-platform
        counters read at scrape time (`extra`: name -> platform -> value)."""
        lines: list[str] = []
        with self._lock:
            counters = {name: dict(values) for name, values in self._counters.items()}
        for name, per_platform in extra().items():
            counters.setdefault(name, {}).update({(("platform", p),): float(v) for p, v in per_platform.items()})
        for name, (kind, text) in HELP.items():
            full = f"{PREFIX}_{name}"
            lines += [f"# HELP {full} {text}", f"# TYPE {full} {kind}"]
            if kind == "gauge":
                lines.append(f"{full} {_number(gauges.get(name, 0.0))}")
                continue
            for labels, amount in sorted(counters.get(name, {}).items()):
                shown = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                lines.append(f"{full}{{{shown}}} {_number(amount)}")
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
