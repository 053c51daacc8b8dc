"""One canonical taxonomy (categories, subcategories, services, resolution codes, assignment
groups), mapped onto each platform's own values.

Aliases are matched case- and space-insensitively ("DB", " database " -> "Database"). What a
platform does with a value that maps to nothing is its `unmapped` policy:

- ``block``: a blocking Finding; the record is quarantined until the mapping is fixed;
- ``default``: the configured default term, with a warning;
- ``pass``: the value is carried through unchanged, with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from itsm_bridge.findings import Finding, Severity

UnmappedPolicy = Literal["block", "default", "pass"]
CONFIG_TABLES = {
    "category": "taxonomy.categories",
    "subcategory": "taxonomy.categories.<category>.subcategories",
    "service": "taxonomy.services",
    "resolution_code": "taxonomy.resolution_codes",
    "assignment_group": "taxonomy.groups",
}


def normalize(text: str) -> str:
    """Case- and space-insensitive form used for every alias comparison."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Term:
    """One canonical value with its aliases and each platform's spelling of it."""

    name: str
    aliases: tuple[str, ...] = ()
    values: dict[str, str] = field(default_factory=dict)  # platform -> vendor value
    children: Vocabulary | None = None  # subcategories of a category


@dataclass(frozen=True)
class Resolved:
    """The outcome of mapping one value: the mapped value (or None) and any Finding."""

    value: str | None
    finding: Finding | None = None


class Vocabulary:
    """A set of canonical terms (e.g. the categories) with alias and per-platform lookups."""

    def __init__(self, kind: str, terms: list[Term], default: str | None = None) -> None:
        self.kind = kind  # "category", "subcategory", "service", "resolution_code"
        self.terms = {t.name: t for t in terms}
        self.default = default
        self._by_alias: dict[str, str] = {}
        self._by_vendor: dict[str, dict[str, str]] = {}
        for t in terms:
            for spelling in (t.name, *t.aliases):
                self._by_alias.setdefault(normalize(spelling), t.name)
            for platform, vendor_value in t.values.items():
                # The first term to claim a vendor value owns it on the way back.
                self._by_vendor.setdefault(platform, {}).setdefault(normalize(vendor_value), t.name)

    def __contains__(self, name: object) -> bool:
        return name in self.terms

    def canonical(self, text: str | None) -> str | None:
        """The canonical name for a name or alias, or None."""
        if text is None:
            return None
        return self._by_alias.get(normalize(text))

    def platform_values(self, platform: str) -> dict[str, str]:
        """canonical name -> vendor value, for the terms mapped on `platform`."""
        return {name: t.values[platform] for name, t in self.terms.items() if platform in t.values}

    def to_platform(self, platform: str, name: str | None, policy: UnmappedPolicy) -> Resolved:
        """The vendor value for a canonical name (or alias) on `platform`."""
        if name is None or not name.strip():
            return Resolved(None)
        canonical = self.canonical(name)
        term = self.terms.get(canonical) if canonical else None
        if term and platform in term.values:
            return Resolved(term.values[platform])
        return self._unmapped(platform, name, policy, outward=True)

    def from_platform(self, platform: str, vendor_value: str | None, policy: UnmappedPolicy) -> Resolved:
        """The canonical name for a vendor value read from `platform`."""
        if vendor_value is None or not str(vendor_value).strip():
            return Resolved(None)
        name = self._by_vendor.get(platform, {}).get(normalize(vendor_value))
        if name is None:
            name = self.canonical(vendor_value)  # an alias spelled on the platform
        if name is not None:
            return Resolved(name)
        return self._unmapped(platform, vendor_value, policy, outward=False)

    def _unmapped(self, platform: str, value: str, policy: UnmappedPolicy, outward: bool) -> Resolved:
        direction = f"to a {platform} value" if outward else "to a canonical value"
        base = f"{self.kind} {value!r} maps {direction} nowhere in the taxonomy"
        if policy == "default" and self.default is not None:
            target = self.to_platform(platform, self.default, "pass").value if outward else self.default
            msg = f"{base}; using the default {self.kind} {self.default!r}"
            return Resolved(target, self._finding(platform, value, "warn", msg))
        if policy == "pass":
            msg = f'{base}; passed through unchanged (unmapped = "pass")'
            return Resolved(value, self._finding(platform, value, "warn", msg))
        table = CONFIG_TABLES.get(self.kind, "taxonomy")
        msg = f"{base}; add it (or an alias) to {table} in the config, or set a default"
        return Resolved(None, self._finding(platform, value, "block", msg))

    def _finding(self, platform: str, value: str, severity: Severity, message: str) -> Finding:
        return Finding(
            rule_id=f"taxonomy.unmapped.{self.kind}",
            platform=platform,
            field=self.kind,
            severity=severity,
            message=message,
            value=value,
        )


@dataclass(frozen=True)
class Taxonomy:
    """Categories (each with its subcategories), services, resolution codes and assignment groups."""

    categories: Vocabulary
    services: Vocabulary
    resolution_codes: Vocabulary
    policies: dict[str, UnmappedPolicy] = field(default_factory=dict)  # platform -> policy
    groups: Vocabulary = field(default_factory=lambda: Vocabulary("assignment_group", []))

    def policy(self, platform: str) -> UnmappedPolicy:
        return self.policies.get(platform, "block")

    def group_from_platform(self, platform: str, value: str | None) -> Resolved:
        """The canonical group of a platform's group name. With no `[taxonomy.groups]` at all,
        groups are not mapped: each platform's name is carried as it is."""
        if not self.groups.terms:
            return Resolved(value.strip() if value and value.strip() else None)
        return self.groups.from_platform(platform, value, self.policy(platform))

    def group_to_platform(self, platform: str, name: str | None) -> Resolved:
        """A canonical group as `platform` names it (unmapped: as the platform's policy says)."""
        if not self.groups.terms:
            return Resolved(name.strip() if name and name.strip() else None)
        return self.groups.to_platform(platform, name, self.policy(platform))

    def subcategories(self, category: str | None) -> Vocabulary | None:
        canonical = self.categories.canonical(category) if category else None
        term = self.categories.terms.get(canonical) if canonical else None
        return term.children if term else None

    def category_to_platform(
        self, platform: str, category: str | None, subcategory: str | None
    ) -> tuple[Resolved, Resolved]:
        policy = self.policy(platform)
        cat = self.categories.to_platform(platform, category, policy)
        children = self.subcategories(category)
        if subcategory is None or not subcategory.strip():
            return cat, Resolved(None)
        if children is None:
            return cat, Vocabulary("subcategory", [])._unmapped(platform, subcategory, policy, outward=True)
        return cat, children.to_platform(platform, subcategory, policy)

    def category_from_platform(
        self, platform: str, category: str | None, subcategory: str | None
    ) -> tuple[Resolved, Resolved]:
        policy = self.policy(platform)
        cat = self.categories.from_platform(platform, category, policy)
        if subcategory is None or not str(subcategory).strip():
            return cat, Resolved(None)
        children = self.subcategories(cat.value)
        if children is None:
            return cat, Vocabulary("subcategory", [])._unmapped(platform, subcategory, policy, outward=False)
        return cat, children.from_platform(platform, subcategory, policy)
