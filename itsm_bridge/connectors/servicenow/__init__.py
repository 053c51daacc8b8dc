"""ServiceNow: incidents, journal notes and correlation over the Table API.

`connector.py` is the Connector; `client.py` the Table API client (auth, pages, errors, `doctor`);
`rows.py` the incident columns read and a row as a record; `query.py` the encoded queries, built
condition by condition, never by pasting text.
"""

from __future__ import annotations

from itsm_bridge.connectors.servicenow.connector import ServiceNowConnector

__all__ = ["ServiceNowConnector"]
