"""Jira Service Management: issues, workflow transitions, internal and public comments (REST v3).

`connector.py` is the Connector, composed of collaborators that each take what they use:
`api.py` (the REST paths over one HttpClient, the per-issue write limiter), `statuses.py`,
`transitions.py` (the workflow walk, over `workflow.py`), `create.py` (single and bulk creates,
lost answers), `check.py` (`doctor`), with the wire formats in `records.py`, `meta.py`
(createmeta, create and edit bodies), `identity.py` (which incident an issue belongs to) and
`adf.py` (Atlassian Document Format).
"""

from __future__ import annotations

from itsm_bridge.connectors.jira.connector import JiraConnector

__all__ = ["JiraConnector"]
