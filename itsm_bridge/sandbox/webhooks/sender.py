"""The sandbox's outgoing webhooks: a background sender with the vendor's retries and seeded faults.

A change enqueues a signed delivery (cheap, under the platform's lock); sender threads post it, so a
slow or dead receiver never holds up the vendor's API. Every attempt is recorded (`attempts()`), the
dropped ones too, for tests and the benchmark.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from dataclasses import dataclass, field

import requests

from itsm_bridge.sandbox.faults import DELIVERY_FAULT_KINDS, DELIVERY_PROFILES, DeliveryFaults

TIMEOUT_S = 10.0
DUPLICATE_GAP_S = 0.05  # the second copy of a duplicated delivery follows the first by this much


@dataclass
class Delivery:
    """One webhook as the vendor sends it: the bytes are signed once, retries resend them as they are."""

    platform: str
    event: str
    subject: str  # the issue key or record sys_id the webhook is about
    url: str
    body: bytes
    headers: dict[str, str]
    delivery_id: str
    retry_statuses: frozenset[int] = frozenset()  # answers (and 0: no answer) the vendor retries on
    backoff_s: tuple[float, ...] = ()  # one wait per retry
    retry_header: str | None = None  # carries the retry count on a retried attempt
    attempt: int = 0


@dataclass(frozen=True)
class Attempt:
    """What became of one attempt to deliver; `status` 0 when no answer came, None when not sent."""

    platform: str
    event: str
    subject: str
    delivery_id: str
    status: int | None
    fault: str | None
    attempt: int
    at: float = field(default_factory=time.monotonic)


class WebhookSender:
    """Posts deliveries from `threads` background threads, applying the seeded `DeliveryFaults`."""

    def __init__(
        self, faults: str | DeliveryFaults = "none", seed: int = 0, threads: int = 4, timeout_s: float = TIMEOUT_S
    ) -> None:
        self.timeout_s = timeout_s
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._busy = 0
        self._stopping = False
        self._attempts: list[Attempt] = []
        self._scripted: list[tuple[str, int]] = []  # (kind, deliveries left), before the profile
        self._faults = DeliveryFaults()
        self._rng = random.Random(seed)
        self.set_faults(faults, seed)
        self._local = threading.local()
        self._threads = [
            threading.Thread(target=self._run, name=f"sandbox-webhooks-{n}", daemon=True) for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    # --- control
    def set_faults(self, profile: str | DeliveryFaults, seed: int | None = None) -> None:
        if isinstance(profile, str) and profile not in DELIVERY_PROFILES:
            raise ValueError(f"unknown webhook fault profile {profile!r}; one of {', '.join(DELIVERY_PROFILES)}")
        with self._cond:
            self._faults = DELIVERY_PROFILES[profile] if isinstance(profile, str) else profile
            if seed is not None:
                self._rng = random.Random(seed)

    def inject(self, kind: str, count: int = 1) -> None:
        """Apply `kind` (drop, duplicate, reorder) to the next `count` deliveries."""
        if kind not in DELIVERY_FAULT_KINDS:
            raise ValueError(f"unknown delivery fault {kind!r}; one of {', '.join(DELIVERY_FAULT_KINDS)}")
        with self._cond:
            self._scripted.append((kind, count))

    def attempts(self) -> list[Attempt]:
        with self._cond:
            return list(self._attempts)

    def pending(self) -> int:
        """Deliveries queued (held back or waiting to retry included) or on the wire."""
        with self._cond:
            return len(self._heap) + self._busy

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every delivery is sent (or given up); False when `timeout` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def stop(self, drain_s: float = 2.0) -> None:
        """Send what is due within `drain_s`, then stop the threads; the rest is lost, as when a vendor goes down."""
        self.flush(drain_s)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(self.timeout_s + 1)

    # --- enqueueing (called under a platform's lock: no I/O here)
    def submit(self, delivery: Delivery) -> None:
        with self._cond:
            fault = self._decide()
            now = time.monotonic()
            if fault == "drop":
                self._record(delivery, None, "drop")
                return
            due = now + (self._faults.hold_s if fault == "reorder" else 0.0)
            self._push(due, delivery)
            if fault == "duplicate":
                self._push(due + DUPLICATE_GAP_S, _copy(delivery))
            if fault is not None:
                self._attempts.append(
                    Attempt(delivery.platform, delivery.event, delivery.subject, delivery.delivery_id, None, fault, 0)
                )

    def _decide(self) -> str | None:
        if self._scripted:
            kind, left = self._scripted[0]
            if left > 1:
                self._scripted[0] = (kind, left - 1)
            else:
                self._scripted.pop(0)
            return kind
        f, roll = self._faults, self._rng.random
        if f.drop and roll() < f.drop:
            return "drop"
        if f.duplicate and roll() < f.duplicate:
            return "duplicate"
        if f.reorder and roll() < f.reorder:
            return "reorder"
        return None

    def _push(self, due: float, delivery: Delivery) -> None:
        heapq.heappush(self._heap, (due, next(self._order), delivery))
        self._cond.notify()

    def _record(self, delivery: Delivery, status: int | None, fault: str | None) -> None:
        self._attempts.append(
            Attempt(
                delivery.platform,
                delivery.event,
                delivery.subject,
                delivery.delivery_id,
                status,
                fault,
                delivery.attempt,
            )
        )

    # --- sending
    def _run(self) -> None:
        while True:
            with self._cond:
                delivery = self._next()
                if delivery is None:
                    return
                self._busy += 1
            try:
                status = self._post(delivery)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._record(delivery, status, None)
                    self._after(delivery, status)
                    self._cond.notify_all()

    def _next(self) -> Delivery | None:
        """The next due delivery, waiting for it; None once stopping."""
        while not self._stopping:
            if self._heap and self._heap[0][0] <= time.monotonic():
                return heapq.heappop(self._heap)[2]
            wait = self._heap[0][0] - time.monotonic() if self._heap else 0.5
            self._cond.wait(max(0.001, min(wait, 0.5)))
        return None

    def _post(self, delivery: Delivery) -> int:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        headers = dict(delivery.headers)
        if delivery.attempt and delivery.retry_header:
            headers[delivery.retry_header] = str(delivery.attempt)
        try:
            answer = session.post(delivery.url, data=delivery.body, headers=headers, timeout=self.timeout_s)
        except requests.RequestException:
            return 0  # refused, reset or timed out: no answer
        return answer.status_code

    def _after(self, delivery: Delivery, status: int) -> None:
        """Schedule the vendor's retry of a failed attempt, when it makes one."""
        if status not in delivery.retry_statuses or delivery.attempt >= len(delivery.backoff_s) or self._stopping:
            return
        retry = _copy(delivery)
        retry.attempt = delivery.attempt + 1
        self._push(time.monotonic() + delivery.backoff_s[delivery.attempt], retry)


def _copy(delivery: Delivery) -> Delivery:
    return Delivery(**{**delivery.__dict__, "headers": dict(delivery.headers)})
