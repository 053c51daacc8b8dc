"""Tables of the ServiceNow sandbox: columns, defaults, references, and the seeded vocabulary.

The incident columns are those of a real create answer (`servicenow-examples/incident-create-201.json`)
plus `major_incident_state`. A row stores only the values that differ from its table's defaults,
so 100k incidents fit in little memory; readers see the defaults for what is not stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ADMIN_SYS_ID = "6816f79cc0a8016401c5a33be04be441"  # the admin user's sys_id on every instance

INCIDENT_COLUMNS = tuple(
    """parent made_sla caused_by watch_list upon_reject sys_updated_on child_incidents hold_reason origin_table
    task_effective_number approval_history number resolved_by sys_updated_by opened_by user_input sys_created_on
    sys_domain state route_reason sys_created_by knowledge order calendar_stc closed_at cmdb_ci delivery_plan
    contract impact active work_notes_list business_service business_impact priority sys_domain_path rfc
    time_worked expected_start opened_at business_duration group_list work_end caller_id reopened_time resolved_at
    approval_set subcategory work_notes universal_request short_description close_code correlation_display
    delivery_task work_start assignment_group additional_assignee_list business_stc cause description origin_id
    calendar_duration close_notes notify service_offering sys_class_name closed_by follow_up parent_incident sys_id
    contact_type reopened_by incident_state urgency problem_id company reassignment_count activity_due assigned_to
    severity comments approval sla_due comments_and_work_notes due_date sys_mod_count reopen_count sys_tags
    escalation upon_approval correlation_id location category major_incident_state""".split()
)
INCIDENT_DEFAULTS = {
    "made_sla": "true",
    "upon_reject": "cancel",
    "child_incidents": "0",
    "knowledge": "false",
    "state": "1",
    "incident_state": "1",
    "impact": "3",
    "urgency": "3",
    "priority": "5",
    "active": "true",
    "notify": "1",
    "sys_class_name": "incident",
    "severity": "3",
    "approval": "not requested",
    "reassignment_count": "0",
    "reopen_count": "0",
    "escalation": "0",
    "upon_approval": "proceed",
    "sys_mod_count": "0",
    "sys_domain": "global",
    "sys_domain_path": "/",
    "category": "inquiry",
}
INCIDENT_REFERENCES = {
    "opened_by": "sys_user",
    "sys_domain": "sys_user_group",
    "cmdb_ci": "cmdb_ci",
    "caller_id": "sys_user",
    "assignment_group": "sys_user_group",
    "assigned_to": "sys_user",
    "resolved_by": "sys_user",
    "closed_by": "sys_user",
    "reopened_by": "sys_user",
    "business_service": "cmdb_ci",
}
JOURNAL_COLUMNS = ("work_notes", "comments")
WRITE_ONLY = frozenset({*JOURNAL_COLUMNS, "comments_and_work_notes"})  # GET always shows ""
INCIDENT_READ_ONLY = frozenset(
    {
        "sys_id",
        "number",
        "task_effective_number",
        "priority",
        "active",
        "incident_state",
        "sys_created_on",
        "sys_created_by",
        "sys_updated_on",
        "sys_updated_by",
        "sys_mod_count",
        "sys_class_name",
        "sys_domain_path",
        "comments_and_work_notes",
        "child_incidents",
        "reopen_count",
        "calendar_stc",
        "business_stc",
    }
)
INTEGER_COLUMNS = frozenset(
    {
        "sys_mod_count",
        "state",
        "incident_state",
        "impact",
        "urgency",
        "priority",
        "severity",
        "notify",
        "reassignment_count",
        "reopen_count",
        "child_incidents",
        "escalation",
        "inactive_sequence",
        "sequence",
    }
)
CHOICE_COLUMNS = frozenset(
    {
        "state",
        "incident_state",
        "impact",
        "urgency",
        "priority",
        "category",
        "subcategory",
        "close_code",
        "hold_reason",
        "contact_type",
    }
)
CHOICE_ELEMENT = {"incident_state": "state"}  # columns that share another column's choice list
TIME_COLUMNS = frozenset({"sys_created_on", "sys_updated_on", "opened_at", "resolved_at", "closed_at"})

PRIORITY = {
    ("1", "1"): "1",
    ("1", "2"): "2",
    ("1", "3"): "3",
    ("2", "1"): "2",
    ("2", "2"): "3",
    ("2", "3"): "4",
    ("3", "1"): "3",
    ("3", "2"): "4",
    ("3", "3"): "5",
}
"""The default priority lookup (impact, urgency) -> priority (`def-prio-lookup-rules.md`)."""

CLOSED_STATES = frozenset({"6", "7", "8"})
AUDITED = ("state", "assigned_to", "assignment_group")
"""Incident columns whose updates the sandbox writes to sys_audit. An instance audits every column
of an audited table; the sandbox keeps the ones the audit reads, so 100k seeded incidents stay
small. Inserts are not audited: glide.sys.audit_inserts is false by default
(https://www.servicenow.com/docs/r/platform-security/c_TrackingInserts.html)."""
POLICY_LABELS = {"close_code": "Resolution code", "close_notes": "Resolution notes"}


@dataclass(frozen=True)
class TableDef:
    """One table's shape; `display` is the column a reference to its rows shows."""

    name: str
    columns: tuple[str, ...]
    display: str = "name"
    defaults: dict[str, str] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)
    read_only: frozenset[str] = frozenset({"sys_id"})


