"""The platform registry: one `PlatformSpec` per platform, the one place platforms are named.

Config validation, `mapping check`, the sync engine and the audit iterate these specs instead of
listing platforms; the engine asks a spec what it needs (which fields a platform carries, whether
it shows a priority of its own, whether its writes get a pool of their own) and never names a
vendor. Adding a platform means one package (its connector, mapper and settings section) and one
line in `_BUILT_IN`.

Factories are import paths, resolved when first used: each platform pulls in its own libraries
only when it is configured, and this module imports nothing of connectors or mapping.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from itsm_bridge.model import SYNC_FIELDS

Role = Literal["two-way", "publish-only"]
TWO_WAY: Role = "two-way"
PUBLISH_ONLY: Role = "publish-only"


@dataclass(frozen=True)
class PlatformSpec:
    """What the rest of itsm-bridge knows about one platform.

    - `carries`: the canonical fields a record of this platform holds; the others are neither
      compared against it nor required of it.
    - `shows_priority`: it shows a priority of its own (not computed from impact x urgency), so
      one that is off the matrix is corrected.
    - `own_writer_pool`: its writes run on a pool of their own, so a tight request budget never
      holds the other platforms' workers.
    - `connector`, `mapper`, `settings`, `mapping_table`: "module:attribute" import paths of the
      connector factory `(config, **kw) -> Connector`, the mapper factory
      `(config) -> PlatformMapper` and the pydantic models of its `[name]` and `[mapping.name]`
      config tables.
    - `vocabularies`: the taxonomy vocabularies every term needs a value for on this platform
      (`mapping check` lists a term without one as a gap).
    - `default_states`: canonical state -> the platform's values (the first is written); for a
      publish-only platform, the public status shown in that state.
    """

    name: str
    role: Role
    carries: frozenset[str]
    connector: str
    mapper: str
    settings: str
    shows_priority: bool = False
    own_writer_pool: bool = False
    vocabularies: tuple[str, ...] = ()
    default_states: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    mapping_table: str = "itsm_bridge.config_schema:PlatformMapping"

    @property
    def two_way(self) -> bool:
        """Read, merged and written both ways (the other role is publish-only: told, never read back)."""
        return self.role == TWO_WAY

    def connector_factory(self) -> Callable[..., Any]:
        """`(config, **kw) -> Connector`, imported now."""
        factory: Callable[..., Any] = load(self.connector)
        return factory

    def mapper_factory(self) -> Callable[..., Any]:
        """`(config) -> PlatformMapper`, imported now."""
        factory: Callable[..., Any] = load(self.mapper)
        return factory

    def settings_model(self) -> type[Any]:
        """The pydantic model of the platform's `[name]` table."""
        return _class(self.settings)

    def mapping_model(self) -> type[Any]:
        """The pydantic model of the platform's `[mapping.name]` table."""
        return _class(self.mapping_table)


def _class(path: str) -> type[Any]:
    found = load(path)
    if not isinstance(found, type):
        raise TypeError(f"{path} is not a class")
    return found


def load(path: str) -> Any:
    """The object an import path "package.module:attribute" names, imported now."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


_BUILT_IN = (
    PlatformSpec(
        "servicenow",
        TWO_WAY,
        frozenset(SYNC_FIELDS),
        connector="itsm_bridge.connectors.servicenow:ServiceNowConnector",
        mapper="itsm_bridge.mapping.servicenow:ServiceNowMapper",
        settings="itsm_bridge.config_schema:ServiceNowSettings",
        vocabularies=("categories", "subcategories", "resolution_codes", "groups"),
        default_states={
            "new": ("1",),
            "in_progress": ("2",),
            "on_hold": ("3",),
            "resolved": ("6",),
            "closed": ("7",),
            "canceled": ("8",),
        },
    ),
    PlatformSpec(
        "jira",
        TWO_WAY,
        frozenset(
            {
                "title",
                "description",
                "state",
                "priority",
                "category",
                "subcategory",
                "service",
                "assignment_group",
                "assignee",
                "reporter",
                "opened",
                "resolved",
                "updated",
                "resolution_code",
            }
        ),
        connector="itsm_bridge.connectors.jira:JiraConnector",
        mapper="itsm_bridge.mapping.jira:JiraMapper",
        settings="itsm_bridge.config_schema:JiraSettings",
        shows_priority=True,
        vocabularies=("categories", "resolution_codes", "groups"),
        default_states={
            "new": ("Open",),
            "in_progress": ("Work in progress",),
            "on_hold": ("Pending",),
            "resolved": ("Resolved",),
            "closed": ("Closed",),
            "canceled": ("Canceled",),
        },
    ),
    PlatformSpec(
        "statuspage",
        PUBLISH_ONLY,
        frozenset({"title", "state", "service", "public_status", "public_message", "opened", "resolved"}),
        connector="itsm_bridge.connectors.statuspage:status_page_connector",
        mapper="itsm_bridge.mapping.statuspage:StatuspageMapper",
        settings="itsm_bridge.config_schema:StatuspageSettings",
        own_writer_pool=True,
        default_states={
            "new": ("investigating",),
            "in_progress": ("identified",),
            "on_hold": ("monitoring",),
            "resolved": ("resolved",),
            "closed": ("resolved",),
            "canceled": ("resolved",),
        },
    ),
)

_REGISTRY: dict[str, PlatformSpec] = {s.name: s for s in _BUILT_IN}


def specs() -> tuple[PlatformSpec, ...]:
    """Every registered platform, in registration order."""
    return tuple(_REGISTRY.values())


def names() -> tuple[str, ...]:
    """The names of every registered platform, in registration order."""
    return tuple(_REGISTRY)


def two_way_names() -> tuple[str, ...]:
    """The platforms read, merged and written both ways (the ones a sync can have as its source)."""
    return tuple(s.name for s in _REGISTRY.values() if s.two_way)


def get(name: str) -> PlatformSpec | None:
    """The spec of `name`, or None when no such platform is registered."""
    return _REGISTRY.get(name)


def spec(name: str) -> PlatformSpec:
    """The spec of `name`; an unknown name is a ValueError listing the registered ones."""
    found = _REGISTRY.get(name)
    if found is None:
        raise ValueError(f"unknown platform {name!r}; platforms are {', '.join(_REGISTRY)}")
    return found


def register(new: PlatformSpec) -> None:
    """Add a platform (a name already registered is refused: specs are not replaced silently)."""
    if new.name in _REGISTRY:
        raise ValueError(f"platform {new.name!r} is already registered")
    _REGISTRY[new.name] = new


def unregister(name: str) -> None:
    """Remove a platform added by `register` (the built-in ones stay)."""
    if any(s.name == name for s in _BUILT_IN):
        raise ValueError(f"platform {name!r} is built in")
    _REGISTRY.pop(name, None)


def is_two_way(name: str) -> bool:
    """Whether `name` is a registered two-way platform."""
    found = _REGISTRY.get(name)
    return found is not None and found.two_way


def is_publish_only(name: str) -> bool:
    """Whether `name` is a registered publish-only platform (told the merged incident, never read back)."""
    found = _REGISTRY.get(name)
    return found is not None and found.role == PUBLISH_ONLY


def own_writer_pool(name: str) -> bool:
    """Whether `name`'s writes run on a pool of their own, apart from the other platforms' workers."""
    found = _REGISTRY.get(name)
    return found is not None and found.own_writer_pool
