"""The HTML report in headless Chromium (driven over the DevTools protocol, tests/reports/browser.py):
sorting and filtering by mouse and keyboard, links that open the records on the configured web
URLs (a loopback server stands in for the vendors' web UIs and records what was asked), charts
a browser paints, the page without script and on paper, and 5,000 incidents.

The chart check decodes the screenshot (tests/reports/png.py) and counts the pixels of each
chart colour: headless Chromium drew the inline SVG bars without any external asset. It does not
judge layout beyond that. CI installs Chromium (.ci/run), so these run there; without it they skip.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from itsm_bridge.reports.charts import SERIES, SEVERITY
from itsm_bridge.reports.render_html import render
from tests.reports.browser import CHROMIUM, Browser
from tests.reports.png import colours, rgb
from tests.reports.samples import SYS_IDS, large_report, sample_report

REQUIRED = os.environ.get("ITSM_BRIDGE_REQUIRE_BROWSER") == "1"  # set by .ci/run: there a missing browser fails
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not REQUIRED, reason="chromium is not installed (.ci/run installs it)"
)

ROWS = "[...document.querySelectorAll('#incidents tbody tr')]"
SHOWN_KEYS = f"{ROWS}.filter(r => !r.hidden).map(r => r.cells[1].textContent)"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    assert CHROMIUM is not None, "ITSM_BRIDGE_REQUIRE_BROWSER=1 but chromium is not on PATH"
    with Browser(tmp_path_factory.mktemp("profile")) as b:
        yield b


class WebUI(BaseHTTPRequestHandler):
    """Answers every GET with a page naming the path asked for, and records it."""

    asked: list[str] = []

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        WebUI.asked.append(self.path)
        body = f"<!DOCTYPE html><title>record</title><p id=path>{self.path}</p>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass  # quiet


@pytest.fixture
def web_ui() -> Iterator[str]:
    WebUI.asked = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), WebUI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def page(tmp_path: Path, html: str) -> str:
    path = tmp_path / "audit.html"
    path.write_text(html, encoding="utf-8")
    return path.as_uri()


def test_a_click_on_a_column_head_sorts_the_incidents(browser, tmp_path):
    browser.open(page(tmp_path, render(sample_report())))
    assert browser.js(f"{ROWS}.map(r => r.cells[1].textContent)") == ["INC1", "INC4", "INC2", "INC3"]  # block first
    browser.click("#incidents th:nth-child(2)")
    assert browser.js(f"{ROWS}.map(r => r.cells[1].textContent)") == ["INC1", "INC2", "INC3", "INC4"]
    browser.click("#incidents th:nth-child(2)")
    assert browser.js(f"{ROWS}.map(r => r.cells[1].textContent)") == ["INC4", "INC3", "INC2", "INC1"]
    assert browser.js("document.querySelector('#incidents th:nth-child(2)').getAttribute('aria-sort')") == "descending"
    browser.click("#incidents th:nth-child(1)")  # severity: block before warn
    assert browser.js(f"{ROWS}.map(r => r.cells[0].textContent)") == ["block", "block", "warn", "warn"]


def test_typing_and_choosing_filter_the_incidents(browser, tmp_path):
    browser.open(page(tmp_path, render(sample_report())))
    assert browser.js("document.querySelector('.controls[data-for=incidents]').hidden") is False
    browser.type(".controls[data-for=incidents] input", "legacy fax")  # a value inside a folded group
    assert browser.js(SHOWN_KEYS) == ["INC4"]
    assert browser.js("document.querySelector('.controls[data-for=incidents] .shown').textContent") == "1 of 4 match"
    browser.js("document.querySelector('.controls[data-for=incidents] input').select()")
    browser.call("Input.dispatchKeyEvent", type="keyDown", key="Backspace", code="Backspace", windowsVirtualKeyCode=8)
    browser.call("Input.dispatchKeyEvent", type="keyUp", key="Backspace", code="Backspace", windowsVirtualKeyCode=8)
    assert browser.js(SHOWN_KEYS) == ["INC1", "INC4", "INC2", "INC3"]
    browser.click('button.kind[data-kind="page_stale"]')  # the per-kind table filters the incidents
    assert browser.js(SHOWN_KEYS) == ["INC3"]
    browser.js(
        "const k = document.querySelector('select[name=kinds]'); k.value = ''; k.dispatchEvent(new Event('change'))"
    )
    browser.js(
        "const v = document.querySelector('select[name=sev]'); v.value = 'warn'; v.dispatchEvent(new Event('change'))"
    )
    assert browser.js(SHOWN_KEYS) == ["INC2", "INC3"]


def test_each_record_link_opens_the_record_on_the_configured_web_url(browser, tmp_path, web_ui):
    web = {"servicenow": f"{web_ui}/snow", "jira": f"{web_ui}/jira", "statuspage": f"{web_ui}/status"}
    report = page(tmp_path, render(sample_report(web)))
    expected = {
        "servicenow": f"/snow/nav_to.do?uri=incident.do%3Fsys_id%3D{SYS_IDS['INC2']}",
        "jira": "/jira/browse/OPS-2",
        "statuspage": "/status/incidents/p2",
    }
    for n, (platform, path) in enumerate(expected.items()):
        browser.open(report)
        links = "[...document.querySelectorAll('#incidents tbody tr')].find(r => r.cells[1].textContent === 'INC2').cells[2]"
        browser.js(f"{links}.querySelectorAll('a')[{n}].id = 'go'")
        assert browser.js("document.getElementById('go').textContent").startswith(platform)
        browser.follow("#go")  # a mouse click, then the load of the page it opened
        shown = "location.href + ' ' + document.getElementById('path').textContent"
        assert browser.js(shown) == f"{web_ui}{path} {path}"  # the browser went there, the server was asked
    assert [p for p in WebUI.asked if p != "/favicon.ico"] == list(expected.values())


def test_the_charts_are_painted(browser, tmp_path):
    browser.open(page(tmp_path, render(sample_report())))
    boxes = browser.js(
        "[...document.querySelectorAll('svg.chart')].map(s => [s.getAttribute('aria-label'),"
        " s.getBoundingClientRect().width, s.querySelectorAll('rect').length])"
    )
    assert len(boxes) == 6 and all(w > 300 and rects > 2 for _, w, rects in boxes), boxes
    shot = browser.screenshot(tmp_path / "charts.png", selector=".charts", scale=0.5)
    counts = colours(shot)
    assert len(counts) > 50  # text anti-aliasing and bars, not a blank page
    for name, colour in {**SEVERITY, **SERIES}.items():
        if name == "ok":
            continue  # the sample's cards are not all clean: green shows only where nothing is wrong
        assert counts[rgb(colour)] > 150, f"{name} {colour} covers only {counts[rgb(colour)]} pixels"


def test_without_script_every_row_and_finding_is_there(browser, tmp_path):
    browser.call("Emulation.setScriptExecutionDisabled", value=True)
    try:
        browser.open(page(tmp_path, render(sample_report())))
        state = browser.call(
            "Runtime.evaluate",
            expression="[document.querySelectorAll('#incidents tbody tr:not([hidden])').length,"
            " getComputedStyle(document.querySelector('.controls')).display,"
            " document.querySelector('#incidents').textContent.includes('Legacy Fax Gateway')]",
            returnByValue=True,
        )["result"]["value"]
    finally:
        browser.call("Emulation.setScriptExecutionDisabled", value=False)
    assert state == [4, "none", True]  # every row; no controls that would do nothing


def test_on_paper_every_group_is_open(browser, tmp_path):
    browser.open(page(tmp_path, render(sample_report())))
    visible = "document.querySelector('#incidents ul.f li').checkVisibility()"
    assert browser.js(visible) is False  # folded on screen
    browser.call("Emulation.setEmulatedMedia", media="print")
    try:
        assert browser.js(visible) is True
        assert browser.js("getComputedStyle(document.querySelector('.controls')).display") == "none"
    finally:
        browser.call("Emulation.setEmulatedMedia", media="")


def test_5000_incidents_open_filter_and_sort_quickly(browser, tmp_path):
    browser.open(page(tmp_path, render(large_report(5000, share=0.5))))
    assert browser.js(f"{ROWS}.length") == 2500
    assert browser.js(f"{ROWS}.filter(r => !r.hidden).length") == 200  # a page of them, and a button
    assert browser.js("document.querySelector('button.more').textContent") == "Show all 2500"
    shown = "document.querySelector('.controls[data-for=incidents] .shown').textContent"
    assert browser.js(shown) == "2500 of 2500 match; the first 200 shown"
    assert browser.js("document.body.scrollHeight") < 15_000
    started = time.monotonic()
    browser.type(".controls[data-for=incidents] input", "INC10000042")
    assert browser.js(SHOWN_KEYS) == ["INC10000042"]
    browser.click("#incidents th:nth-child(4)")  # by number of findings
    assert time.monotonic() - started < 10  # about 0.1 s on an idle machine
    browser.screenshot(tmp_path / "5000.png")
