"""itsm-bridge: one canonical ITIL incident model synced across ServiceNow, Jira SM and status pages."""

__version__ = "0.1.0"
