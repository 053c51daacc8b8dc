"""The sandbox's vocabulary: one source for the seeded data and the config written for it.

Canonical name -> (ServiceNow value, Jira value); services also carry a status-page component.
Values marked UNMAPPED exist on a platform but deliberately not in the generated taxonomy, so
audits have something real to find.
"""

from __future__ import annotations

from itsm_bridge.sandbox.servicenow.schema import GROUPS as INSTANCE_GROUPS

CATEGORIES: dict[str, tuple[str, str, dict[str, tuple[str, str]]]] = {
    "Inquiry": ("inquiry", "Inquiry", {}),
    "Software": ("software", "Software", {"Email": ("email", "Email"), "Operating System": ("os", "Operating System")}),
    "Hardware": ("hardware", "Hardware", {"CPU": ("cpu", "CPU"), "Disk": ("disk", "Disk")}),
    "Network": ("network", "Network", {"VPN": ("vpn", "VPN"), "DNS": ("dns", "DNS")}),
    "Database": ("database", "Database", {"DB2": ("db2", "DB2"), "Oracle": ("oracle", "Oracle")}),
}
CATEGORY_ALIASES: dict[str, list[str]] = {
    "Inquiry": ["Question", "Help"],
    "Software": ["App", "Application"],
    "Hardware": ["HW"],
    "Network": ["Net", "Networking"],
    "Database": ["DB", "Databases"],
}
UNMAPPED_CATEGORY = "facilities"  # a ServiceNow choice with no canonical category

# canonical service -> status-page component (the ServiceNow CI and Jira value share the name)
SERVICES: dict[str, str] = {
    "Email": "Email",
    "VPN": "VPN",
    "Payments API": "Payments API",
    "Web Portal": "Web Portal",
    "Identity / SSO": "Identity / SSO",
    "Storage": "Storage",
}
UNMAPPED_SERVICE = "Legacy Fax Gateway"  # a CI no taxonomy entry names

RESOLUTION_CODES: dict[str, tuple[str, str]] = {
    "Solved Permanently": ("Solved (Permanently)", "Done"),
    "Solved Workaround": ("Solved (Work Around)", "Done"),
    "Not Reproducible": ("Not Solved (Not Reproducible)", "Cannot Reproduce"),
    "Resolved by Caller": ("Closed/Resolved by Caller", "Won't Do"),
}

GROUPS = ["Service Desk", "Network Operations", "Database Administration", "Messaging", "Payments SRE"]
MAPPED_GROUPS = list(dict.fromkeys([*GROUPS, *INSTANCE_GROUPS]))
"""Every group a sandbox instance has (seeded ones and its defaults): in the taxonomy and in Jira."""
PEOPLE = ["Ana Lima", "Björn Åkesson", "Chloé Durand", "Dmitri Volkov", "Emeka Obi", "藤原 さくら", "Zoë O'Neil"]


def taxonomy_config() -> dict[str, object]:
    """The `[taxonomy]` table for a config that maps everything the sandbox seeds (bar UNMAPPED)."""
    categories: dict[str, object] = {}
    for name, (snow, jira, subs) in CATEGORIES.items():
        entry: dict[str, object] = {"aliases": CATEGORY_ALIASES.get(name, []), "servicenow": snow, "jira": jira}
        if subs:
            entry["subcategories"] = {s: {"servicenow": sv, "jira": jv} for s, (sv, jv) in subs.items()}
        categories[name] = entry
    return {
        "default_category": "Inquiry",
        "categories": categories,
        "services": {n: {"servicenow": n, "jira": n, "statuspage": c} for n, c in SERVICES.items()},
        "resolution_codes": {n: {"servicenow": s, "jira": j} for n, (s, j) in RESOLUTION_CODES.items()},
        "groups": {g: {"servicenow": g, "jira": g} for g in MAPPED_GROUPS},
    }
