"""The shape of an itsm-bridge config file, as pydantic models.

Every table forbids unknown keys; `config.py` turns pydantic's errors into key paths with file,
line and a close-match suggestion. Secrets are only ever names of environment variables.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from itsm_bridge import platforms
from itsm_bridge.mapping.priority import DEFAULT_CELLS
from itsm_bridge.model import SYNC_FIELDS, PublicStatus, State
from itsm_bridge.urls import platform_url, store_url

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(Section):
    url: str
    timeout_s: float = Field(30.0, gt=0, description="Connect and read timeout of every request.")
    requests_per_second: float = Field(10.0, gt=0, description="Request budget for this platform.")
    max_retries: int = Field(4, ge=0, le=10)
    workers: int = Field(
        4,
        ge=1,
        le=32,
        description="Most requests in flight to this platform at once (and connections kept open to it); requests_per_second still bounds them.",
    )
    ca_bundle: str | None = Field(None, description="PEM file of a private CA; verification stays on.")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return platform_url(v)


def _known_platform(name: str) -> str:
    if platforms.get(name) is None:
        raise ValueError(f"unknown platform {name!r}; platforms are {', '.join(platforms.names())}")
    return name


def _two_way_platform(name: str) -> str:
    if not platforms.is_two_way(_known_platform(name)):
        raise ValueError(
            f"{name!r} is publish-only; a two-way platform is needed here: {', '.join(platforms.two_way_names())}"
        )
    return name


PlatformName = Annotated[str, AfterValidator(_known_platform)]
"""The name of a registered platform (`itsm_bridge.platforms`)."""
TwoWayName = Annotated[str, AfterValidator(_two_way_platform)]
"""The name of a registered two-way platform."""


def default_states(platform: str) -> dict[str, list[str]]:
    """The default state map of `platform`, from its spec: canonical state -> its values."""
    return {state: list(values) for state, values in platforms.spec(platform).default_states.items()}


class ReadSettings(HttpSettings):
    """A platform read by a cursor (a two-way platform): how far back each read reaches."""

    overlap_s: int = Field(60, ge=0, description="Cursor overlap window, seconds.")


class ServiceNowSettings(ReadSettings):
    user: str | None = None
    password_env: str | None = Field(None, pattern=ENV_NAME)
    token_env: str | None = Field(None, pattern=ENV_NAME)
    client_id_env: str | None = Field(None, pattern=ENV_NAME)
    client_secret_env: str | None = Field(None, pattern=ENV_NAME)
    page_size: int = Field(1000, ge=1, le=10000)
    max_wait_s: float = Field(
        60.0, ge=0, description="Longest rate-limit wait sat out; past it, the platform's work stops for this run."
    )
    communication_owner_field: str | None = Field(
        None, pattern=r"^u_[a-z0-9_]+$", description="The incident's communication owner: a custom u_ column."
    )

    @model_validator(mode="after")
    def _one_auth(self) -> ServiceNowSettings:
        basic = self.user is not None or self.password_env is not None
        if basic and not (self.user and self.password_env):
            raise ValueError("basic auth needs both user and password_env")
        if self.client_id_env and not self.client_secret_env:
            raise ValueError("client_id_env needs client_secret_env")
        if not (basic or self.token_env or self.client_id_env):
            raise ValueError("set user + password_env, token_env, or client_id_env + client_secret_env")
        return self


class JiraSettings(ReadSettings):
    email: str | None = None
    token_env: str | None = Field(None, pattern=ENV_NAME)
    pat_env: str | None = Field(None, pattern=ENV_NAME)
    project: str = Field(pattern=r"^[A-Z][A-Z0-9_]+$")
    issue_type: str = "[System] Incident"
    category_field: str = Field("components", description="components, labels, or a customfield_NNNNN id")
    service_field: str = Field("labels", description="components, labels, or a customfield_NNNNN id")
    group_field: str | None = Field(
        None, description="Where the assignment group goes: components or a customfield_NNNNN id (a select)"
    )
    search_lag_s: float = Field(120.0, ge=0)
    page_size: int = Field(100, ge=1, le=5000)
    overlap_s: int = Field(120, ge=0)
    communication_owner_field: str | None = Field(
        None, pattern=r"^customfield_[0-9]+$", description="The issue's communication owner: a user or text field."
    )

    @model_validator(mode="after")
    def _overlap_covers_lag(self) -> JiraSettings:
        if self.overlap_s < self.search_lag_s:
            raise ValueError(
                f"overlap_s ({self.overlap_s}) must be at least search_lag_s ({self.search_lag_s:g}): "
                "a change the search index had not shown yet would be read past"
            )
        return self

    @model_validator(mode="after")
    def _one_auth(self) -> JiraSettings:
        if self.token_env and not self.email:
            raise ValueError("token_env (Cloud API token) needs email")
        if not (self.token_env or self.pat_env):
            raise ValueError("set email + token_env (Cloud) or pat_env (Data Center)")
        return self

    @field_validator("category_field", "service_field")
    @classmethod
    def _field_kind(cls, v: str) -> str:
        if v in ("components", "labels") or v.startswith("customfield_"):
            return v
        raise ValueError("must be components, labels, or a customfield_NNNNN id")

    @field_validator("group_field")
    @classmethod
    def _group_field_kind(cls, v: str | None) -> str | None:
        if v is None or v == "components" or v.startswith("customfield_"):
            return v
        raise ValueError("must be components or a customfield_NNNNN id")


class StatuspageSettings(HttpSettings):
    provider: Literal["statuspage", "cachet"] = "statuspage"
    page_id: str | None = None
    api_key_env: str | None = Field(None, pattern=ENV_NAME)
    token_env: str | None = Field(None, pattern=ENV_NAME)
    requests_per_second: float = Field(
        1.0,
        gt=0,
        description="The page's request limit per key (Statuspage: 1 a second on a 60 s rolling window); "
        "requests go 5% under it.",
    )
    min_update_interval_s: float = Field(300.0, ge=0, description="Least time between two updates.")
    max_wait_s: float = Field(
        60.0, ge=0, description="Longest rate-limit wait sat out; past it, the platform's work stops for this run."
    )
    timezone: str = Field(
        "UTC", description="Cachet: the instance's app_timezone, the zone of the naive times it answers."
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as Europe/Berlin") from None
        return v

    @model_validator(mode="after")
    def _provider_keys(self) -> StatuspageSettings:
        if self.provider == "statuspage" and not (self.page_id and self.api_key_env):
            raise ValueError("provider statuspage needs page_id and api_key_env")
        if self.provider == "cachet" and not self.token_env:
            raise ValueError("provider cachet needs token_env")
        return self


class StateSettings(Section):
    url: str = Field("sqlite:///itsm-bridge.sqlite", description="sqlite:///PATH or postgresql+psycopg://...")
    password_env: str | None = Field(None, pattern=ENV_NAME)
    journal_key_env: str | None = Field(
        None, pattern=ENV_NAME, description="Variable holding the key that HMAC-chains the journal."
    )
    journal_head_file: str | None = Field(None, description="Each run appends the journal's head to this file.")

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, v: str) -> str:
        return store_url(v)


class TermSettings(Section):
    aliases: list[str] = []
    servicenow: str | None = None
    jira: str | None = None
    statuspage: str | None = None

    def platform_values(self) -> dict[str, str]:
        """Platform -> this term's value there, for the registered platforms that have one."""
        return {p: v for p in platforms.names() if isinstance(v := getattr(self, p, None), str) and v}


