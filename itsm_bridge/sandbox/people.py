"""The sandbox's people: one person each on ServiceNow (a sys_user with an e-mail address) and
Jira (an account), by the names in `vocabulary.PEOPLE`. Some keep their address private in Jira:
their account shows no `emailAddress` and a user search by address does not find them, so only
the people map can say who they are (see `sandbox.jira.users`)."""

from __future__ import annotations

from itsm_bridge.sandbox.vocabulary import PEOPLE

EMAILS: dict[str, str] = {
    "Ana Lima": "ana.lima@example.com",
    "Björn Åkesson": "bjorn.akesson@example.com",
    "Chloé Durand": "chloe.durand@example.com",
    "Dmitri Volkov": "dmitri.volkov@example.com",
    "Emeka Obi": "emeka.obi@example.com",
    "藤原 さくら": "sakura.fujiwara@example.com",
    "Zoë O'Neil": "zoe.oneil@example.com",
}
HIDDEN_IN_JIRA: frozenset[str] = frozenset({"藤原 さくら", "Zoë O'Neil"})
"""People whose Jira profile keeps their e-mail address private."""

assert set(EMAILS) == set(PEOPLE), "every person of the vocabulary has an address"