TABLES = (
    TableDef("incident", INCIDENT_COLUMNS, "number", INCIDENT_DEFAULTS, INCIDENT_REFERENCES, INCIDENT_READ_ONLY),
    TableDef(
        "sys_journal_field",
        ("sys_id", "element", "element_id", "name", "value", "sys_created_on", "sys_created_by", "sys_tags"),
        "value",
    ),
    TableDef(  # c_UnderstandingTheSysAuditTable (ServiceNow docs, platform-security): one row per changed field
        "sys_audit",
        (
            "sys_id",
            "tablename",
            "documentkey",
            "fieldname",
            "oldvalue",
            "newvalue",
            "user",
            "reason",
            "record_checkpoint",
            "sys_created_on",
            "sys_created_by",
        ),
        "fieldname",
    ),
    TableDef(
        "sys_choice",
        ("sys_id", "name", "element", "value", "label", "dependent_value", "inactive", "sequence", "language", "hint"),
        "label",
        {"inactive": "false", "language": "en"},
    ),
    TableDef(
        "sys_user",
        ("sys_id", "user_name", "name", "first_name", "last_name", "email", "active"),
        defaults={"active": "true"},
    ),
    TableDef("sys_user_group", ("sys_id", "name", "description", "email", "active"), defaults={"active": "true"}),
    TableDef(
        "cmdb_ci",
        ("sys_id", "name", "sys_class_name", "operational_status"),
        defaults={"sys_class_name": "cmdb_ci", "operational_status": "1"},
    ),
    TableDef("sys_user_role", ("sys_id", "name", "description")),
    TableDef(
        "sys_user_has_role",
        ("sys_id", "user", "role", "state", "inherited"),
        "role",
        {"state": "active", "inherited": "false"},
        {"user": "sys_user", "role": "sys_user_role"},
    ),
)
KIND_ALIASES = {
    "user": "sys_user",
    "group": "sys_user_group",
    "ci": "cmdb_ci",
    "role": "sys_user_role",
    "assignment_group": "sys_user_group",
    "caller_id": "sys_user",
    "assigned_to": "sys_user",
}

# --- seeded vocabulary (a default instance's demo data, trimmed)
USERS = [
    ("admin", "System Administrator"),
    ("itsm.bridge", "ITSM Bridge"),
    ("abel.tuter", "Abel Tuter"),
    ("beth.anglin", "Beth Anglin"),
    ("david.loo", "David Loo"),
]
GROUPS = ["Service Desk", "Network", "Database", "Software", "Hardware"]
CIS = ["EXCH-SD-05", "Email", "SAP ERP"]
ROLES = {"admin": "admin", "itsm.bridge": "itil"}
CHOICES: dict[str, list[tuple[str, str, str]]] = {  # element -> (value, label, dependent_value)
    "state": [
        ("1", "New", ""),
        ("2", "In Progress", ""),
        ("3", "On Hold", ""),
        ("6", "Resolved", ""),
        ("7", "Closed", ""),
        ("8", "Canceled", ""),
    ],
    "impact": [("1", "1 - High", ""), ("2", "2 - Medium", ""), ("3", "3 - Low", "")],
    "urgency": [("1", "1 - High", ""), ("2", "2 - Medium", ""), ("3", "3 - Low", "")],
    "priority": [
        ("1", "1 - Critical", ""),
        ("2", "2 - High", ""),
        ("3", "3 - Moderate", ""),
        ("4", "4 - Low", ""),
        ("5", "5 - Planning", ""),
    ],
    "category": [
        ("inquiry", "Inquiry / Help", ""),
        ("software", "Software", ""),
        ("hardware", "Hardware", ""),
        ("network", "Network", ""),
        ("database", "Database", ""),
    ],
    "subcategory": [
        ("antivirus", "Antivirus", "inquiry"),
        ("email", "Email", "inquiry"),
        ("email", "Email", "software"),
        ("os", "Operating System", "software"),
        ("cpu", "CPU", "hardware"),
        ("disk", "Disk", "hardware"),
        ("memory", "Memory", "hardware"),
        ("dhcp", "DHCP", "network"),
        ("dns", "DNS", "network"),
        ("vpn", "VPN", "network"),
        ("wireless", "Wireless", "network"),
        ("db2", "DB2", "database"),
        ("sql server", "MS SQL Server", "database"),
        ("oracle", "Oracle", "database"),
    ],
    "close_code": [
        (v, v, "")
        for v in (
            "Solved (Work Around)",
            "Solved (Permanently)",
            "Solved Remotely (Work Around)",
            "Solved Remotely (Permanently)",
            "Not Solved (Not Reproducible)",
            "Not Solved (Too Costly)",
            "Closed/Resolved by Caller",
        )
    ],
}
