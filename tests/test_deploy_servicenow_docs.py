"""docs/servicenow/: the Script Include and business rules an admin pastes produce exactly the
contract's headers and body, signed so that an independent HMAC check accepts them.

The scripts run under node with the ServiceNow APIs they call stubbed as their reference
describes them (generateMac takes a base64 key and returns a base64 MAC; RESTMessageV2 records
what it would send); docs/tls/ is checked for the paths and limits serve expects.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "servicenow"
SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
INCIDENT = {
    "sys_id": "9d385017c611228701d22104cc95c371",
    "number": "INC0010001",
    "sys_updated_on": "2025-12-01 00:00:00",
}
NOTE = {"sys_id": "5a2b3c4d5e6f70819293a4b5c6d7e8f9", "element_id": INCIDENT["sys_id"], "element": "work_notes"}

HARNESS = r"""
const crypto = require('crypto'), fs = require('fs'), vm = require('vm');
const [docs, secret, incident, note] = [process.argv[2], process.argv[3], JSON.parse(process.argv[4]), JSON.parse(process.argv[5])];
const sent = [];
Object.assign(globalThis, {
  Class: {create: () => function () { this.initialize.apply(this, arguments); }},
  gs: {
    getProperty: (name, fallback) => name === 'itsm_bridge.webhook.secret' ? secret : fallback,
    generateGUID: () => crypto.randomBytes(16).toString('hex'),
    error: (message) => { throw new Error(message); },
  },
  GlideDateTime: function () { this.getNumericValue = () => Date.now(); },
  GlideStringUtil: {base64Encode: (text) => Buffer.from(text, 'utf8').toString('base64')},
  GlideCertificateEncryption: function () {
    this.generateMac = (key, algorithm, data) => {
      if (algorithm !== 'HmacSHA256') throw new Error('algorithm ' + algorithm);
      return crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(data, 'utf8').digest('base64');
    };
  },
  sn_ws: {RESTMessageV2: function (name, method) {
    const r = {name, method, headers: {}, substitution: true};
    this.disableForcedVariableSubstitution = () => { r.substitution = false; };
    this.setRequestHeader = (k, v) => { r.headers[k] = v; };
    this.setRequestBody = (b) => { r.body = b; };
    this.executeAsync = () => { sent.push(r); };
  }},
});
const record = (values) => ({getUniqueValue: () => values.sys_id, getValue: (c) => values[c]});
vm.runInThisContext(fs.readFileSync(docs + '/ItsmBridgeWebhook.js', 'utf8'));
for (const [file, values] of [['business_rule_incident_insert.js', incident],
                              ['business_rule_incident_update.js', incident],
                              ['business_rule_journal_insert.js', note]]) {
  globalThis.current = record(values); globalThis.previous = null;
  vm.runInThisContext(fs.readFileSync(docs + '/' + file, 'utf8'));
}
process.stdout.write(JSON.stringify(sent));
"""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(mac).decode()


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs the pasted scripts")
def test_the_business_rules_send_the_contracts_headers_and_bodies_signed_with_the_secret(tmp_path: Path):
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS, "utf-8")
    out = subprocess.run(
        ["node", str(harness), str(DOCS), SECRET, json.dumps(INCIDENT), json.dumps(NOTE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    sent = json.loads(out.stdout)
    readme = (DOCS / "README.md").read_text("utf-8")
    assert len(sent) == 3
    for request in sent:
        assert f"Name\n   `{request['name']}`" in readme and f"Name `{request['method']}`" in readme
        assert request["substitution"] is False  # nothing rewrites the body after it is signed
        headers = request["headers"]
        assert set(headers) == {"Content-Type", "X-Bridge-Timestamp", "X-Bridge-Delivery", "X-Bridge-Signature"}
        assert headers["Content-Type"] == "application/json"
        assert abs(int(headers["X-Bridge-Timestamp"]) - time.time()) < 60
        assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Bridge-Delivery"])
        body = request["body"].encode("utf-8")
        assert hmac.compare_digest(
            headers["X-Bridge-Signature"], signature(SECRET, headers["X-Bridge-Timestamp"], body)
        )
    assert len({r["headers"]["X-Bridge-Delivery"] for r in sent}) == 3
    assert [json.loads(r["body"]) for r in sent] == [
        {"table": "incident", **INCIDENT, "operation": "insert"},
        {"table": "incident", **INCIDENT, "operation": "update"},
        {"table": "sys_journal_field", **NOTE, "operation": "insert"},
    ]


def test_the_readmes_known_answer_vector_is_the_hmac_serve_computes():
    readme = (DOCS / "README.md").read_text("utf-8")
    body = re.search(r"var body = '(.+)';", readme)
    printed = re.search(r"must print\s+`([A-Za-z0-9+/=]+)`", readme)
    call = re.search(r"base64Encode\('([^']+)'\), 'HmacSHA256', '(\d+)\.' \+ body", readme)
    assert body and printed and call
    assert signature(call.group(1), call.group(2), body.group(1).encode()) == "sha256=" + printed.group(1)
    assert json.loads(body.group(1))["table"] == "incident"


def test_the_tls_proxy_passes_only_the_two_webhook_paths_with_serves_body_cap():
    conf = (ROOT / "docs" / "tls" / "nginx.conf").read_text("utf-8")
    code = re.sub(r"#.*", "", conf)
    assert code.count("{") == code.count("}")
    assert re.findall(r"location = (\S+)", code) == ["/webhooks/jira", "/webhooks/servicenow"]
    assert "location /" in code and "return 404" in code
    assert "client_max_body_size 1m;" in code  # serve's default max_body_bytes, 1048576
    assert re.search(r"server 127\.0\.0\.1:\d+", code)
    include = (ROOT / "docs" / "tls" / "itsm-bridge-proxy.conf").read_text("utf-8")
    assert "itsm-bridge-proxy.conf" in code and "proxy_set_header Host" in include