class CategorySettings(TermSettings):
    subcategories: dict[str, TermSettings] = {}


class TaxonomySettings(Section):
    default_category: str | None = None
    default_group: str | None = None
    categories: dict[str, CategorySettings] = {}
    services: dict[str, TermSettings] = {}
    resolution_codes: dict[str, TermSettings] = {}
    groups: dict[str, TermSettings] = {}

    @model_validator(mode="after")
    def _default_exists(self) -> TaxonomySettings:
        if self.default_category and self.default_category not in self.categories:
            raise ValueError(f"default_category {self.default_category!r} is not one of taxonomy.categories")
        if self.default_group and self.default_group not in self.groups:
            raise ValueError(f"default_group {self.default_group!r} is not one of taxonomy.groups")
        return self


def _check_states(names: dict[str, list[str]]) -> dict[str, list[str]]:
    unknown = set(names) - {s.value for s in State}
    if unknown:
        raise ValueError(f"unknown state(s) {sorted(unknown)}; states are {[s.value for s in State]}")
    missing = {s.value for s in State} - set(names)
    if missing:
        raise ValueError(f"every state needs a value; missing {sorted(missing)}")
    return names


class MappingTable(Section):
    """A platform's `[mapping.NAME]` table: what a value no taxonomy term maps becomes."""

    unmapped: Literal["block", "default", "pass"] = "block"


