"""Vendor OpenAPI descriptions for contract tests, and one check of a request/response pair against them.

The specs are found by `tests.specs.spec_path` (in the repository where their licence allows, else
outside it, skipping when absent). Load with spec validation off: the Atlassian files fail strict
validation on small defects. Each is parsed once per session.
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from urllib.parse import urlsplit, urlunsplit

import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.exceptions import OpenAPIError
from openapi_core.validation.response.exceptions import MissingData
from rfc3339_validator import validate_rfc3339

from tests.specs import spec_path

KNOWN = ("jira-platform-v3.openapi.json", "jira-servicedesk.openapi.json", "statuspage-v1.openapi.json")
# Jira writes timestamps as `2024-01-01T12:34:56.789+0000` (no colon in the offset), which RFC 3339
# does not allow, while its spec declares `format: date-time`; the real service is the reference.
_JIRA_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")


def _jira_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_JIRA_TIME.match(value)) or validate_rfc3339(value)


@functools.cache
def load_spec(name: str) -> OpenAPI:
    """The OpenAPI object for one spec file (cached: the Jira file is 2.4 MB); skips when it is absent."""
    if name not in KNOWN:
        raise ValueError(f"unknown spec {name!r}; one of {', '.join(KNOWN)}")
    data = json.loads(spec_path(name).read_text("utf-8"))
    formats = {"date-time": _jira_date_time} if name.startswith("jira") else None
    return OpenAPI.from_dict(data, config=Config(spec_validator_cls=None, extra_format_validators=formats))


def server_url(spec: OpenAPI) -> str:
    return str(spec.spec["servers"][0]["url"]).rstrip("/")


def as_vendor_request(
    spec: OpenAPI, base_path_prefix: str, prepared: requests.PreparedRequest
) -> RequestsOpenAPIRequest:
    """The request as if sent to the spec's server: the sandbox's scheme and host are replaced by the
    spec's first server URL, and `base_path_prefix` (the part of the sandbox path that the server URL
    already holds, e.g. "/v1" for Statuspage, "" for Jira) is dropped from the path before joining."""
    copy = prepared.copy()
    parts = urlsplit(copy.url or "")
    path = parts.path
    if base_path_prefix:
        assert path.startswith(base_path_prefix), f"{path} does not start with {base_path_prefix}"
        path = path[len(base_path_prefix) :]
    server = urlsplit(server_url(spec))
    copy.url = urlunsplit((server.scheme, server.netloc, server.path.rstrip("/") + path, parts.query, ""))
    return RequestsOpenAPIRequest(copy)


def validate_exchange(spec: OpenAPI, base_path_prefix: str, requests_response: requests.Response) -> None:
    """Validate the request that produced `requests_response`, then the response, against `spec`.

    Raises openapi-core's validation errors (with the offending path and schema) on any mismatch.
    Two tolerances, both for known spec defects: a bodiless answer (204, or a 201 from a property
    PUT) passes where the spec gives that status a JSON content entry, as long as the status is
    declared; and openapi-core's warning about OAuth2-only security (the JSM spec) is silenced.
    """
    request = as_vendor_request(spec, base_path_prefix, requests_response.request)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unsupported scheme type", category=UserWarning)
        spec.validate_request(request)
        try:
            spec.validate_response(request, RequestsOpenAPIResponse(requests_response))
        except MissingData:
            if requests_response.content:
                raise


def request_is_valid(spec: OpenAPI, base_path_prefix: str, prepared: requests.PreparedRequest) -> bool:
    """Whether the spec accepts this request (for "what the spec rejects, the sandbox rejects")."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Unsupported scheme type", category=UserWarning)
            spec.validate_request(as_vendor_request(spec, base_path_prefix, prepared))
    except OpenAPIError:
        return False
    return True
