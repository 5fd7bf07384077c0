"""``jianbao serve``: feeds, OPML, conditional GET, the image proxy and the reader pages.

Starlette's TestClient over a temporary database filled from ``fixtures/`` (parsed with the real
parsers); the stand-in image CDN is ``tests/localserver.py`` reached through ``HTTPS_PROXY``.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import sqlite3
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

import feedparser
import httpx
import pytest
from click.testing import CliRunner

with warnings.catch_warnings():
    # Starlette 1.x nudges toward "httpx2"; httpx is what the project uses
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import parsers
from ingest.cli import cli
from ingest.config import Config, build_config
from parsers.article import SHANGHAI, Article
from serve.app import create_app
from serve.images import CachedImage, DiskCache, ImageRefused, Signer, check_target, load_secret
from storage import Store
from tests.conftest import FIXTURES
from tests.localserver import LocalServer, Reply

# (fixture page, the URL it was served under)
PAGES = [
    ("wechat/normal-2025-raw.html", "https://mp.weixin.qq.com/s/normal2025"),
    ("wechat/normal-2022-raw.html", "https://mp.weixin.qq.com/s/normal2022"),
    ("wechat/reprint-2021.html", "https://mp.weixin.qq.com/s/reprint2021"),
    ("wechat/text-2025.html", "https://mp.weixin.qq.com/s/text2025"),
    ("wechat/picture-2025.html", "https://mp.weixin.qq.com/s/picture2025"),
    ("wechat/legacy-2016.html", "https://mp.weixin.qq.com/s/legacy2016"),
    ("qq/rain-2025-window-data.html", "https://news.qq.com/rain/a/20250301A01ABC00"),
    ("qq/om-2019-content-article.html", "https://new.qq.com/omn/20190101/20190101A0ABCD00.html"),
    ("web/news-article-meta-time.html", "https://www.example.com/news/2024/meta-time.html"),
]
COMMON_HAN = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学"
HOSTILE_TITLE = "<script>alert('title')</script> 攻击测试"
# a vertical tab and a form feed: XML 1.0 cannot carry them, so the feed must drop them, not break
HOSTILE_BODY = (
    "正文<script>alert('body')</script>\x0b\x0c\n\n<img src=x onerror=alert(1)>\n\n[点我](javascript:alert(2))"
)


def png(width: int = 3, height: int = 2) -> bytes:
    """A real PNG (grey pixels), so a browser can decode it and report its natural size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def fixture_articles() -> list[Article]:
    out: list[Article] = []
    for name, url in PAGES:
        parsed = parsers.parse((FIXTURES / name).read_bytes(), url)
        assert isinstance(parsed, Article), name
        out.append(parsed)
    return out


def extra_articles() -> list[Article]:
    base = fixture_articles()[0]
    hostile = Article(
        url="https://www.example.com/hostile",
        source="web",
        kind="article",
        title=HOSTILE_TITLE,
        body=HOSTILE_BODY,
        account="<b>坏账号</b>",
        summary="<script>alert('summary')</script>",
        published=datetime(2025, 6, 1, 12, 0, tzinfo=SHANGHAI),
    )
    # the same story again under another account: the feed and the list show it once
    copy = replace(
        base,
        url="https://mp.weixin.qq.com/s/copy-of-normal2025",
        biz="MzCOPY",
        mid="1",
        idx="1",
        sn="copy",
        account="转载号",
        published=datetime(2025, 11, 8, 9, 0, tzinfo=SHANGHAI),
    )
    return [hostile, copy]


def build_db(path: Path) -> dict[str, int]:
    """The fixture database; returns article ids by title."""
    ids: dict[str, int] = {}
    with Store(path) as store:
        for article in [*fixture_articles(), *extra_articles()]:
            saved = store.save_article(article)
            ids.setdefault(article.title, saved.id)
    return ids


def image_urls(db: Path) -> set[str]:
    with Store(db) as store:
        found: set[str] = set()
        for stored in store.list_articles(include_duplicates=True):
            a = stored.article
            found |= set(a.images) | ({a.cover} if a.cover else set())
    return found


