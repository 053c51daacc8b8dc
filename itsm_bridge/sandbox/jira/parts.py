"""What the route mixins of the Jira sandbox (`CreateRoutes`, `SearchRoutes`) take from
`JiraPlatform`: declared once here, defined there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from itsm_bridge.sandbox.core import Request, Response

if TYPE_CHECKING:
    from itsm_bridge.sandbox.jira.schema import JiraConfig, Workflow
    from itsm_bridge.sandbox.jira.store import JiraStore
    from itsm_bridge.sandbox.jira.views import IssueViews


class JiraParts:
    """The attributes and helpers of `JiraPlatform` a route mixin uses."""

    store: JiraStore
    config: JiraConfig
    workflow: Workflow

    @property
    def views(self) -> IssueViews:
        raise NotImplementedError

    def error(self, status: int, message: str, detail: str = "") -> Response:
        raise NotImplementedError

    @staticmethod
    def _body(req: Request) -> Any:
        raise NotImplementedError
