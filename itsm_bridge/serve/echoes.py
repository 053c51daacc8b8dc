"""Deliveries that only echo a note the bridge wrote itself: answered, and no job queued.

Jira reports every comment the bridge writes as two deliveries (`comment_created`, and
`jira:issue_updated` of type `issue_commented`). A job for either would read the issue again only
to find the note just written, and under a burst these echoes are half of all deliveries. The
delivery's comment is the bridge's own copy by the rule the connector reads comments with
(`correlation.bridge_copy`: the marker AND the API user as author). The API user's ids are those
this process's Jira connector knows (from `GET myself`, the facts restored, or the answer to a
comment it wrote), else those a run kept with the platform's facts in the store; until either
knows them, every delivery gets its job.

Skipping is safe against a forged body: a skipped delivery writes nothing, and an event that may
carry more than the new note (an edit, a changelog) is never skipped (`webhooks._added_note`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from itsm_bridge.connectors.base import Connector
from itsm_bridge.connectors.jira import JiraConnector
from itsm_bridge.correlation import bridge_copy
from itsm_bridge.serve.webhooks import Hint

ASK_AGAIN_S = 1.0  # the API user not known yet: the store is asked again after this


class OwnNotes:
    """Tells a delivery about the bridge's own note. `connector`: this process's connector of a
    platform, None until its first run built it."""

    def __init__(self, store: Any, connector: Callable[[str], Connector | None]) -> None:
        self.store = store
        self._connector = connector
        self._account: frozenset[str] | None = None
        self._asked_at = float("-inf")

    def echo(self, hint: Hint) -> bool:
        """Whether all the delivery says is that the bridge added its own note."""
        if hint.note is None or hint.platform != "jira":
            return False
        account = self._jira_account()
        return account is not None and bridge_copy(hint.note.text, hint.note.author, account) is not None

    def _jira_account(self) -> frozenset[str] | None:
        if self._account is None:
            connector = self._connector("jira")
            if isinstance(connector, JiraConnector):
                self._account = connector.known_account()
        if self._account is None and time.monotonic() - self._asked_at >= ASK_AGAIN_S:
            self._asked_at = time.monotonic()
            try:
                facts = self.store.facts("jira")
            except ValueError:  # facts that are not JSON: read again by the next run, not here
                facts = None
            ids = facts.values.get("account") if facts is not None else None
            self._account = frozenset(str(i) for i in ids) if isinstance(ids, list) and ids else None
        return self._account
