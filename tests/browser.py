"""Headless Chromium for the tests marked ``browser``: open a static page over a local HTTP server and
report what a user's browser would see of its media.

Debian's ``chromium`` is the browser (``make test-browser`` installs it as root where it is missing);
:func:`chromium_or_skip` skips the test with the reason when it is not there.
"""
from __future__ import annotations

import functools
import html
import http.server
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# Appended to a copy of the page: once it has loaded, waits for every <audio> to load its metadata or
# fail and every <img> to decode or fail, then writes what it found into <pre id="browser-check">.
_CHECK = """<script>
window.addEventListener('load', async () => {
  const audio = [...document.querySelectorAll('audio')].map(a => new Promise(done => {
    const report = () => done({src: a.getAttribute('src'), duration: a.duration, error: a.error && a.error.code});
    if (a.readyState >= 1 || a.error) { report(); return; }
    a.addEventListener('loadedmetadata', report);
    a.addEventListener('error', report);
  }));
  const images = [...document.querySelectorAll('img')].map(i => i.decode().then(() => true, () => false)
    .then(decoded => ({src: i.getAttribute('src'), decoded, width: i.naturalWidth, height: i.naturalHeight})));
  const out = document.createElement('pre');
  out.id = 'browser-check';
  out.textContent = JSON.stringify({audio: await Promise.all(audio), images: await Promise.all(images)});
  document.body.appendChild(out);
});
</script>"""


def chromium_or_skip() -> str:
    """The path of the ``chromium`` executable, or a skip that says how to get it."""
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("headless Chromium is missing: `make test-browser` installs Debian's chromium package "
                    "(as root, with apt-get); elsewhere install chromium and rerun `pytest -m browser`")
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.server.requests.append((self.path, int(code)))  # type: ignore[attr-defined]


@contextmanager
def _serve(folder: Path) -> Iterator[tuple[str, list[tuple[str, int]]]]:
    """``(base URL, requests as (path, status))`` of a local HTTP server of ``folder``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_QuietHandler, directory=str(folder)))
    server.requests = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", server.requests  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def check_page(chromium: str, page: Path, screenshot: Path) -> dict:
    """Opens ``page`` (served with its folder) in headless Chromium and saves a screenshot.

    Returns:
        ``{"audio": [{src, duration, error}], "images": [{src, decoded, width, height}],
        "requests": [(path, HTTP status)]}``, the media as the browser loaded them.
    """
    checked = page.with_name(f"browser-check-{page.name}")
    checked.write_text(page.read_text().replace("</body>", f"{_CHECK}</body>"))
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--mute-audio", "--hide-scrollbars"]
    try:
        with _serve(page.parent) as (base, requests):
            done = subprocess.run([*flags, "--virtual-time-budget=30000", "--dump-dom", base + checked.name],
                                  capture_output=True, text=True, timeout=180)
            found = re.search(r'<pre id="browser-check">(.*?)</pre>', done.stdout, re.S)
            assert found, f"the page's check did not finish; chromium said: {done.stderr[-2000:]}"
            subprocess.run([*flags, "--window-size=1280,1600", f"--screenshot={screenshot}", base + page.name],
                           capture_output=True, timeout=180, check=True)
            return {**json.loads(html.unescape(found.group(1))), "requests": list(requests)}
    finally:
        checked.unlink()
