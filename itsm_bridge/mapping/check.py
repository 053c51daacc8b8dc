"""`itsm-bridge mapping check`: the priority matrix and each platform's vocabulary, gaps flagged."""

from __future__ import annotations

from typing import Any

from itsm_bridge.config import Config

# Which vocabularies each platform needs a value for; the status page carries services only
# (a service without a component is simply never published, so it is listed, not a gap).
NEEDED: dict[str, tuple[str, ...]] = {
    "servicenow": ("categories", "subcategories", "resolution_codes"),
    "jira": ("categories", "resolution_codes"),
    "statuspage": (),
}


def mapping_report(config: Config) -> dict[str, Any]:
    """Plain data: matrix, per-platform values, gaps. Stable keys: scripts read this as JSON."""
    tax = config.taxonomy
    matrix = config.matrix
    platforms: dict[str, Any] = {}
    gaps: list[dict[str, str]] = []
    for platform in ("servicenow", "jira", "statuspage"):
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
        }
        if platform in ("servicenow", "jira"):
            state_map = config.state_map(platform)
            entry["states"] = {s.value: list(v) for s, v in state_map.values.items()}
        else:
            entry["public_status"] = {s.value: p.value for s, p in config.public_status.items()}
        if platform == "jira":
            entry["priorities"] = dict(config.settings.mapping.jira.priorities)
        platforms[platform] = entry
        gaps += _gaps(config, platform)
    return {
        "priority_matrix": {
            "rows": matrix.rows(),
            "cells": dict(matrix.cells),
            "axes": "rows: impact 1..3 (high..low); columns: urgency 1..3 (high..low)",
        },
        "platforms": platforms,
        "gaps": gaps,
        "ok": not gaps,
    }


def _gaps(config: Config, platform: str) -> list[dict[str, str]]:
    tax = config.taxonomy
    out: list[dict[str, str]] = []
    for kind in NEEDED[platform]:
        if kind == "subcategories":
            for cat, term in tax.categories.terms.items():
                for sub, child in (term.children.terms.items() if term.children else ()):
                    if platform not in child.values:
                        out.append(_gap(platform, "subcategory", f"{cat} / {sub}", f"taxonomy.categories.{cat}.subcategories.{sub}.{platform}"))
            continue
        vocab = getattr(tax, kind)
        for name, term in vocab.terms.items():
            if platform not in term.values:
                out.append(_gap(platform, vocab.kind, name, f"taxonomy.{kind}.{name}.{platform}"))
    return out


def _gap(platform: str, kind: str, name: str, key: str) -> dict[str, str]:
    return {"platform": platform, "kind": kind, "term": name, "missing_key": key}
