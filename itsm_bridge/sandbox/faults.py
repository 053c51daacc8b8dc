"""Seeded faults of the sandbox servers: a random profile per platform and a scripted queue.

Every draw comes from one seeded generator, so a fault schedule replays identically; tests script
one precise request instead (`Faults.inject`).
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass

FAULT_KINDS = ("latency", "error_5xx", "rate_429", "reset", "timeout", "drop_after_commit")


@dataclass
class FaultProfile:
    """Probabilities per request; all seeded, so a schedule replays identically."""

    latency_ms: float = 0.0  # added to every request
    error_5xx: float = 0.0
    rate_429: float = 0.0  # chance that a 429 storm starts on this request
    storm_length: int = 5  # requests answered 429 once a storm starts
    reset: float = 0.0  # connection closed before the request is handled
    timeout: float = 0.0  # the server sleeps `timeout_s` and drops, without handling
    drop_after_commit: float = 0.0  # writes only: handled and stored, response lost
    timeout_s: float = 2.0
    retry_after_s: float = 1.0


PROFILES: dict[str, FaultProfile] = {
    "none": FaultProfile(),
    "flaky": FaultProfile(latency_ms=5, error_5xx=0.05, reset=0.02),
    "storm": FaultProfile(rate_429=0.1, storm_length=5, retry_after_s=1.0),
    "lossy": FaultProfile(drop_after_commit=0.3),
}


@dataclass
class _Scripted:
    kind: str
    count: int
    method: str | None
    path: re.Pattern[str] | None
    retry_after: str | None


class Faults:
    """Decides, per request, which fault (if any) applies. Deterministic for a given seed.

    Two sources: a random profile (`set_profile`) and a scripted queue (`inject`), which tests use
    to hit one precise request: e.g. `inject("drop_after_commit", method="POST", path="/issue$")`.
    """

    def __init__(self, seed: int = 0, profile: FaultProfile | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.profile = profile or FaultProfile()
        self._scripted: list[_Scripted] = []
        self._storm_left = 0
        self.injected: dict[str, int] = {k: 0 for k in FAULT_KINDS}

    def set_profile(self, profile: FaultProfile | str, seed: int | None = None) -> None:
        with self._lock:
            self.profile = PROFILES[profile] if isinstance(profile, str) else profile
            if seed is not None:
                self._rng = random.Random(seed)

    def inject(
        self,
        kind: str,
        count: int = 1,
        method: str | None = None,
        path: str | None = None,
        retry_after: str | None = None,
    ) -> None:
        """Apply `kind` to the next `count` requests matching method and path regex."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._scripted.append(_Scripted(kind, count, method, re.compile(path) if path else None, retry_after))

    def clear(self) -> None:
        with self._lock:
            self._scripted.clear()
            self._storm_left = 0
            self.profile = FaultProfile()

    def decide(self, method: str, path: str) -> tuple[str | None, str | None]:
        """Return (fault kind, retry-after override) for this request; latency is separate."""
        with self._lock:
            for s in self._scripted:
                if s.method and s.method != method:
                    continue
                if s.path and not s.path.search(path):
                    continue
                s.count -= 1
                if s.count <= 0:
                    self._scripted.remove(s)
                self.injected[s.kind] += 1
                return s.kind, s.retry_after
            p = self.profile
            if self._storm_left > 0:
                self._storm_left -= 1
                self.injected["rate_429"] += 1
                return "rate_429", None
            roll = self._rng.random
            if p.rate_429 and roll() < p.rate_429:
                self._storm_left = max(0, p.storm_length - 1)
                self.injected["rate_429"] += 1
                return "rate_429", None
            if p.error_5xx and roll() < p.error_5xx:
                self.injected["error_5xx"] += 1
                return "error_5xx", None
            if p.reset and roll() < p.reset:
                self.injected["reset"] += 1
                return "reset", None
            if p.timeout and roll() < p.timeout:
                self.injected["timeout"] += 1
                return "timeout", None
            if method in ("POST", "PUT", "PATCH") and p.drop_after_commit and roll() < p.drop_after_commit:
                self.injected["drop_after_commit"] += 1
                return "drop_after_commit", None
            return None, None


@dataclass(frozen=True)
class DeliveryFaults:
    """What happens to the sandbox's outgoing webhooks, per delivery; seeded like the request faults.

    Vendors promise neither exactly-once nor in-order delivery: Jira says a webhook "might be
    delivered more than once" and later than usual (its retry policy,
    https://developer.atlassian.com/cloud/jira/platform/webhooks/#retry-policy), and a ServiceNow
    business rule's outbound call is simply lost when the receiver is down. These profiles play that.
    """

    drop: float = 0.0  # never sent
    duplicate: float = 0.0  # sent twice, same delivery id (an acknowledgement the vendor lost)
    reorder: float = 0.0  # held back `hold_s`, so later deliveries overtake it
    hold_s: float = 0.5


DELIVERY_PROFILES: dict[str, DeliveryFaults] = {
    "none": DeliveryFaults(),
    "lossy": DeliveryFaults(drop=0.2),
    "duplicate": DeliveryFaults(duplicate=0.2),
    "reorder": DeliveryFaults(reorder=0.3),
    "chaos": DeliveryFaults(drop=0.1, duplicate=0.1, reorder=0.2),
}
DELIVERY_FAULT_KINDS = ("drop", "duplicate", "reorder")
