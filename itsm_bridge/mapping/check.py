"""`itsm-bridge mapping check`: the priority matrix and each platform's vocabulary, gaps flagged.

Every registered platform is listed; which vocabularies need a value on a platform is its spec's
`vocabularies` (a status page carries services only, and a service without a component is simply
never published, so it is listed, not a gap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from itsm_bridge import platforms

if TYPE_CHECKING:
    from itsm_bridge.mapping.context import MappingConfig


def mapping_report(config: MappingConfig) -> dict[str, Any]:
    """Plain data: matrix, per-platform values, gaps. Stable keys: scripts read this as JSON."""
    matrix = config.matrix
    entries: dict[str, Any] = {}
    gaps: list[dict[str, str]] = []
    for spec in platforms.specs():
        entries[spec.name] = _entry(config, spec)
        gaps += _gaps(config, spec)
    return {
        "priority_matrix": {
            "rows": matrix.rows(),
            "cells": dict(matrix.cells),
            "axes": "rows: impact 1..3 (high..low); columns: urgency 1..3 (high..low)",
        },
        "platforms": entries,
        "gaps": gaps,
        "ok": not gaps,
    }


def _entry(config: MappingConfig, spec: platforms.PlatformSpec) -> dict[str, Any]:
    tax = config.taxonomy
    platform = spec.name
    subcats: dict[str, dict[str, str]] = {}
    for name, term in tax.categories.terms.items():
        if term.children is not None and term.children.terms:
            subcats[name] = term.children.platform_values(platform)
    entry: dict[str, Any] = {
        "unmapped_policy": tax.policy(platform),
        "categories": tax.categories.platform_values(platform),
        "subcategories": subcats,
        "services": tax.services.platform_values(platform),
        "resolution_codes": tax.resolution_codes.platform_values(platform),
        "groups": tax.groups.platform_values(platform),
    }
    if spec.two_way:
        state_map = config.state_map(platform)
        entry["states"] = {s.value: list(v) for s, v in state_map.values.items()}
    else:
        entry["public_status"] = {s.value: p.value for s, p in config.public_status.items()}
    priorities = getattr(config.settings.mapping.platform(platform), "priorities", None)
    if spec.shows_priority and isinstance(priorities, dict):
        entry["priorities"] = dict(priorities)
    return entry


def _gaps(config: MappingConfig, spec: platforms.PlatformSpec) -> list[dict[str, str]]:
    tax = config.taxonomy
    platform = spec.name
    out: list[dict[str, str]] = []
    for kind in spec.vocabularies:
        if kind == "subcategories":
            for cat, term in tax.categories.terms.items():
                for sub, child in term.children.terms.items() if term.children else ():
                    if platform not in child.values:
                        out.append(
                            _gap(
                                platform,
                                "subcategory",
                                f"{cat} / {sub}",
                                f"taxonomy.categories.{cat}.subcategories.{sub}.{platform}",
                            )
                        )
            continue
        vocab = getattr(tax, kind)
        for name, term in vocab.terms.items():
            if platform not in term.values:
                out.append(_gap(platform, vocab.kind, name, f"taxonomy.{kind}.{name}.{platform}"))
    return out


def _gap(platform: str, kind: str, name: str, key: str) -> dict[str, str]:
    return {"platform": platform, "kind": kind, "term": name, "missing_key": key}
