"""Servers on 127.0.0.1 that misbehave on purpose, and what jianbao must do about each.

Every case is one input's one line (``failed: …`` naming why), never a traceback, a hang or a junk
article, and the rest of the batch goes on. The budgets are small in the test config (``max_time``
of a second, ``max_bytes`` of 1 MB) so that what a real run meets after minutes happens here in
moments. Commands run in-process (click's runner); one test needs a real process, for SIGTERM.
"""

from __future__ import annotations

import asyncio
import gzip
import signal
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest

import ingest.pipeline
from ingest.config import load_config
from ingest.pipeline import Importer, Outcome
from storage import Store
from tests.conftest import Env
from tests.localserver import Recorded, Reply
from tests.pages import as_bytes, wechat_page

WX = "mp.weixin.qq.com"
MAX_BYTES = 1_000_000
BUDGETS = f"max_time = 1.0\nmax_bytes = {MAX_BYTES}"


@pytest.fixture
def hostile(env: Env) -> Env:
    env.write_config(extra_http=BUDGETS)
    return env


def _page(env: Env, n: int, reply: Reply | list[Reply] | None = None) -> str:
    env.server.route(WX, f"/s/h{n}", reply if reply is not None else Reply.html(wechat_page(n)))
    return f"https://{WX}/s/h{n}"


def _line(result_lines: list[str], url: str) -> str:
    (line,) = [ln for ln in result_lines if f" {url}" in ln or f": {url}:" in ln or ln.endswith(url)]
    return line


