"""A fixture keeping every answer a connector's sessions receive, for checking each call against
a vendor description after the connector made it as it does in a sync."""

from __future__ import annotations

from typing import Any

import pytest
import requests


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[requests.Response]:
    """Every answer any `requests.Session` receives during the test, in order."""
    answers: list[requests.Response] = []
    send = requests.Session.send

    def keep(self: requests.Session, request: requests.PreparedRequest, **kw: Any) -> requests.Response:
        answer = send(self, request, **kw)
        answers.append(answer)
        return answer

    monkeypatch.setattr(requests.Session, "send", keep)
    return answers
