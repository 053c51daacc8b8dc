"""Every error itsm-bridge raises, and what the engine should do about it.

The tree::

    BridgeError                      disposition   exit code
      ConfigError                    abort         2   every problem at once, each with key path, file, line
      MappingError                   skip          1
        UnmappedValue                skip          1   a vendor value with no canonical meaning
        RequiredFieldMissing         skip          1   all violations of a lifecycle step, not the first
      ConnectorError                 skip          1   (platform, ref, status)
        AuthError                    abort         4   401: credentials refused; never retried
        Forbidden                    abort         4   403
        Unreachable                  abort         4   DNS, refused connection, TLS failure
        NotFound                     skip          1
        RemoteValidation             skip          1   the vendor refused the record (400, data policy)
        TransitionNotAllowed         skip          1
        RateLimited                  retry         1   carries retry_after (seconds)
          Paused                     skip          1   a wait past max_wait_s: the platform's work stops for the run
        Transient                    retry         1   5xx, reset, timeout
      UnsafeQueryValue               skip          1   a data value that would change a vendor query's meaning
      SyncError                      skip          1
        Conflict                     skip          1
        Stale                        skip          1   a planned action whose record changed since the plan
        Aborted                      abort         1   resumable: the next run continues
      StoreError                     abort         1
        Locked                       abort         3   another run holds the lock
        LinkConflict                 skip          1   a key already linked to another record there

The engine branches on `disposition` (retry | skip | abort), never on HTTP status codes.
Messages never carry secrets: connectors name the instance and user, never a password or token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, Literal, TypedDict, Unpack

if TYPE_CHECKING:
    from itsm_bridge.model import RemoteRef

Disposition = Literal["retry", "skip", "abort"]


class BridgeError(Exception):
    """Root of every itsm-bridge error. Its text is redacted when made: a vendor's error page
    may echo the credentials it was sent, and the text goes on to the journal, the run summary
    and `status`, not only to the (redacted) logs."""

    disposition: ClassVar[Disposition] = "skip"
    exit_code: ClassVar[int] = 1

    def __init__(self, *args: object) -> None:
        from itsm_bridge.log import redact  # the registry of secrets read so far

        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a config file: where it is and what is wrong."""

    key_path: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line:
            where += f":{self.line}"
        return f"{where}: {self.key_path}: {self.message}" if self.key_path else f"{where}: {self.message}"


class ConfigError(BridgeError):
    """A config that cannot be used; lists every problem found, not just the first."""

    disposition = "abort"
    exit_code = 2

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class MappingError(BridgeError):
    """A record that cannot be mapped onto the canonical model or a platform."""


class UnmappedValue(MappingError):
    def __init__(self, platform: str, field: str, value: str) -> None:
        self.platform, self.field, self.value = platform, field, value
        super().__init__(f"{platform}: {field} value {value!r} maps to no canonical value")


class RequiredFieldMissing(MappingError):
    def __init__(self, step: str, platform: str, fields: list[str]) -> None:
        self.step, self.platform, self.fields = step, platform, fields
        super().__init__(f"{platform}: cannot {step}: missing required field(s) {', '.join(fields)}")


class Where(TypedDict, total=False):
    """The keyword arguments every `ConnectorError` takes: where the call failed."""

    platform: str
    ref: str | None
    status: int | None


class ConnectorError(BridgeError):
    """A platform refused or failed a call."""

    def __init__(
        self,
        message: str,
        *,
        platform: str = "",
        ref: str | None = None,
        status: int | None = None,
    ) -> None:
        self.platform, self.ref, self.status = platform, ref, status
        parts = [p for p in (platform, ref) if p]
        prefix = f"{' '.join(parts)}: " if parts else ""
        super().__init__(f"{prefix}{message}" + (f" (HTTP {status})" if status else ""))


class AuthError(ConnectorError):
    disposition = "abort"
    exit_code = 4


class Forbidden(ConnectorError):
    disposition = "abort"
    exit_code = 4


class Unreachable(ConnectorError):
    disposition = "abort"
    exit_code = 4


class NotFound(ConnectorError):
    pass


class RemoteValidation(ConnectorError):
    """The vendor refused the record's content; `fields` names what it objected to."""

    def __init__(self, message: str, *, fields: list[str] | None = None, **kw: Unpack[Where]) -> None:
        self.fields = fields or []
        super().__init__(message, **kw)


class TransitionNotAllowed(ConnectorError):
    pass


class RateLimited(ConnectorError):
    disposition: ClassVar[Disposition] = "retry"  # declared: Paused overrides it

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Unpack[Where]) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class Paused(RateLimited):
    """A rate limit asks for a longer wait than the platform's `max_wait_s` (an hourly rule can
    mean an hour): this platform's work stops for the run, its records wait for the next one.
    `until` is the reset time the vendor gave (aware UTC)."""

    disposition = "skip"

    def __init__(self, message: str, *, until: datetime, **kw: Unpack[Where]) -> None:
        self.until = until
        super().__init__(message, retry_after=max(0.0, (until - datetime.now(UTC)).total_seconds()), **kw)


class Transient(ConnectorError):
    disposition = "retry"


class UnsafeQueryValue(BridgeError):
    """A value from data that cannot be put in a vendor query without changing its meaning
    (ServiceNow encoded queries have no escape for `^`, so such a value is refused, not pasted)."""

    def __init__(self, field: str, value: str, reason: str) -> None:
        self.field, self.value, self.reason = field, value, reason
        shown = value if len(value) <= 60 else value[:57] + "..."
        super().__init__(f"refusing to query {field} with {shown!r}: {reason}")


class SyncError(BridgeError):
    """The sync engine could not carry out a step."""


class Conflict(SyncError):
    pass


class Stale(SyncError):
    pass


class Aborted(SyncError):
    disposition = "abort"


class StoreError(BridgeError):
    disposition: ClassVar[Disposition] = "abort"  # declared: LinkConflict overrides it


class Locked(StoreError):
    exit_code = 3


class LinkConflict(StoreError):
    """A key already linked to another record on that platform: the linked one stays, the
    other is reported (two runs that overlapped each made one). Scoped to its record."""

    disposition = "skip"

    def __init__(self, key: str, existing: RemoteRef, offered: RemoteRef) -> None:
        self.key, self.existing, self.offered = key, existing, offered
        super().__init__(f"{key} is already linked to {existing.platform}:{existing.id}, not {offered.id}")
