"""One end-to-end test in a real browser: headless Chromium (Debian's package) driven by Playwright
against ``jianbao serve`` on 127.0.0.1, the images coming from a stand-in CDN through the proxy.

Playwright cannot download its own browsers here, so it launches ``/usr/bin/chromium`` (``.ci/run``
installs it where missing); the test skips, saying so, only when that browser is absent.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import jianbao_command
from tests.localserver import LocalServer
from tests.test_serve import build_db, image_urls, png, route_images

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",  # the browser talks to 127.0.0.1 only; the server fetches images through the proxy
]
CONFIG = """
[http]
retries = 0
timeout = 5.0
[politeness]
default = 0
"qpic.cn" = 0
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, LocalServer]]:
    db = tmp_path / "jianbao.db"
    build_db(db)
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    with LocalServer(tmp_path) as cdn:
        route_images(cdn, image_urls(db), png(160, 90))
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and k != "SSL_CERT_DIR"}
        env.update(cdn.env)
        env.pop("JIANBAO_DB", None)
        port = free_port()
        proc = subprocess.Popen(
            [*jianbao_command(), "--config", "config.toml", "--db", str(db), "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/healthz", trust_env=False, timeout=1).status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"jianbao serve did not start: {proc.communicate(timeout=5)[0]}")
                time.sleep(0.05)
            yield base, cdn
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)")
def test_a_browser_searches_opens_an_article_and_shows_its_images(
    served: tuple[str, LocalServer], tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    base, cdn = served
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 420, "height": 900})  # a phone-sized window
            page.goto(base + "/")
            assert page.locator("li.card").count() >= 5
            page.fill("input[name=q]", "图书")  # a two-character word
            page.press("input[name=q]", "Enter")
            page.wait_for_url("**/search?q=*")
            assert page.locator("mark", has_text="图书").count() >= 2
            page.click("a.title:has-text('技术周刊第12期')")
            page.wait_for_url("**/a/*")
            page.wait_for_load_state("load")
            images = page.eval_on_selector_all(
                ".body img", "els => els.map(e => [e.getAttribute('src'), e.complete, e.naturalWidth])"
            )
            shot = tmp_path / "article.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert len(images) == 3
    for src, complete, width in images:
        assert src.startswith("/img?"), src
        assert complete and width > 0, src
    assert len(cdn.requests_to("mmbiz.qpic.cn")) == 3  # each through the server's proxy, once
    assert shot.stat().st_size > 1000
