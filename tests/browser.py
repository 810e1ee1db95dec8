"""A tiny headless-Chromium driver over the DevTools protocol on a pipe (`--remote-debugging-pipe`).

Standard library only, works offline with the Debian `chromium` package. Used by the browser test and to
regenerate the README screenshot:

    python -m tests.browser view.html data/examples/screenshots/seed_article.png --width 1000 --height 1050
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

#: Chromium executables looked up on PATH, in order
NAMES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio",
]


def find_chromium() -> str | None:
    """Path of a Chromium executable on PATH, or None."""
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """One headless Chromium with one page, driven with DevTools protocol messages on fds 3 (in) and 4 (out)."""

    def __init__(self, executable: str, width: int = 1000, height: int = 1050, timeout: float = 60.0):
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        self._log = tempfile.TemporaryFile()  # Chromium's stderr, shown when it stops answering
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()

        def wire_fds() -> None:  # in the child, before exec: the protocol pipes on fds 3 and 4
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        self._process = subprocess.Popen(
            [executable, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={self._profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
            close_fds=False, preexec_fn=wire_fds,
        )
        os.close(to_child)
        os.close(from_child)
        self._timeout = timeout
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def call(self, method: str, session: bool = False, **params: Any) -> dict:
        """Send one command and return its result (events that arrive meanwhile are kept)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._write, json.dumps(message).encode("utf-8") + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def open(self, url: str) -> None:
        """Navigate the page to `url` and wait for its load event."""
        self._events.clear()
        self.call("Page.navigate", session=True, url=url)
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            self._events.append(self._receive())

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page (promises are awaited)."""
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: str | os.PathLike[str], full_page: bool = False) -> Path:
        """Write a PNG of the viewport (or of the whole page) to `path`."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            height = self.evaluate("document.documentElement.scrollHeight")
            width = self.evaluate("document.documentElement.clientWidth")
            params["clip"] = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        data = self.call("Page.captureScreenshot", session=True, **params)["data"]
        out = Path(path)
        out.write_bytes(base64.b64decode(data))
        return out

    def _receive(self) -> dict:
        import select

        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._read], [], [], self._timeout)
            chunk = os.read(self._read, 1 << 16) if ready else b""
            if not chunk:
                raise RuntimeError(f"Chromium stopped answering: {self._stderr_tail()}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _stderr_tail(self) -> str:
        if self._process.poll() is None:
            return "no reply in time"
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-2000:]

    def close(self) -> None:
        """Stop the browser and remove its profile."""
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for fd in (self._read, self._write):
            os.close(fd)
        self._log.close()
        self._profile.cleanup()

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Screenshot an HTML file in headless Chromium.")
    parser.add_argument("page", help="HTML file")
    parser.add_argument("out", help="PNG to write")
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--height", type=int, default=1050)
    parser.add_argument("--full-page", action="store_true", help="the whole page, not only the first screen")
    args = parser.parse_args()
    executable = find_chromium()
    if executable is None:
        parser.error("no Chromium on PATH (apt-get install chromium)")
    with Browser(executable, width=args.width, height=args.height) as browser:
        browser.open(Path(args.page).resolve().as_uri())
        browser.evaluate("document.fonts.ready.then(() => true)")
        browser.screenshot(args.out, full_page=args.full_page)


if __name__ == "__main__":
    main()