def _gzip_bomb(decoded: int) -> bytes:
    """``decoded`` bytes of spaces, gzipped to about a two-hundredth of that."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: gzip framing; level 1: fast to build
    chunk = b" " * 1_000_000
    parts = [packer.compress(chunk) for _ in range(decoded // len(chunk))]
    return b"".join(parts) + packer.flush()


def test_a_gzip_bomb_is_refused_at_max_bytes_of_decoded_bytes(hostile: Env) -> None:
    bomb = _gzip_bomb(120_000_000)
    assert len(bomb) < 600_000 < MAX_BYTES  # under max_bytes on the wire, 120 MB once decoded
    url = _page(hostile, 1, Reply(200, bomb, {"Content-Type": "text/html", "Content-Encoding": "gzip"}))
    good = _page(hostile, 2)
    tracemalloc.start()
    try:
        result = hostile.run("import", url, good)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    line = _line(result.lines, url)
    assert line.startswith("failed:") and f"max_bytes {MAX_BYTES}" in line, line
    assert _line(result.lines, good).startswith("stored:")
    assert len(hostile.server.requests_to(WX, "/s/h1")) == 1  # too large is not worth asking again
    # memory stayed flat: nowhere near the 120 MB the body would decode to
    assert peak < 60_000_000, f"peak {peak / 1e6:.0f} MB"


def test_a_small_gzipped_page_is_read(hostile: Env) -> None:
    url = _page(
        hostile,
        3,
        Reply(200, gzip.compress(as_bytes(wechat_page(3))), {"Content-Type": "text/html", "Content-Encoding": "gzip"}),
    )
    result = hostile.run("import", url)
    assert result.code == 0 and result.lines[0].startswith("stored:"), result.out + result.err


def test_a_redirect_loop_is_one_failure(hostile: Env) -> None:
    hostile.server.route(WX, "/s/loop-a", Reply.redirect(f"https://{WX}/s/loop-b"))
    hostile.server.route(WX, "/s/loop-b", Reply.redirect("/s/loop-a"))
    good = _page(hostile, 4)
    result = hostile.run("import", f"https://{WX}/s/loop-a", good)
    assert result.code == 1 and "Traceback" not in result.err
    line = _line(result.lines, f"https://{WX}/s/loop-a")
    assert line.startswith("failed:") and "redirects" in line, line
    hops = len(hostile.server.requests_to(WX, "/s/loop-a")) + len(hostile.server.requests_to(WX, "/s/loop-b"))
    assert 2 <= hops <= 12  # it gave up after the redirect limit, it did not spin
    assert _line(result.lines, good).startswith("stored:")


@pytest.mark.parametrize(
    "target",
    ["file:///etc/passwd", "ftp://127.0.0.1/x", "javascript:alert(1)", "http://[::1", "http://127.0.0.1:99999/x"],
)
def test_a_redirect_off_the_web_is_refused(hostile: Env, target: str) -> None:
    url = _page(hostile, 5, Reply.redirect(target))
    result = hostile.run("import", url)
    assert result.code == 1 and "Traceback" not in result.err, result.err
    line = _line(result.lines, url)
    assert line.startswith("failed:") and "redirect to" in line, line
    assert hostile.count("articles") == 0


def test_a_trickling_server_fails_at_max_time_through_the_cli(hostile: Env) -> None:
    # timeout 5 s per read: a byte every 0.2 s never trips it; max_time = 1 s ends the request
    hostile.write_config(timeout=5.0, extra_http=BUDGETS)
    url = _page(hostile, 6, Reply.trickled(as_bytes(wechat_page(6)), every=0.2))
    good = _page(hostile, 7)
    result = hostile.run("import", url, good)
    assert result.code == 1
    line = _line(result.lines, url)
    assert line.startswith("failed:") and "max_time" in line, line
    assert len(hostile.server.requests_to(WX, "/s/h6")) == 1  # a trickle would trickle again: not retried
    assert _line(result.lines, good).startswith("stored:")
    assert hostile.sql("select outcome from fetches where url like ?", ("%/s/h6",)) == [("failed",)]


def test_a_reset_mid_body_is_retried_and_a_server_that_always_resets_is_one_failure(hostile: Env) -> None:
    body = as_bytes(wechat_page(8))
    once = _page(hostile, 8, [Reply.cut(body, sent=len(body) // 2), Reply.html(wechat_page(8))])
    always = _page(hostile, 9, Reply.cut(as_bytes(wechat_page(9)), sent=300))
    result = hostile.run("import", once, always)
    assert _line(result.lines, once).startswith("stored:"), result.out
    line = _line(result.lines, always)
    assert line.startswith("failed:") and "Traceback" not in result.err, line
    assert len(hostile.server.requests_to(WX, "/s/h9")) == 4  # retries = 3 in the test config
    assert hostile.count("articles") == 1


def test_a_content_length_larger_than_the_body_is_never_stored_half(hostile: Env) -> None:
    body = as_bytes(wechat_page(10))
    url = _page(hostile, 10, Reply.truncated(body, sent=len(body) - 50))
    result = hostile.run("import", url)
    line = _line(result.lines, url)
    assert line.startswith("failed:") and "truncated" in line, line
    assert hostile.count("articles") == 0 and hostile.count("pages") == 0


def test_malformed_locs_in_a_sitemap_are_skipped_and_the_rest_fetched(hostile: Env) -> None:
    good = [_page(hostile, n) for n in (11, 12)]
    locs = [good[0], "http://[::1", "http://127.0.0.1:99999/x", "http://xn--/", good[1]]
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>{u}</loc></url>" for u in locs)
        + "</urlset>"
    )
    hostile.server.route("news.example.com", "/sitemap.xml", Reply(200, xml.encode(), {"Content-Type": "text/xml"}))
    hostile.write_config(
        sources='[[sources]]\nname = "sm"\nkind = "sitemap"\nurl = "https://news.example.com/sitemap.xml"\n',
        extra_http=BUDGETS,
    )
    result = hostile.run("crawl")
    assert result.code == 0, result.out + result.err
    assert "Traceback" not in result.err and "source failed" not in result.err
    assert hostile.count("articles") == 2


def test_an_image_host_answering_html_during_export_download(hostile: Env) -> None:
    url = _page(hostile, 13)
    assert hostile.run("import", url).code == 0

    def html_instead(request: Recorded) -> Reply:
        return Reply.html("<html><body>请登录后查看图片</body></html>")

    for i in range(2):
        hostile.server.route("mmbiz.qpic.cn", f"/mmbiz_jpg/13x{i}/640", html_instead)
    hostile.server.route("mmbiz.qpic.cn", "/mmbiz_jpg/13cover/0", html_instead)
    out = hostile.path / "site"
    result = hostile.run("export", str(out), "--images", "download")
    assert result.code == 1 and "Traceback" not in result.err, result.err
    assert result.err.count("image not saved:") == 3 and "not an image" in result.err, result.err
    (index,) = out.glob("*/index.md")
    # nothing but the Markdown in the bundle: no HTML saved under an image's name
    assert [p.name for p in index.parent.iterdir()] == ["index.md"]
    text = index.read_text(encoding="utf-8")
    assert "https://mmbiz.qpic.cn/mmbiz_jpg/13x0/640" in text  # the remote URL stays


def test_a_stop_cancels_a_trickling_import_after_the_grace(
    tmp_path: Path, hostile: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import's side of SIGTERM (the signal itself is the crawl test's): once a stop is asked for,
    what is still downloading after the grace is cancelled, nothing of it is written."""
    monkeypatch.setattr(ingest.pipeline, "STOP_GRACE", 0.3)
    hostile.write_config(timeout=5.0, extra_http="max_time = 60")
    slow = _page(hostile, 14, Reply.trickled(as_bytes(wechat_page(14)), every=0.5))
    for name, value in hostile.server.env.items():
        monkeypatch.setenv(name, value)
    outcomes: list[Outcome] = []

    async def run() -> float:
        store = Store(str(hostile.db))
        importer = Importer(store, load_config(str(hostile.path / "config.toml")))
        stop = False
        try:
            task = asyncio.ensure_future(
                importer.import_urls([slow], on_outcome=outcomes.append, should_stop=lambda: stop)
            )
            while not hostile.server.requests_to(WX, "/s/h14"):
                await asyncio.sleep(0.02)
            stop = True
            started = time.monotonic()
            await asyncio.wait_for(task, timeout=20)
            return time.monotonic() - started
        finally:
            await importer.aclose()
            store.close()

    elapsed = asyncio.run(run())
    assert outcomes == []  # cancelled mid-download: no outcome, nothing stored
    assert elapsed < 10  # well before max_time (60 s): the grace, not the trickle, ended it
    assert hostile.count("articles") == 0


