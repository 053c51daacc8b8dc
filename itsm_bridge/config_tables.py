"""The settings model for the platforms registered now: `Settings` plus a table for each one.

The built-in platforms' tables are declared in `config_schema` (typed attributes for their
connectors). A platform registered beyond them gets, from its spec, its `[name]` table, its
`[mapping.name]` table, and a value of its own on every taxonomy term, so adding a platform
needs no edit to the schema.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import create_model

from itsm_bridge import platforms
from itsm_bridge.config_schema import CategorySettings, MappingSettings, Settings, TaxonomySettings, TermSettings


def settings_model() -> type[Settings]:
    """The model a config file is validated against: a table for every registered platform."""
    return _settings_model(platforms.specs())


@lru_cache(maxsize=8)
def _settings_model(specs: tuple[platforms.PlatformSpec, ...]) -> type[Settings]:
    new = [s for s in specs if s.name not in Settings.model_fields]
    if not new:
        return Settings
    values: dict[str, Any] = {s.name: (str | None, None) for s in new}
    term: Any = create_model("TermSettings", __base__=TermSettings, **values)
    category: Any = create_model(
        "CategorySettings", __base__=(CategorySettings, term), subcategories=(dict[str, term], {})
    )
    taxonomy: Any = create_model(
        "TaxonomySettings",
        __base__=TaxonomySettings,
        categories=(dict[str, category], {}),
        services=(dict[str, term], {}),
        resolution_codes=(dict[str, term], {}),
    )
    tables: dict[str, Any] = {s.name: (s.mapping_model(), s.mapping_model()()) for s in new}
    mapping: Any = create_model("MappingSettings", __base__=MappingSettings, **tables)
    tables = {s.name: (s.settings_model() | None, None) for s in new}
    return create_model(
        "Settings", __base__=Settings, taxonomy=(taxonomy, taxonomy()), mapping=(mapping, mapping()), **tables
    )