def route_images(server: LocalServer, urls: set[str], body: bytes | None = None) -> None:
    for url in urls:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        server.route(parts.hostname or "", path, Reply(200, body or png(), {"Content-Type": "image/png"}))


FAST = {
    "http": {"retries": 0, "timeout": 5.0, "max_bytes": 200_000},
    "politeness": {"default": 0, "qpic.cn": 0, "gtimg.com": 0, "gtimg.cn": 0},
}


def make_config(tmp: Path, **serve: Any) -> Config:
    data: dict[str, Any] = {**FAST}
    if serve:
        data["serve"] = serve
    return build_config(data, path=str(tmp / "config.toml"), base_dir=tmp)


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("serve-db")
    db = folder / "jianbao.db"
    return db, build_db(db)


@pytest.fixture
def db(tmp_path: Path, fixture_db: tuple[Path, dict[str, int]]) -> Path:
    """A private copy of the fixture database (tests may write to it)."""
    target = tmp_path / "jianbao.db"
    src = sqlite3.connect(fixture_db[0])
    dst = sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    return target


@pytest.fixture
def ids(fixture_db: tuple[Path, dict[str, int]]) -> dict[str, int]:
    return fixture_db[1]


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    with LocalServer(tmp_path) as srv:
        srv.apply_env(monkeypatch)
        yield srv


