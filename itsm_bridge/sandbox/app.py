"""The sandbox as one object: every imitated platform served on loopback, with one control surface.

with Sandbox(seed=7) as sb:
    sb.seed(50)
    requests.get(sb.servicenow.base_url + "/api/now/table/incident", auth=...)
    sb.calls("jira")
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itsm_bridge.sandbox.core import Call, Platform
from itsm_bridge.sandbox.faults import PROFILES, DeliveryFaults
from itsm_bridge.sandbox.server import Served, serve, stop

if TYPE_CHECKING:
    from itsm_bridge.sandbox.webhooks import Webhooks


def _zone(value: str) -> str:
    from zoneinfo import ZoneInfo

    ZoneInfo(value)  # ValueError / ZoneInfoNotFoundError (a KeyError) for an unknown zone
    return value


def _one_of(*allowed: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return value

    return check


def _flag(value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise ValueError("true or false")
    return value.lower() == "true"


class VendorOptionError(ValueError):
    """A `--vendor` setting that names no option or gives a value the option does not take."""


# Vendor behaviours a running sandbox can be set to (`itsm-bridge sandbox --vendor NAME=VALUE`);
# each platform module documents the behaviour and its source.
VENDOR_OPTIONS: dict[str, Callable[[str], Any]] = {
    "servicenow.hourly_rule": int,  # requests per clock hour per user (a rate limit rule)
    "servicenow.user_timezone": _zone,  # the integration user's time zone (display values)
    "servicenow.journal_access": _one_of("read", "hidden", "denied"),  # ACLs on sys_journal_field
    "servicenow.audit_access": _one_of("read", "hidden", "denied"),  # ACLs on sys_audit
    "servicenow.data_policy": _flag,  # resolve/close need close code and notes
    "cachet.version": str,  # what GET /api/v1/version says: 2.4.x or 2.3.x
    "cachet.app_timezone": _zone,  # the zone of the times Cachet answers
}


class Sandbox:
    """Starts the ServiceNow, Jira, Statuspage and Cachet imitations on 127.0.0.1."""

    def __init__(
        self,
        seed: int = 0,
        faults: str = "none",
        state_file: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        # Imported here so each platform module stays independent of the others.
        from itsm_bridge.sandbox.jira.api import JiraPlatform
        from itsm_bridge.sandbox.servicenow.api import ServiceNowPlatform
        from itsm_bridge.sandbox.statuspage.api import StatuspagePlatform
        from itsm_bridge.sandbox.statuspage.cachet import CachetPlatform

        if faults not in PROFILES:
            raise ValueError(f"unknown fault profile {faults!r}; one of {', '.join(PROFILES)}")
        self.seed_value = seed
        self.host = host
        self.port = port
        self.state_file = Path(state_file) if state_file else None
        self.servicenow = ServiceNowPlatform(seed=seed)
        self.jira = JiraPlatform(seed=seed + 1)
        self.statuspage = StatuspagePlatform(seed=seed + 2)
        self.cachet = CachetPlatform(seed=seed + 3)
        self.fault_profile = faults
        self.manifest: dict[str, list[str]] = {}  # deliberate inconsistencies of the seeded data
        self._served: list[Served] = []
        self.webhooks: Webhooks | None = None  # set by send_webhooks
        self.webhook_secret_env: str | None = None  # the variable a receiver reads the secret from

    @property
    def platforms(self) -> dict[str, Platform]:
        return {
            "servicenow": self.servicenow,
            "jira": self.jira,
            "statuspage": self.statuspage,
            "cachet": self.cachet,
        }

    def set_vendor(self, setting: str) -> None:
        """Apply one `platform.option=value` of VENDOR_OPTIONS; VendorOptionError naming what is wrong."""
        name, sep, raw = setting.partition("=")
        name = name.strip()
        if not sep or name not in VENDOR_OPTIONS:
            raise VendorOptionError(f"{setting!r}: expected NAME=VALUE with NAME one of {', '.join(VENDOR_OPTIONS)}")
        try:
            value = VENDOR_OPTIONS[name](raw.strip())
        except (ValueError, KeyError) as exc:
            raise VendorOptionError(f"{name}: {raw.strip()!r} is not valid ({exc})") from None
        platform, option = name.split(".", 1)
        setattr(self.platforms[platform], option, value)

    # --- lifecycle
    def start(self) -> Sandbox:
        if self.state_file and self.state_file.exists():
            self.load_state(json.loads(self.state_file.read_text("utf-8")))
        for offset, platform in enumerate(self.platforms.values()):
            port = self.port + offset if self.port else 0
            self._served.append(serve(platform, self.host, port))
            platform.faults.set_profile(self.fault_profile, seed=self.seed_value + offset)
        return self

    def send_webhooks(
        self, base_url: str, secret: str, *, faults: str | DeliveryFaults = "none", secret_env: str | None = None
    ) -> Webhooks:
        """From now on, Jira and ServiceNow post a signed webhook for every change to `base_url`
        (`/webhooks/jira`, `/webhooks/servicenow`); `secret_env` names, for `info()` and the
        written config, the variable the receiver reads the secret from."""
        from itsm_bridge.sandbox.webhooks import attach

        if self.webhooks is not None:
            self.webhooks.stop()
        self.webhooks = attach(self, base_url, secret, faults, seed=self.seed_value)
        self.webhook_secret_env = secret_env
        return self.webhooks

    def stop(self) -> None:
        if self.webhooks is not None:
            self.webhooks.stop()
            self.webhooks = None
        stop(self._served)
        self._served.clear()
        if self.state_file:
            self.save_state(self.state_file)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- control surface for tests and benchmarks
    def calls(self, platform: str | None = None) -> list[Call]:
        names = [platform] if platform else list(self.platforms)
        return [c for name in names for c in self.platforms[name].call_log.calls()]

    def clear_calls(self) -> None:
        for p in self.platforms.values():
            p.call_log.clear()

    def reset(self) -> None:
        for p in self.platforms.values():
            with p.lock:
                p.reset()

    def set_faults(self, profile: str, seed: int | None = None) -> None:
        for offset, p in enumerate(self.platforms.values()):
            p.faults.set_profile(profile, seed=None if seed is None else seed + offset)

    def seed(self, n: int) -> None:
        """Load n realistic incidents across the platforms (see `seed.py`)."""
        from itsm_bridge.sandbox.seed import seed_sandbox

        seed_sandbox(self, n, seed=self.seed_value)

    # --- description, as printed by `itsm-bridge sandbox --json`
    def info(self) -> dict[str, Any]:
        credentials: dict[str, Any] = {}
        env: dict[str, str] = {}
        for name, p in self.platforms.items():
            credentials[name] = p.credentials()
            env.update(p.env())
        return {
            "servicenow": self.servicenow.base_url,
            "jira": self.jira.base_url,
            "statuspage": self.statuspage.base_url,
            "statuspage_page_id": self.statuspage.page_id,
            "cachet": self.cachet.base_url,
            "cachet_timezone": self.cachet.app_timezone,  # the zone of Cachet's times: a config's statuspage.timezone
            "credentials": credentials,
            "env": env,
            **self._webhook_info(),
        }

    def _webhook_info(self) -> dict[str, Any]:
        if self.webhooks is None:
            return {}
        base = self.webhooks.base_url
        where = {"jira": self.webhooks.jira.url, "servicenow": self.webhooks.servicenow.url, "base_url": base}
        return {"webhooks": {**where, "secret_env": self.webhook_secret_env}}

    # --- persistence (--state FILE)
    def save_state(self, path: str | os.PathLike[str]) -> None:
        state = {name: p.to_state() for name, p in self.platforms.items()}
        target = Path(path)
        fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=target.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(state, fh, ensure_ascii=False)
        os.replace(tmp, target)  # atomic: a crash never leaves half a state file

    def load_state(self, state: dict[str, Any]) -> None:
        for name, p in self.platforms.items():
            if name in state:
                p.load_state(state[name])
