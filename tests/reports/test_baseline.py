"""`itsm-bridge audit --baseline PREVIOUS.json` through the CLI against the sandbox: the findings new
since the previous audit, those fixed, and those still open, in every format.

The story: audit a seeded sandbox (drift on Jira and the page, two unmapped values); sync, which
repairs the drift and holds the unmapped records back; audit again against the first report.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from itsm_bridge.reports.baseline import compare, load
from itsm_bridge.reports.findings import FIELDS
from itsm_bridge.reports.render import render
from tests.reports.samples import sample_report

SEEDED = 50


def identity(f: dict[str, str]) -> tuple[str, ...]:
    return (f["kind"], f["key"], f["platform"], f["field"], f["ref"])


@pytest.mark.slow
def test_baseline_gives_new_fixed_and_still_open_findings_in_every_format(bridge, tmp_path):
    from tests.integration.test_sync import settle

    bridge.sandbox.seed(SEEDED)
    before = tmp_path / "before.json"
    assert bridge.run("audit", "--format", "json", "--out", str(before)).returncode == 1
    first = {identity(f): f for f in json.loads(before.read_text(encoding="utf-8"))["findings"]}
    bridge.sync_json()
    settle(bridge)

    r = bridge.run("audit", "--format", "json", "--baseline", str(before))
    report = json.loads(r.stdout)
    now = {identity(f): f for f in report["findings"]}
    new, fixed, kept = set(now) - set(first), set(first) - set(now), set(now) & set(first)
    assert new and fixed and kept, (new, fixed, kept)  # the story has all three
    assert {f["kind"] for f in (now[i] for i in new)} >= {"quarantined"}  # held back by the sync
    assert {f["kind"] for f in (first[i] for i in fixed)} >= {"priority_off_matrix", "status_disagree"}
    assert {i: now[i]["change"] for i in now} == {i: "new" if i in new else "still_open" for i in now}
    b = report["baseline"]
    assert (b["new"], b["fixed"], b["still_open"]) == (len(new), len(fixed), len(kept))
    assert b["file"] == str(before) and b["schema"] == "itsm-bridge/audit/2"
    assert {identity(f) for f in b["fixed_findings"]} == fixed

    rows = list(csv.DictReader(io.StringIO(bridge.run("audit", "--format", "csv", "--baseline", str(before)).stdout)))
    assert list(rows[0]) == [*FIELDS, "change"]
    assert {identity(row): row["change"] for row in rows} == {
        **{i: "new" if i in new else "still_open" for i in now},
        **{i: "fixed" for i in fixed},
    }

    table = bridge.run("audit", "--baseline", str(before)).stdout
    assert f"{len(new)} new finding" in table and f"{len(fixed)} fixed, {len(kept)} still open" in table
    assert "Fixed since the baseline:" in table

    html = tmp_path / "audit.html"
    assert bridge.run("audit", "--format", "html", "--out", str(html), "--baseline", str(before)).returncode == 1
    page = html.read_text(encoding="utf-8")
    assert f"{len(new)} new, {len(fixed)} fixed, {len(kept)} still open." in page
    assert page.count('<td class="chg new">new') == len({i[1] for i in new})  # one per incident with a new finding
    assert '<option value="still open">' in page


def test_a_baseline_that_is_not_an_audit_report_is_a_usage_error_naming_the_file(bridge, tmp_path):
    bridge.sandbox.seed(5)
    for name, text, says in [
        ("missing.json", None, "cannot be read"),
        ("notes.json", "not json", "is not JSON"),
        ("other.json", '{"schema": "something/else", "findings": []}', "is not an itsm-bridge audit report"),
        ("broken.json", '{"schema": "itsm-bridge/audit/1", "findings": {}}', "`findings` is not a list"),
    ]:
        path = tmp_path / name
        if text is not None:
            path.write_text(text, encoding="utf-8")
        bridge.sandbox.clear_calls()
        r = bridge.run("audit", "--baseline", str(path))
        assert r.returncode == 2, r.stdout + r.stderr
        assert str(path) in r.stderr and says in r.stderr
        assert bridge.sandbox.calls() == []  # refused before reading any platform


def doctored(report: dict, tmp_path, schema: str = "itsm-bridge/audit/2"):
    """`report` as an earlier audit would have written it: without its first finding (so that one
    is new now) and with one this audit does not have (fixed since). Returns the path."""
    report = {**report, "schema": schema, "findings": report["findings"][1:] + [GONE]}
    path = tmp_path / "previous.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


GONE = dict(
    zip(FIELDS, ["duplicate", "block", "INC9", "jira", "key", "INC9", "OPS-1", "OPS-2", "gone now"], strict=True)
)


def test_an_audit_1_report_serves_as_a_baseline(bridge, tmp_path):
    bridge.sandbox.seed(SEEDED)
    old = json.loads(bridge.run("audit", "--format", "json").stdout)
    for key in ("records", "baseline"):  # as the previous release wrote it: audit/1's keys only
        del old[key]
    path = doctored(old, tmp_path, "itsm-bridge/audit/1")
    report = json.loads(bridge.run("audit", "--format", "json", "--baseline", str(path)).stdout)
    assert report["baseline"]["schema"] == "itsm-bridge/audit/1"
    assert (report["baseline"]["new"], report["baseline"]["fixed"]) == (1, 1)
    assert report["baseline"]["still_open"] == len(report["findings"]) - 1 > 0
    assert [f["change"] for f in report["findings"]] == ["new"] + ["still_open"] * (len(report["findings"]) - 1)
    assert report["baseline"]["fixed_findings"] == [GONE]


def test_csv_rows_say_new_still_open_and_fixed(bridge, tmp_path):
    bridge.sandbox.seed(SEEDED)
    path = doctored(json.loads(bridge.run("audit", "--format", "json").stdout), tmp_path)
    rows = list(csv.DictReader(io.StringIO(bridge.run("audit", "--format", "csv", "--baseline", str(path)).stdout)))
    assert list(rows[0]) == [*FIELDS, "change"]
    assert [r["change"] for r in rows] == ["new"] + ["still_open"] * (len(rows) - 2) + ["fixed"]
    assert {k: rows[-1][k] for k in FIELDS} == GONE


def test_table_and_html_name_the_changes(tmp_path):
    report = sample_report()
    previous = [f.to_dict() for f in report.findings[1:]] + [GONE]
    path = tmp_path / "previous.json"
    path.write_text(
        json.dumps({"schema": "itsm-bridge/audit/2", "generated_at": "2026-02-23T12:00:00+00:00", "findings": previous})
    )
    report.against(load(path))
    assert report.baseline == compare(report.findings, load(path))
    table = render(report, "table")
    assert "Since the audit of 2026-02-23 12:00: 1 new finding, 1 fixed, 5 still open." in table
    assert "Fixed since the baseline:" in table and "INC9" in table
    html = render(report, "html")
    assert "<h2>Since the audit of 2026-02-23 12:00</h2><p>1 new, 1 fixed, 5 still open.</p>" in html
    first = report.findings[0].key
    assert f"<td>{first}<" in html and html.count('<td class="chg new">new') == 1
    assert html.count('<td class="chg still_open">still open') == 3  # the other incidents