class PlatformMapping(MappingTable):
    states: dict[str, list[str]] = {}

    @field_validator("states")
    @classmethod
    def _states(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        return _check_states(v) if v else v


class JiraMapping(PlatformMapping):
    unmapped: Literal["block", "default", "pass"] = "default"
    states: dict[str, list[str]] = default_states("jira")
    priorities: dict[str, str] = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low", "P5": "Lowest"}

    @field_validator("priorities")
    @classmethod
    def _all_priorities(cls, v: dict[str, str]) -> dict[str, str]:
        expected = {"P1", "P2", "P3", "P4", "P5"}
        if set(v) != expected:
            raise ValueError(
                f"needs exactly P1..P5; missing {sorted(expected - set(v))}, extra {sorted(set(v) - expected)}"
            )
        return v


class ServiceNowMapping(PlatformMapping):
    states: dict[str, list[str]] = default_states("servicenow")


class StatuspageMapping(MappingTable):
    unmapped: Literal["block", "default", "pass"] = "pass"
    public_status: dict[str, str] = {state: values[0] for state, values in default_states("statuspage").items()}

    @field_validator("public_status")
    @classmethod
    def _statuses(cls, v: dict[str, str]) -> dict[str, str]:
        _check_states({k: [s] for k, s in v.items()})
        bad = {s for s in v.values() if s not in {p.value for p in PublicStatus}}
        if bad:
            raise ValueError(f"unknown public status {sorted(bad)}; one of {[p.value for p in PublicStatus]}")
        return v


class MappingSettings(Section):
    servicenow: ServiceNowMapping = ServiceNowMapping()
    jira: JiraMapping = JiraMapping()
    statuspage: StatuspageMapping = StatuspageMapping()

    def platform(self, name: str) -> MappingTable | None:
        """The `[mapping.NAME]` table of platform `name` (None for a platform without one)."""
        value = getattr(self, name, None)
        return value if isinstance(value, MappingTable) else None


class PrioritySettings(Section):
    # Validated (all nine cells, P1-P5) in config.py so each problem names its cell.
    matrix: dict[str, str] = DEFAULT_CELLS


class RequiredSettings(Section):
    step: Literal["create", "resolve", "close"]
    fields: list[str]
    platforms: list[PlatformName] = []
    severity: Literal["block", "warn"] = "block"
    major_only: bool = Field(False, description="The rule holds for incidents flagged major only.")

    @field_validator("fields")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        unknown = [f for f in v if f not in SYNC_FIELDS]
        if unknown:
            raise ValueError(f"unknown canonical field(s) {unknown}")
        return v


class PeopleSettings(Section):
    """Matching people across platforms: by e-mail address, unless the map says who an account is."""

    cache_ttl_hours: float = Field(
        24.0, gt=0, description="How long a user lookup is trusted (kept in the state store)."
    )
    csv: str | None = Field(None, description="CSV file (email column, then a column per platform) of accounts.")
    map: dict[str, dict[TwoWayName, str]] = Field(
        {}, description="E-mail address -> platform -> that platform's user id; wins over the CSV and lookups."
    )

    @field_validator("map")
    @classmethod
    def _addresses(cls, v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        from itsm_bridge.people import email_of

        bad = [k for k in v if email_of(k) is None]
        if bad:
            raise ValueError(f"keys must be e-mail addresses; not {bad}")
        return {email_of(k) or k: ids for k, ids in v.items()}


class RulesSettings(Section):
    required: list[RequiredSettings] = []


class PublishSettings(Section):
    when_major: bool = Field(True, description="Publish incidents flagged major.")
    priorities: list[Literal["P1", "P2", "P3", "P4", "P5"]] = ["P1", "P2"]
    impact: dict[str, Literal["none", "minor", "major", "critical"]] = {
        "P1": "critical",
        "P2": "major",
        "P3": "minor",
        "P4": "none",
        "P5": "none",
    }
    internal_host_patterns: list[str] = [r"\b[a-z0-9-]+\.(?:corp|internal|local|lan)\b"]
    name_template: str = "{{ title }}"
    body_template: str = "{{ public_message or 'We are investigating an issue affecting ' ~ service ~ '.' }}"


class SyncSettings(Section):
    source: TwoWayName = "servicenow"
    targets: list[PlatformName] = ["jira", "statuspage"]
    filters: dict[str, dict[str, str]] = {}
    owners: dict[str, TwoWayName] = {
        "priority": "servicenow",
        "impact": "servicenow",
        "urgency": "servicenow",
        "category": "servicenow",
        "subcategory": "servicenow",
        "assignment_group": "servicenow",
        "state": "jira",
    }
    gone_links: Literal["quarantine", "recreate"] = Field(
        "quarantine",
        description="A linked record that is gone (404): hold the key on that platform, or create it again.",
    )

    @field_validator("owners")
    @classmethod
    def _fields(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = [f for f in v if f not in SYNC_FIELDS]
        if unknown:
            raise ValueError(f"unknown canonical field(s) {unknown}; fields are {list(SYNC_FIELDS)}")
        return v

    @model_validator(mode="after")
    def _source_not_target(self) -> SyncSettings:
        if self.source in self.targets:
            raise ValueError(f"source {self.source!r} cannot also be a target")
        return self


def duration_minutes(value: str | int) -> int:
    """Minutes of a duration written as minutes (an integer) or "<n>m", "<n>h", "<n>d"."""
    if isinstance(value, bool):
        raise ValueError('must be minutes (an integer) or a duration like "30m", "4h", "3d"')
    if isinstance(value, int):
        if value <= 0:
            raise ValueError("must be more than 0 minutes")
        return value
    text = value.strip().lower()
    units = {"m": 1, "h": 60, "d": 24 * 60}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit() or int(text[:-1]) <= 0:
        raise ValueError(f'{value!r} is not a duration; write minutes (240) or "30m", "4h", "3d"')
    return int(text[:-1]) * units[text[-1]]


class SlaSettings(Section):
    """Resolution target per priority: an incident resolved later than this breached its SLA."""

    P1: str | int | None = "4h"
    P2: str | int | None = "8h"
    P3: str | int | None = "3d"
    P4: str | int | None = "5d"
    P5: str | int | None = "10d"

    @field_validator("P1", "P2", "P3", "P4", "P5")
    @classmethod
    def _duration(cls, v: str | int | None) -> str | int | None:
        if v is not None:
            duration_minutes(v)
        return v

    def minutes(self) -> dict[str, int]:
        """Priority -> target in minutes, for the priorities that have one."""
        return {p: duration_minutes(v) for p in ("P1", "P2", "P3", "P4", "P5") if (v := getattr(self, p)) is not None}


class CadenceSettings(Section):
    """Most time between two public updates of an open, published incident: per priority, and
    for a major incident (the shorter applies). Absent: no updates are posted on a schedule."""

    major: str | int | None = None
    P1: str | int | None = None
    P2: str | int | None = None
    P3: str | int | None = None
    P4: str | int | None = None
    P5: str | int | None = None

    @field_validator("major", "P1", "P2", "P3", "P4", "P5")
    @classmethod
    def _duration(cls, v: str | int | None) -> str | int | None:
        if v is not None and duration_minutes(v) > MAX_CADENCE_MINUTES:
            raise ValueError(f"{v!r} is longer than a day; a cadence is at most 24h (the update names a time of day)")
        return v

    def minutes(self) -> dict[str, int]:
        """ "major" and each priority -> minutes, for those that have a cadence."""
        names = ("major", "P1", "P2", "P3", "P4", "P5")
        return {n: duration_minutes(v) for n in names if (v := getattr(self, n)) is not None}


MAX_CADENCE_MINUTES = 24 * 60


class CommunicationSettings(Section):
    """Public updates kept on a cadence while a published incident is open."""

    cadence: CadenceSettings = CadenceSettings()
    update_template: str = (
        "We are continuing to investigate the issue affecting {{ service or 'our services' }}."
        " Next update by {{ next_update_at }}."
    )


class AuditSettings(Section):
    page_stale_minutes: int = Field(30, ge=0, description="A page still open this long after the resolve is stale.")
    recurrence_days: int = Field(7, ge=1, description="Same service and category again within N days recurs.")
    sla: SlaSettings = SlaSettings()
    detected_at: dict[TwoWayName, Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")]] = Field(
        default_factory=dict,
        description="Per platform, the field holding when the problem was detected (MTTD); none: not measured.",
    )
    web_url: dict[PlatformName, str] = Field(
        default_factory=dict,
        description="Per platform, the web address people open records at (the HTML report links every key there).",
    )

    @field_validator("web_url")
    @classmethod
    def _web_urls(cls, v: dict[str, str]) -> dict[str, str]:
        return {name: platform_url(url) for name, url in v.items()}


class ServeSettings(Section):
    """`itsm-bridge serve`: the webhook receiver and its workers."""

    jira_webhook_secret_env: str | None = Field(
        None, pattern=ENV_NAME, description="Variable holding the secret of the Jira admin webhook."
    )
    servicenow_webhook_secret_env: str | None = Field(
        None, pattern=ENV_NAME, description="Variable holding the secret the ServiceNow business rule signs with."
    )
    sweep_interval_seconds: int = Field(300, ge=0, description="A full sync this often catches lost webhooks; 0: none.")
    stalled_after_seconds: float = Field(
        30.0, ge=2, le=3600, description="PostgreSQL: a serve process silent this long is dead; others rerun its job."
    )
    max_body_bytes: int = Field(
        1048576, ge=1024, le=64 * 1048576, description="Larger webhook bodies are refused (413)."
    )


class Settings(Section):
    servicenow: ServiceNowSettings | None = None
    jira: JiraSettings | None = None
    statuspage: StatuspageSettings | None = None
    state: StateSettings = StateSettings()
    sync: SyncSettings = SyncSettings()
    publish: PublishSettings = PublishSettings()
    mapping: MappingSettings = MappingSettings()
    priority: PrioritySettings = PrioritySettings()
    taxonomy: TaxonomySettings = TaxonomySettings()
    rules: RulesSettings = RulesSettings()
    audit: AuditSettings = AuditSettings()
    people: PeopleSettings = PeopleSettings()
    communication: CommunicationSettings = CommunicationSettings()
    serve: ServeSettings = ServeSettings()

    @model_validator(mode="after")
    def _platforms_configured(self) -> Settings:
        for name in {self.sync.source, *self.sync.targets}:
            if platforms.get(name) is not None and self.section(name) is None:
                raise ValueError(f"sync uses {name} but there is no [{name}] table")
        return self

    def section(self, platform: str) -> HttpSettings | None:
        """The `[platform]` table, or None when it is not in the config."""
        value = getattr(self, platform, None)
        return value if isinstance(value, HttpSettings) else None
