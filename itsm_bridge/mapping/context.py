"""What mapping reads from the configuration, as a protocol: mapping never imports `config`.

`itsm_bridge.config.Config` satisfies it; a test may hand over any object that does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from itsm_bridge.config_schema import Settings
    from itsm_bridge.mapping.fields import StateMap
    from itsm_bridge.mapping.priority import PriorityMatrix
    from itsm_bridge.mapping.rules import RequiredRule
    from itsm_bridge.mapping.taxonomy import Taxonomy
    from itsm_bridge.model import PublicStatus, State


class MappingConfig(Protocol):
    """The validated settings and the mapping objects derived from them."""

    @property
    def settings(self) -> Settings: ...

    @property
    def taxonomy(self) -> Taxonomy: ...

    @property
    def matrix(self) -> PriorityMatrix: ...

    @property
    def public_status(self) -> dict[State, PublicStatus]: ...

    @property
    def rules(self) -> tuple[RequiredRule, ...]: ...

    def state_map(self, platform: str) -> StateMap: ...
