"""Turning one platform's RemoteRecord into the canonical Incident and back.

Each platform has a mapper, built from the config by the factory its `PlatformSpec` names. Mappers are pure: no HTTP. Findings (unmapped values, priority off the
matrix, ...) are returned as data; the engine decides what a blocking one stops.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from itsm_bridge import platforms
from itsm_bridge.findings import Finding
from itsm_bridge.model import Incident, State

if TYPE_CHECKING:
    from itsm_bridge.mapping.context import MappingConfig
    from itsm_bridge.records import RemoteRecord


class PlatformMapper(Protocol):
    platform: str

    def to_canonical(self, record: RemoteRecord) -> tuple[Incident, list[Finding]]:
        """The canonical incident a vendor record stands for, with every Finding on the way."""
        ...

    def to_fields(
        self, incident: Incident, changed: Iterable[str] | None = None
    ) -> tuple[dict[str, Any], list[Finding]]:
        """Vendor fields for `incident`; only those of the canonical fields in `changed` when
        given (send only what changed). State goes through `transition`, not these fields."""
        ...

    def transition_fields(self, incident: Incident, state: State) -> dict[str, Any]:
        """Vendor fields a move of `incident` to `state` carries (a resolution code and notes).
        Required-field rules of the step are checked here: MappingError when one is not met."""
        ...


def mapper_for(platform: str, config: MappingConfig) -> PlatformMapper:
    """The mapper of `platform`, built by the factory its `PlatformSpec` names."""
    mapper: PlatformMapper = platforms.spec(platform).mapper_factory()(config)
    return mapper