@pytest.fixture
def client(db: Path, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(str(db), make_config(tmp_path))
    with TestClient(app) as c:
        yield c


def atom(client: TestClient, query: str = "") -> Any:
    response = client.get("/feed.atom" + query)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def img_srcs(html: str) -> list[str]:
    return [unescape(s) for s in re.findall(r'<img[^>]* src="([^"]+)"', html)]


# -- feeds ---------------------------------------------------------------------------------------------


def test_atom_feed_is_valid_with_full_entries(client: TestClient, ids: dict[str, int]) -> None:
    feed = atom(client)
    stories = len(PAGES) + 1  # the copy is folded into its original
    assert len(feed.entries) == stories
    by_title = {e.title: e for e in feed.entries}
    e = by_title["技术周刊第12期：界面设计"]
    assert e.id.startswith("tag:jianbao.invalid,2025:wechat:")
    assert e.link.startswith("https://mp.weixin.qq.com/s?__biz=")  # rel=alternate: the original
    assert e.author == "李明"
    assert "技术周刊编辑部" in [t.term for t in e.tags]
    assert e.published.endswith("+08:00") and e.updated.endswith("+08:00")
    assert e.summary == "每周分享值得一读的技术内容。"
    html = e.content[0].value
    assert "<strong>大学问</strong>" in html
    srcs = img_srcs(html)
    assert len(srcs) == 3 and all(s.startswith("http://testserver/img?") for s in srcs)
    assert e.media_thumbnail[0]["url"].startswith("http://testserver/img?")
    # newest first
    published = [x.published for x in feed.entries if "published" in x]
    assert published == sorted(published, reverse=True)


def test_entry_ids_are_stable_across_restarts_and_base_urls(db: Path, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    with TestClient(create_app(str(db), config)) as c:
        first = [e.id for e in atom(c).entries]
    with TestClient(create_app(str(db), config, base_url="https://news.example.org/jb")) as c:
        feed = atom(c)
        again = [e.id for e in feed.entries]
        assert feed.feed.links[0].href.startswith("https://news.example.org/jb/feed.atom")
        assert img_srcs(feed.entries[0].content[0].value)[0].startswith("https://news.example.org/jb/img?")
        # the reader pages link under the prefix too
        assert 'href="/jb/accounts"' in c.get("/").text
    assert first == again


def test_feed_filters_and_limits(client: TestClient) -> None:
    qq = atom(client, "?source=qq").entries
    assert len(qq) == 2 and "图书馆新馆开放 首日读者超五千人次" in {e.title for e in qq}
    assert all(t.term == "qq" for e in qq for t in e.tags if t.get("scheme"))
    only = atom(client, "?account=技术周刊编辑部")
    assert {e.author for e in only.entries} >= {"李明"}
    assert all("技术周刊编辑部" in [t.term for t in e.tags] for e in only.entries)
    assert len(atom(client, "?limit=2").entries) == 2
    since = atom(client, "?since=2025-01-01")
    assert since.entries and all(e.published >= "2025-01-01" for e in since.entries)
    searched = atom(client, "?q=图书")  # a saved search as a feed
    assert searched.entries and all("图书" in (e.title + e.content[0].value) for e in searched.entries)
    for bad in ("?limit=501", "?limit=0", "?limit=x", "?source=weibo", "?since=yesterday"):
        response = client.get("/feed.atom" + bad)
        assert response.status_code == 400, bad
        assert "Traceback" not in response.text


def test_json_feed_matches_atom(client: TestClient) -> None:
    response = client.get("/feed.json")
    assert response.status_code == 200
    data = response.json()
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    assert [i["id"] for i in data["items"]] == [e.id for e in atom(client).entries]
    item = next(i for i in data["items"] if i["title"] == "技术周刊第12期：界面设计")
    assert item["url"].startswith("https://mp.weixin.qq.com/")
    assert item["authors"] == [{"name": "李明"}]
    assert item["date_published"].endswith("+08:00")
    assert item["image"].startswith("http://testserver/img?")
    assert "<strong>" in item["content_html"]


def test_conditional_get_answers_304_until_something_changes(client: TestClient, db: Path) -> None:
    first = client.get("/feed.atom?source=wechat")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = client.get("/feed.atom?source=wechat", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    by_date = client.get("/feed.atom?source=wechat", headers={"If-Modified-Since": modified})
    assert by_date.status_code == 304
    other = client.get("/feed.atom?source=qq", headers={"If-None-Match": etag})
    assert other.status_code == 200  # another feed, another validator
    opml = client.get("/opml")
    assert client.get("/opml", headers={"If-None-Match": opml.headers["etag"]}).status_code == 304
    # a crawl stores a new article: the feed changes, and so does its validator
    with Store(db) as store:
        store.save_article(
            Article(
                url="https://mp.weixin.qq.com/s/brand-new",
                source="wechat",
                kind="article",
                title="刚刚发布的新文章",
                body="新文章的正文内容，足够长的一段文字。",
                account="技术周刊编辑部",
                published=datetime(2026, 1, 1, 8, 0, tzinfo=SHANGHAI),
            )
        )
    changed = client.get("/feed.atom?source=wechat", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert feedparser.parse(changed.content).entries[0].title == "刚刚发布的新文章"
    assert client.get("/opml", headers={"If-None-Match": opml.headers["etag"]}).status_code == 200


def test_opml_lists_every_account_and_each_feed_has_working_images(
    db: Path, tmp_path: Path, server: LocalServer
) -> None:
    urls = image_urls(db)
    route_images(server, urls)
    with TestClient(create_app(str(db), make_config(tmp_path))) as client:
        response = client.get("/opml")
        assert response.status_code == 200
        root = ET.fromstring(response.content)
        outlines = [o for o in root.iter("outline") if o.get("type") == "rss"]
        feeds = {o.get("text"): o.get("xmlUrl") for o in outlines}
        with Store(db) as store:
            accounts = {s.article.account for s in store.list_articles(include_duplicates=True) if s.article.account}
        assert accounts <= set(feeds)
        assert "jianbao: wechat" in feeds and "jianbao: qq" in feeds
        fetched = 0
        for name in accounts:
            feed_url = feeds[name]
            assert feed_url is not None and feed_url.startswith("http://testserver/feed.atom?account=")
            parsed = atom(client, feed_url.removeprefix("http://testserver/feed.atom"))
            assert parsed.entries, name
            for entry in parsed.entries:
                assert entry.content[0].value  # full content
                for src in img_srcs(entry.content[0].value):
                    image = client.get(src)
                    assert image.status_code == 200, (src, image.text)
                    assert image.headers["content-type"] == "image/png"
                    fetched += 1
        assert fetched >= 5
    # the CDN saw the Referer it wants, through the proxy
    qpic = server.requests_to("mmbiz.qpic.cn")
    assert qpic and all(r.proxied and r.headers.get("referer") == "https://mp.weixin.qq.com/" for r in qpic)
    gtimg = server.requests_to("inews.gtimg.com")
    assert gtimg and all(r.headers.get("referer") == "https://news.qq.com/" for r in gtimg)


# -- reader pages --------------------------------------------------------------------------------------


def test_index_lists_each_story_once_with_paging(client: TestClient, ids: dict[str, int]) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.count('class="card"') == len(PAGES) + 1
    assert "技术周刊第12期：界面设计" in page.text
    assert f'href="/a/{ids["技术周刊第12期：界面设计"]}"' in page.text
    filtered = client.get("/", params={"account": "城市晚报"})
    assert filtered.text.count('class="card"') == 1
    assert client.get("/?page=2").text.count('class="card"') == 0
    assert client.get("/?page=0").status_code == 400


def test_search_page_finds_one_and_two_character_words(client: TestClient) -> None:
    two = client.get("/search", params={"q": "图书"})
    assert two.status_code == 200
    assert "图书馆新馆开放" in two.text
    assert "<mark>图书</mark>" in two.text
    snippets = re.findall(r'<p class="snippet">(.*?)</p>', two.text, re.S)
    assert snippets and not any(m in s for s in snippets for m in ("**", "## ", "!["))
    one = client.get("/search", params={"q": "馆"})
    assert "图书馆新馆开放" in one.text
    assert "没有找到" in client.get("/search", params={"q": "不存在的词语组合"}).text
    assert client.get("/search").status_code == 200


def test_article_page_has_body_proxied_images_original_link_and_copies(client: TestClient, ids: dict[str, int]) -> None:
    article_id = ids["技术周刊第12期：界面设计"]
    page = client.get(f"/a/{article_id}")
    assert page.status_code == 200
    text = page.text
    assert "技术周刊编辑部" in text and "李明" in text and "2025-11-07 08:31" in text
    assert "<strong>大学问</strong>" in text
    srcs = img_srcs(text)
    assert len(srcs) == 3 and all(s.startswith("/img?a=") for s in srcs)
    assert 'href="https://mp.weixin.qq.com/s?__biz=' in text
    assert "转载号" in text  # its duplicate is listed
    assert "Content-Security-Policy" in page.headers


def test_accounts_page_counts_and_links_feeds(client: TestClient) -> None:
    page = client.get("/accounts")
    assert page.status_code == 200
    assert "技术周刊编辑部" in page.text
    assert "/feed.atom?account=%E6%8A%80%E6%9C%AF" in page.text


def test_html_in_titles_and_bodies_is_inert(client: TestClient, ids: dict[str, int]) -> None:
    hostile = ids[HOSTILE_TITLE]
    pages = [client.get("/"), client.get(f"/a/{hostile}"), client.get("/search", params={"q": "攻击测试"})]
    for page in pages:
        assert page.status_code == 200
        assert "<script>" not in page.text
        assert "onerror=" not in page.text.replace("onerror=alert", "")  # only ever as escaped text
        assert "<b>坏账号</b>" not in page.text
    article = pages[1].text
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in article
    assert "&lt;script&gt;alert('body')&lt;/script&gt;" in article  # Markdown's escaping
    assert 'href="javascript:' not in article
    assert "&lt;script&gt;" in pages[2].text
    entry = next(e for e in atom(client).entries if "攻击测试" in e.title)
    assert "<script" not in entry.content[0].value


def test_unknown_ids_and_paths_get_a_404_page(client: TestClient) -> None:
    for path in ("/a/999999", "/no-such-page", "/a/abc", "/a/0", "/a/" + "9" * 30):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "<h1>404</h1>" in response.text


def test_server_errors_show_no_trace(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import storage.feeds

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail /etc/passwd")

    monkeypatch.setattr(storage.feeds, "accounts", broken)
    with TestClient(create_app(str(db), make_config(tmp_path)), raise_server_exceptions=False) as client:
        response = client.get("/accounts")
    assert response.status_code == 500
    assert "secret detail" not in response.text and "Traceback" not in response.text


# -- the image proxy -----------------------------------------------------------------------------------


def proxied_url(client: TestClient, article_id: int) -> str:
    srcs = img_srcs(client.get(f"/a/{article_id}").text)
    assert srcs
    return srcs[0]


def test_image_proxy_fetches_with_referer_and_caches_on_disk(
    db: Path, tmp_path: Path, server: LocalServer, ids: dict[str, int]
) -> None:
    route_images(server, image_urls(db))
    with TestClient(create_app(str(db), make_config(tmp_path))) as client:
        src = proxied_url(client, ids["技术周刊第12期：界面设计"])
        first = client.get(src)
        assert first.status_code == 200 and first.content == png()
        assert first.headers["content-type"] == "image/png"
        assert "cache-control" in first.headers
        assert "sandbox" in first.headers["content-security-policy"]
        assert client.get(src).content == png()
    upstream = parse_qs(urlsplit(src).query)["u"][0]
    path = urlsplit(upstream).path
    assert len(server.requests_to("mmbiz.qpic.cn", path)) == 1  # the second came from the disk cache
    cached = list((tmp_path / "jianbao.db-cache" / "images").rglob("*"))
    assert any(p.is_file() for p in cached)


def test_image_proxy_is_not_an_open_proxy(db: Path, tmp_path: Path, server: LocalServer, ids: dict[str, int]) -> None:
    config = make_config(tmp_path)
    article_id = ids["技术周刊第12期：界面设计"]
    signer = Signer(load_secret(tmp_path))
    with TestClient(create_app(str(db), config)) as client:
        src = proxied_url(client, article_id)
        query = parse_qs(urlsplit(src).query)
        url = query["u"][0]
        # a changed URL, a changed id, a missing or forged signature
        assert client.get("/img", params={"a": article_id, "u": url + "x", "s": query["s"][0]}).status_code == 403
        assert client.get("/img", params={"a": article_id + 1, "u": url, "s": query["s"][0]}).status_code == 403
        assert client.get("/img", params={"a": article_id, "u": url}).status_code == 403
        assert client.get("/img", params={"a": "x", "u": url, "s": "abc"}).status_code == 400
        # correctly signed, but not an image of that article (the secret leaked, say)
        evil = "https://mmbiz.qpic.cn/not-in-any-article.png"
        response = client.get("/img", params={"a": article_id, "u": evil, "s": signer.sign(article_id, evil)})
        assert response.status_code == 403
    assert not server.requests_to("mmbiz.qpic.cn")


def store_image_article(db: Path, image: str) -> int:
    with Store(db) as store:
        saved = store.save_article(
            Article(
                url=f"https://mp.weixin.qq.com/s/img-{abs(hash(image))}",
                source="wechat",
                kind="article",
                title="图片测试",
                body=f"图片测试正文 {image}\n\n![图]({image})",
                images=(image,),
                published=datetime(2025, 1, 1, tzinfo=SHANGHAI),
            )
        )
    return saved.id


def fetch_image(client: TestClient, signer: Signer, article_id: int, url: str) -> httpx.Response:
    return client.get("/img", params={"a": article_id, "u": url, "s": signer.sign(article_id, url)})


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (Reply(200, b"<html>not an image</html>", {"Content-Type": "text/html"}), "not an image"),
        (Reply(200, b"\x89PNG\r\n\x1a\n<html>", {"Content-Type": "text/html"}), "not an image"),
        (Reply(200, b"plain bytes", {"Content-Type": "application/octet-stream"}), "not an image"),
        (Reply(200, b"x" * 300_000, {"Content-Type": "image/jpeg"}), "max_bytes"),
        (Reply.redirect("javascript:alert(1)"), "non-http"),
        (Reply.redirect("http://127.0.0.1:9/secret.png"), "not a public address"),
        (Reply.redirect("http://10.1.2.3/secret.png"), "not a public address"),
        (Reply.redirect("http://[::1]/secret.png"), "not a public address"),
        (Reply.redirect("http://2130706433/secret.png"), "not a public address"),
        (Reply.redirect("http://localhost/secret.png"), "local name"),
    ],
)
def test_image_proxy_refuses_what_is_not_a_public_image(
    db: Path, tmp_path: Path, server: LocalServer, reply: Reply, why: str
) -> None:
    url = "https://mmbiz.qpic.cn/mmbiz_png/refuse/640?wx_fmt=png"
    article_id = store_image_article(db, url)
    server.route("mmbiz.qpic.cn", "/mmbiz_png/refuse/640?wx_fmt=png", reply)
    signer = Signer(load_secret(tmp_path))
    with TestClient(create_app(str(db), make_config(tmp_path))) as client:
        response = fetch_image(client, signer, article_id, url)
    assert response.status_code == 502
    assert why in response.text
    assert "Traceback" not in response.text
    # nothing but the CDN was asked, and nothing was cached
    assert {r.host for r in server.requests} == {"mmbiz.qpic.cn"}
    folder = tmp_path / "jianbao.db-cache" / "images"
    assert not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))


@pytest.mark.parametrize("image", ["http://127.0.0.1/x.png", "http://192.168.1.1/x.png", "http://localhost/x.png"])
def test_image_proxy_never_requests_private_addresses_even_when_stored(
    db: Path, tmp_path: Path, server: LocalServer, image: str
) -> None:
    article_id = store_image_article(db, image)
    signer = Signer(load_secret(tmp_path))
    with TestClient(create_app(str(db), make_config(tmp_path))) as client:
        response = fetch_image(client, signer, article_id, image)
    assert response.status_code == 502
    assert not server.requests


def test_without_a_proxy_names_are_resolved_and_private_answers_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    config = make_config(tmp_path)
    answers = {"internal.example": "10.0.0.7", "rebound.example": "::ffff:127.0.0.1", "cdn.example": "93.184.215.14"}

    async def getaddrinfo(self: Any, host: str, port: Any, **kwargs: Any) -> list[Any]:
        return [(0, 0, 0, "", (answers[host], port))]

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", getaddrinfo)

    async def check(url: str) -> None:
        await check_target(httpx.URL(url), config)

    for refused in ("http://internal.example/a.png", "https://rebound.example/a.png"):
        with pytest.raises(ImageRefused, match="not a public address"):
            asyncio.run(check(refused))
    with pytest.raises(ImageRefused, match="not a public address"):
        asyncio.run(check("http://169.254.169.254/latest/meta-data"))
    asyncio.run(check("https://cdn.example/a.png"))


def test_an_image_url_markdown_would_encode_is_signed_and_fetched_as_stored(
    db: Path, tmp_path: Path, server: LocalServer
) -> None:
    url = "https://mmbiz.qpic.cn/mmbiz_png/图片|x/640?wx_fmt=png"
    article_id = store_image_article(db, url)
    server.route(
        "mmbiz.qpic.cn",
        "/mmbiz_png/%E5%9B%BE%E7%89%87|x/640?wx_fmt=png",  # as httpx sends it
        Reply(200, png(), {"Content-Type": "image/png"}),
    )
    with TestClient(create_app(str(db), make_config(tmp_path))) as client:
        (src,) = img_srcs(client.get(f"/a/{article_id}").text)
        assert parse_qs(urlsplit(src).query)["u"] == [url]
        assert client.get(src).status_code == 200


def test_an_unlabelled_image_is_served_with_its_sniffed_type(db: Path, tmp_path: Path, server: LocalServer) -> None:
    url = "https://mmbiz.qpic.cn/mmbiz_png/octet/640"
    article_id = store_image_article(db, url)
    server.route(
        "mmbiz.qpic.cn", "/mmbiz_png/octet/640", Reply(200, png(), {"Content-Type": "application/octet-stream"})
    )
    with TestClient(create_app(str(db), make_config(tmp_path))) as client:
        response = fetch_image(client, Signer(load_secret(tmp_path)), article_id, url)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"


def test_exported_images_are_served_from_disk_first(
    db: Path, tmp_path: Path, server: LocalServer, ids: dict[str, int]
) -> None:
    from ingest.export import file_stem, image_file_name

    with Store(db) as store:
        article = store.get_article(ids["技术周刊第12期：界面设计"]).article
    export = tmp_path / "site"
    url = article.images[0]
    folder = export / file_stem(article)
    folder.mkdir(parents=True)
    (folder / image_file_name(url, "image/png")).write_bytes(png(5, 5))
    signer = Signer(load_secret(tmp_path))
    with TestClient(create_app(str(db), make_config(tmp_path, export_dir="site"))) as client:
        response = fetch_image(client, signer, ids["技术周刊第12期：界面设计"], url)
    assert response.status_code == 200 and response.content == png(5, 5)
    assert not server.requests


def test_disk_cache_evicts_least_recently_used(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "c", cap_bytes=3000)
    blob = CachedImage("image/png", "max-age=1", b"x" * 900)
    for n, url in enumerate(("a", "b", "c")):
        cache.put(url, blob)
        os.utime(cache._path(url), (1000 + n, 1000 + n))
    assert cache.get("a") is not None  # now the most recently used
    cache.put("d", blob)  # over the cap: evict down to 90%
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("d") is not None
    assert cache.size() <= 3000


def test_secret_lives_beside_config_with_private_mode(tmp_path: Path) -> None:
    first = load_secret(tmp_path)
    assert (tmp_path / "serve.secret").stat().st_mode & 0o777 == 0o600
    assert load_secret(tmp_path) == first
    assert Signer(first).sign(1, "https://x") != Signer(b"another-secret-of-enough-length-000").sign(1, "https://x")


# -- read-only, concurrency, CLI -----------------------------------------------------------------------


def test_serve_never_writes_and_reads_while_a_writer_writes(db: Path, tmp_path: Path) -> None:
    app = create_app(str(db), make_config(tmp_path))
    state = app.state.jianbao
    with state.readers.store() as store, pytest.raises(sqlite3.OperationalError, match="readonly"):
        store.db.conn.execute("DELETE FROM articles")
    stop = threading.Event()
    written: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with Store(db) as store:
                n = 0
                while not stop.is_set() and n < 60:
                    with store.transaction():
                        saved = store.save_article(
                            Article(
                                url=f"https://news.qq.com/rain/a/20990101A{n:07d}",
                                source="qq",
                                kind="article",
                                title=f"并发写入第{n}篇",
                                # distinct text, or the duplicate detector folds them into one story
                                body="".join(random.Random(n).choices(COMMON_HAN, k=120)),
                                account="并发号",
                                article_id=f"20990101A{n:07d}",
                                published=datetime(2026, 2, 1, tzinfo=SHANGHAI),
                            )
                        )
                    written.append(saved.id)
                    n += 1
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=writer)
    with TestClient(app) as client:
        thread.start()
        try:
            for _ in range(12):
                assert client.get("/feed.atom?account=并发号").status_code == 200
                assert client.get("/").status_code == 200
                assert client.get("/search", params={"q": "并发"}).status_code == 200
        finally:
            stop.set()
            thread.join()
        assert not errors
        final = feedparser.parse(client.get("/feed.atom?account=并发号&limit=500").content)
        assert len(final.entries) == len(written) > 0


def test_cli_serve_refuses_a_missing_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "none.db"), "serve"])
    assert result.exit_code == 1
    assert "none.db" in result.output and "no database" in result.output
    assert not (tmp_path / "none.db").exists()
    bad = CliRunner().invoke(cli, ["--db", str(tmp_path / "none.db"), "serve", "--base-url", "ftp://x"])
    assert bad.exit_code == 2


def test_a_database_that_needs_a_migration_is_named_not_migrated(db: Path, tmp_path: Path) -> None:
    from storage import SCHEMA_VERSION, StorageError

    con = sqlite3.connect(db)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    con.close()
    with pytest.raises(StorageError, match=r"older than this jianbao.*jianbao crawl"):
        create_app(str(db), make_config(tmp_path))
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION - 1
    con.close()
