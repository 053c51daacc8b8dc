"""Major-incident communication: how often the public hears about an open, published incident.

`[communication.cadence]` gives the most time between two public updates per priority and for a
major incident; where both apply the shorter wins. Whether an update is due is decided against
the time of the last public update (the page's own timeline, see `sync.cadence`); the text is
`communication.update_template`, rendered like every public text (allow-listed fields plus
`next_update_at`, leak guard, the page's rate limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from itsm_bridge.model import Incident

if TYPE_CHECKING:
    from itsm_bridge.config_schema import CadenceSettings


@dataclass(frozen=True)
class Cadence:
    """The cadence an incident is held to, and what set it ("P1" or "major")."""

    by: str
    minutes: int

    @property
    def every(self) -> timedelta:
        return timedelta(minutes=self.minutes)

    @property
    def rule(self) -> str:
        """How `plan` and the journal name it: `communication cadence P1 30 min`."""
        by = "major incident" if self.by == "major" else self.by
        return f"communication cadence {by} {self.minutes} min"


def cadence_for(incident: Incident, settings: CadenceSettings) -> Cadence | None:
    """The shortest cadence that applies to `incident` (its priority, major), or None."""
    minutes = settings.minutes()
    applies = [
        Cadence(by, minutes[by])
        for by in (incident.priority.value if incident.priority else None, "major" if incident.major else None)
        if by is not None and by in minutes
    ]
    return min(applies, key=lambda c: c.minutes, default=None)


def update_due(incident: Incident, settings: CadenceSettings, last_update: datetime, now: datetime) -> Cadence | None:
    """The cadence `incident` has broken when its last public update was at `last_update`: an
    open incident with a cadence and no public update within it. None when nothing is due."""
    cadence = cadence_for(incident, settings)
    if cadence is None or not incident.state.is_open or now - last_update < cadence.every:
        return None
    return cadence
