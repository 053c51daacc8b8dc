"""The Cachet sandbox against the Cachet 2.x description (cachet-v2-community.swagger.yaml), for
every call the connector makes: each request's path, method, query parameters and body, and each
answer's status and body, validated with jsonschema against the description's definitions.

The description is Swagger 2.0 (openapi-core reads OpenAPI 3 only), community-written, and wrong
in places the real Cachet settles; those are fixed in memory before validating (never in the
file), each with its reason in tests/contract/OFF_SPEC.md ("## Cachet"), as is the one call the
connector makes that the description leaves out (`POST /incidents/{incident}/updates`).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from itsm_bridge.connectors.statuspage import CachetConnector, status_page_connector
from itsm_bridge.model import Priority, State
from itsm_bridge.sandbox.server import serve, stop
from itsm_bridge.sandbox.statuspage.cachet import CachetPlatform
from tests.connectors.statuspage.test_statuspage import canary_incident
from tests.connectors.statuspage.test_statuspage_responses import page_config
from tests.contract.recording import recorded  # noqa: F401  (a fixture)
from tests.specs import spec_path

BASE = "/api/v1"
URI = "urn:cachet-v2-community"
NOT_DESCRIBED = {("post", "/incidents/{incident}/updates")}  # Cachet 2.4 routes it; see OFF_SPEC.md
# Fields the real Cachet answers as null (soft deletes; no next/previous page), typed string there.
NULLABLE = {
    "ComponentResponse": ("deleted_at",),
    "IncidentResponse": ("deleted_at",),
    "Pagination": ("links.next_page", "links.previous_page"),
}
BOOLEAN_NUMBERS = {"Incident": ("notify",)}  # Laravel reads true/false, 1/0 (`(bool) Binput::get`)


@functools.cache
def description() -> dict[str, Any]:
    data = yaml.safe_load(spec_path("cachet-v2-community.swagger.yaml").read_text("utf-8"))
    definitions = copy.deepcopy(data["definitions"])
    for name, fields in NULLABLE.items():
        for dotted in fields:
            prop = definitions[name]
            for part in dotted.split("."):
                prop = prop["properties"][part]
            prop["type"] = [prop["type"], "null"]
    for name, fields in BOOLEAN_NUMBERS.items():
        for field in fields:
            definitions[name]["properties"][field]["type"] = ["number", "boolean"]
    return {**data, "definitions": definitions}


@functools.cache
def registry() -> Registry:
    return Registry().with_resource(URI, Resource(contents=description(), specification=DRAFT4))


def valid(schema: dict[str, Any], instance: Any) -> None:
    """Raise jsonschema's ValidationError (path and schema named) when `instance` does not fit."""
    resolved = {"$ref": f"{URI}{schema['$ref']}"} if "$ref" in schema else schema
    Draft4Validator(resolved, registry=registry()).validate(instance)


def operation(method: str, path: str) -> tuple[str, dict[str, Any] | None]:
    """The description's path template for a request path, and its operation (None: not described)."""
    for template, ops in description()["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            return template, ops.get(method)
    return path, None


def check(answer: requests.Response) -> None:
    """The exchange against the description: request path, query and body; answer status and body."""
    method = (answer.request.method or "").lower()
    path = urlsplit(answer.url).path.removeprefix(BASE)
    template, op = operation(method, path)
    if op is None:
        assert (method, template) in NOT_DESCRIBED, f"{method.upper()} {template} is not in the description"
        return
    params = {p["name"]: p for p in op.get("parameters", [])}
    for name in parse_qs(urlsplit(answer.url).query):
        assert name in params and params[name]["in"] == "query", f"{method.upper()} {template}: query {name} undeclared"
    body = params.get("body")
    if body is not None and answer.request.body:
        valid(body["schema"], json.loads(answer.request.body))
    responses = op["responses"]
    declared = responses.get(answer.status_code) or responses.get(str(answer.status_code)) or responses.get("default")
    assert declared is not None, f"{method.upper()} {template}: status {answer.status_code} undeclared"
    if "schema" in declared:
        valid(declared["schema"], answer.json())


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[CachetPlatform]:
    platform = CachetPlatform(seed=21)
    served = serve(platform)
    monkeypatch.setenv("SP_TEST_KEY", platform.credentials()["token"])
    yield platform
    stop([served])


def connector(platform: CachetPlatform) -> CachetConnector:
    conn = status_page_connector(page_config(platform.base_url, provider="cachet", rps=50.0, interval=0.0))
    assert isinstance(conn, CachetConnector)
    return conn


@pytest.mark.parametrize("version", ["2.4.1", "2.3.18"])
def test_every_call_of_a_publish_life_fits_the_description(platform, recorded, version):
    platform.version = version
    conn = connector(platform)
    assert all(r.ok for r in conn.check())
    ref = conn.publish(canary_incident(priority=Priority.P1, public_message="Mail is delayed.")).ref
    conn.publish(canary_incident(priority=Priority.P1, state=State.IN_PROGRESS, public_message="Cause found."), ref)
    conn.get(ref)
    conn.find("INC0001")
    list(conn.changed_since(None))
    conn.publish(canary_incident(priority=Priority.P1, state=State.RESOLVED), ref)
    paths = {
        (a.request.method, operation((a.request.method or "").lower(), urlsplit(a.url).path.removeprefix(BASE))[0])
        for a in recorded
    }
    assert {
        ("GET", "/version"),
        ("GET", "/components"),
        ("PUT", "/components/{component}"),
        ("GET", "/incidents"),
        ("POST", "/incidents"),
        ("GET", "/incidents/{incident}"),
    } <= paths
    if version.startswith("2.4"):
        assert {("POST", "/incidents/{incident}/updates"), ("GET", "/incidents/{incident}/updates/{update}")} <= paths
    else:
        assert ("PUT", "/incidents/{incident}") in paths
    for answer in recorded:
        check(answer)


def test_refusals_are_cachets_json_api_errors_which_the_description_leaves_out(platform):
    """The description declares no refusal for these operations (OFF_SPEC.md); Cachet answers
    `{"errors": [{id, status, title, detail, meta.details}]}` (app/Exceptions/Displayers/
    JsonValidationDisplayer.php for 400; the same shape from its other JSON displayers)."""
    api = platform.base_url + BASE
    token = {"X-Cachet-Token": platform.credentials()["token"]}
    for answer, status in (
        (requests.post(f"{api}/incidents", json={"name": "x", "status": 1}), 401),  # no token
        (requests.post(f"{api}/incidents", json={"name": "x", "status": 9}, headers=token), 400),
        (requests.get(f"{api}/incidents/999", headers=token), 404),
    ):
        assert answer.status_code == status
        (error,) = answer.json()["errors"]
        assert set(answer.json()) == {"errors"} and {"id", "status", "title", "detail"} <= set(error)
        assert (
            error["status"] == status
            and operation(answer.request.method.lower(), urlsplit(answer.url).path.removeprefix(BASE))[1]
        )


def test_a_request_the_description_rejects_is_rejected(platform):
    token = {"X-Cachet-Token": platform.credentials()["token"]}
    answer = requests.post(platform.base_url + BASE + "/incidents", json={"name": "x", "status": "open"}, headers=token)
    with pytest.raises(Exception, match="is not of type 'integer'"):
        valid({"$ref": "#/definitions/Incident"}, json.loads(answer.request.body or b"{}"))
    assert answer.status_code == 400 and platform.incidents() == []