def test_sigterm_during_a_trickling_download_stops_the_crawl_and_frees_the_lock(hostile: Env) -> None:
    slow = _page(hostile, 15, Reply.trickled(as_bytes(wechat_page(15)), every=0.5))
    later = _page(hostile, 16)
    (hostile.path / "urls.txt").write_text(f"{slow}\n{later}\n", encoding="utf-8")
    hostile.write_config(
        sources='[[sources]]\nname = "u"\nkind = "urls"\npath = "urls.txt"\n', timeout=5.0, extra_http="max_time = 60"
    )
    proc = hostile.popen("crawl")
    deadline = time.monotonic() + 30
    while not hostile.server.requests_to(WX, "/s/h15") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hostile.server.requests_to(WX, "/s/h15"), "the crawl never asked for the slow page"
    time.sleep(0.3)  # well into the trickle
    proc.send_signal(signal.SIGTERM)
    # max_time is 60 s: only the stop's grace can end this run within the wait below
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1 and "stopped" in err, err
    assert "Traceback" not in err
    # released on the way out (release empties the file; a crash would leave the pid in it)
    assert (hostile.path / "jianbao.db.lock").read_text() == ""
    assert hostile.count("articles") == 0
    # the next run takes the lock and resumes: the slow page answers now
    hostile.server.route(WX, "/s/h15", Reply.html(wechat_page(15)))
    result = hostile.run("crawl")
    assert result.code == 0, result.out + result.err
    assert hostile.count("articles") == 2


