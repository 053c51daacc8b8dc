"""Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`).

No driver binary and no library: Chromium reads commands from its fd 3 and writes answers to fd 4,
each a JSON message ended by a NUL byte (chromium.googlesource.com, "Chrome DevTools Protocol":
remote-debugging-pipe). Mouse and keyboard go through `Input.dispatch*`, as a person's would.

A navigation (`open`, or a click on a link: `follow`) waits for the page's own `load` lifecycle
event, matched by the navigation's loader id, before anything is evaluated in it. Evaluating
while a navigation is under way is a race: file:// to http:// swaps the renderer process, and a
`Runtime.evaluate` in flight then fails with "Inspected target navigated or closed".
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
)


class BrowserError(RuntimeError):
    """A DevTools command failed, or the browser went away."""


class Browser:
    """One Chromium process with one page; `with Browser(profile) as b: b.open(url)`."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 1000) -> None:
        self.profile, self.width, self.height = profile, width, height
        self._next, self._buffer = 0, b""
        self.session = ""
        self._events: list[dict[str, Any]] = []  # this page's events since the last navigation began

    def __enter__(self) -> Browser:
        assert CHROMIUM is not None
        to_child, self._send_fd = os.pipe()
        self._recv_fd, from_child = os.pipe()

        def fds() -> None:  # the child's fd 3 reads our commands, its fd 4 carries the answers
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={self.width},{self.height}"],
            pass_fds=(3, 4),
            preexec_fn=fds,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.call("Page.enable")
        self.call("Page.setLifecycleEventsEnabled", enabled=True)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.call("Browser.close", session=False)
        except BrowserError:
            pass  # already gone: the wait below reaps it
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self._send_fd)
        os.close(self._recv_fd)

    def call(self, method: str, session: bool = True, timeout: float = 30, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer (the page's events that arrive meanwhile are kept
        for `_wait_for`)."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._send_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            if "method" in answer and answer.get("sessionId") == self.session:
                self._events.append(answer)

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._recv_fd], [], [], left)[0]:
                raise BrowserError("no answer from the browser in time")
            chunk = os.read(self._recv_fd, 1 << 16)
            if not chunk:
                raise BrowserError("the browser closed the pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def open(self, url: str) -> None:
        """Navigate and wait until that page has loaded (its own load event, not a late one of an
        earlier page)."""
        self._events.clear()
        started = self.call("Page.navigate", url=url)
        if "errorText" in started:
            raise BrowserError(f"{url}: {started['errorText']}")
        self._wait_loaded(started.get("loaderId"), url)

    def follow(self, selector: str) -> None:
        """Click a link that navigates the page, and wait until the page it opens has loaded."""
        self._events.clear()
        self.click(selector)
        navigated = self._wait_for(
            lambda e: e["method"] == "Page.frameNavigated" and "parentId" not in e["params"]["frame"],
            f"a navigation after the click on {selector}",
        )
        frame = navigated["params"]["frame"]
        self._wait_loaded(frame["loaderId"], frame["url"])

    def _wait_loaded(self, loader: str | None, url: str) -> None:
        if loader is None:  # a same-document navigation (a fragment): there is no load to wait for
            return
        self._wait_for(
            lambda e: (
                e["method"] == "Page.lifecycleEvent"
                and e["params"]["loaderId"] == loader
                and e["params"]["name"] == "load"
            ),
            f"{url} to load",
        )

    def _wait_for(self, match: Callable[[dict[str, Any]], bool], what: str, timeout: float = 30) -> dict[str, Any]:
        """The first page event since the navigation began that `match`es, waiting for it."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for event in self._events[seen:]:
                if match(event):
                    return event
            seen = len(self._events)
            try:
                message = self._read(deadline)
            except BrowserError as e:
                raise BrowserError(f"waited in vain for {what}: {e}") from e
            if "method" in message and message.get("sessionId") == self.session:
                self._events.append(message)

    def js(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click (press and release) in the middle of the element, scrolled into view."""
        box = self.js(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.scrollIntoView({{block: 'center'}});"
            " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def type(self, selector: str, text: str) -> None:
        """Focus an input and type `text` into it as keyboard input."""
        self.click(selector)
        self.call("Input.insertText", text=text)

    def screenshot(self, path: Path, full_page: bool = False, selector: str = "", scale: float = 1.0) -> Path:
        """A PNG of the viewport, the whole page, or the element `selector` (at `scale`)."""
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page or bool(selector)}
        if selector:
            box = self.js(
                f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
                " return [r.x + scrollX, r.y + scrollY, r.width, r.height]; })()"
            )
            params["clip"] = {"x": box[0], "y": box[1], "width": box[2], "height": box[3], "scale": scale}
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", **params)["data"]))
        return path