def test_malformed_image_and_link_urls_in_a_page_drop_the_image_not_the_page(hostile: Env) -> None:
    clip = hostile.path / "clip.md"
    clip.write_text(
        '---\ntitle: "坏图片"\nurl: "https://www.example.com/clip"\n---\n正文一段，内容足够长。\n\n'
        "![图](http://[::1/a.jpg)\n\n![图](http://127.0.0.1:99999/b.jpg)\n\n[链接](http://[::1/c)\n\n"
        "![图](https://inews.gtimg.com/om_bt/ok/641)\n",
        encoding="utf-8",
    )
    body = "<p>这是一段足够长的正文，讲述了许多事情，细节很多，读者可以慢慢看。</p>" * 6
    page = (
        "<html><head><meta charset='utf-8'><title>坏链接</title></head><body><article><h1>坏链接</h1>"
        f"{body}<img src='http://[::1/a.jpg'><a href='http://[::1/b'>链接</a>"
        "<img src='https://inews.gtimg.com/om_bt/ok2/641'></article></body></html>"
    )
    hostile.server.route("news.example.com", "/bad.html", Reply.html(page))
    result = hostile.run("import", str(clip), "https://news.example.com/bad.html")
    assert result.code == 0 and "Traceback" not in result.err, result.out + result.err
    images = sorted(str(i) for (i,) in hostile.sql("select images from articles"))
    assert images == ['["https://inews.gtimg.com/om_bt/ok/641"]', '["https://inews.gtimg.com/om_bt/ok2/641"]']
    assert hostile.run("export", str(hostile.path / "site")).code == 0


def test_a_child_sitemap_or_next_page_no_fetch_can_take_is_passed_over(hostile: Env) -> None:
    good = [_page(hostile, n) for n in (17, 18)]
    index = (
        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>http://127.0.0.1:99999/a.xml</loc></sitemap>"
        "<sitemap><loc>https://news.example.com/b.xml</loc></sitemap></sitemapindex>"
    )
    urlset = (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{good[0]}</loc></url></urlset>"
    )
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>'
        '<link rel="next" href="http://127.0.0.1:99999/page2"/>'
        f'<entry><title>x</title><id>x</id><link href="{good[1]}"/></entry></feed>'
    )
    xml = {"Content-Type": "application/xml"}
    hostile.server.route("news.example.com", "/index.xml", Reply(200, index.encode(), xml))
    hostile.server.route("news.example.com", "/b.xml", Reply(200, urlset.encode(), xml))
    hostile.server.route("news.example.com", "/atom.xml", Reply(200, atom.encode(), xml))
    hostile.write_config(
        sources='[[sources]]\nname = "sm"\nkind = "sitemap"\nurl = "https://news.example.com/index.xml"\n\n'
        '[[sources]]\nname = "atom"\nkind = "feed"\nurl = "https://news.example.com/atom.xml"\n',
        extra_http=BUDGETS,
    )
    result = hostile.run("crawl")
    assert result.code == 0 and "source failed" not in result.err, result.out + result.err
    assert hostile.count("articles") == 2
    logged = {str(u) for (u,) in hostile.sql("select url from fetches where error like 'unusable URL%'")}
    assert logged == {"http://127.0.0.1:99999/a.xml", "http://127.0.0.1:99999/page2"}


def test_a_source_url_no_fetch_can_take_fails_that_source_in_one_line(hostile: Env) -> None:
    good = _page(hostile, 19)
    (hostile.path / "urls.txt").write_text(good + "\n", encoding="utf-8")
    hostile.write_config(
        sources='[[sources]]\nname = "bad"\nkind = "feed"\nurl = "http://127.0.0.1:99999/f.xml"\n\n'
        '[[sources]]\nname = "u"\nkind = "urls"\npath = "urls.txt"\n',
        extra_http=BUDGETS,
    )
    result = hostile.run("crawl")
    assert result.code == 1 and "Traceback" not in result.err
    (line,) = [ln for ln in result.err.splitlines() if ln.startswith("[bad]")]
    assert "source failed" in line and "port 99999" in line, line
    assert hostile.count("articles") == 1  # the other source went on
