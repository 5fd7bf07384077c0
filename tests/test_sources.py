"""ingest.sources: discovery per source kind, against a fake fetcher serving fixtures/sources/."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.config import SourceConfig, build_config
from ingest.errors import ConfigError, PermanentFetchError
from ingest.fetch import Fetcher
from ingest.seen import SeenURLs
from ingest.sources import QQ_CHANNEL_URL, QQ_HOT_URL, album_api_url, discover, qq_channel_body
from parsers.article import SHANGHAI
from parsers.errors import ParseError
from parsers.listings import AlbumCursor, Entry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
BIZ = "MzI0NTk5MDAwMQ=="
ALBUM_URL = f"https://mp.weixin.qq.com/mp/appmsgalbum?__biz={BIZ}&action=getalbum&album_id=1234567890123456789"
ALBUM_API = "https://mp.weixin.qq.com/mp/appmsgalbum?action=getalbum&__biz=MzI0NTk5MDAwMQ==&album_id=1234567890123456789&count=10"
ALBUM_PAGE2 = ALBUM_API + "&begin_msgid=2650001002&begin_itemidx=1&is_reverse=1&f=json"
ALBUM_PAGE3 = ALBUM_API + "&begin_msgid=2650000980&begin_itemidx=3&is_reverse=1&f=json"


def wechat(mid: str, idx: str, sn: str) -> str:
    return f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={mid}&idx={idx}&sn={sn}"


ALBUM_ALL = [
    wechat("2650001003", "1", "aaaa0000aaaa0000aaaa0000aaaa0003"),
    wechat("2650001002", "2", "aaaa0000aaaa0000aaaa0000aaaa0022"),
    wechat("2650001002", "1", "aaaa0000aaaa0000aaaa0000aaaa0021"),
    wechat("2650000990", "1", "bbbb0000bbbb0000bbbb0000bbbb0990"),
    wechat("2650000985", "1", "bbbb0000bbbb0000bbbb0000bbbb0985"),
    wechat("2650000980", "3", "bbbb0000bbbb0000bbbb0000bbbb0980"),
    wechat("2650000970", "1", "cccc0000cccc0000cccc0000cccc0970"),
]


@dataclass(frozen=True)
class FakePage:
    url: str
    final_url: str
    status: int
    headers: Mapping[str, str]
    content: bytes


@dataclass
class Call:
    url: str
    method: str
    json: Any
    headers: Mapping[str, str] | None
    referer: str | None


Route = bytes | Exception | Callable[[Call], bytes]


@dataclass
class FakeFetcher:
    """Serves fixture bytes by URL and records every request, like the real Fetcher's interface."""

    routes: dict[str, Route]
    calls: list[Call] = field(default_factory=list)

    async def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        referer: str | None = None,
    ) -> FakePage:
        call = Call(url, method, json, headers, referer)
        self.calls.append(call)
        route = self.routes.get(url)
        if route is None:
            raise PermanentFetchError("not found", url=url, status=404)
        if isinstance(route, Exception):
            raise route
        body = route(call) if callable(route) else route
        return FakePage(url=url, final_url=url, status=200, headers={}, content=body)

    @property
    def urls(self) -> list[str]:
        return [c.url for c in self.calls]


class Store:
    """Stands in for the store's check: what it holds is not new; records what it was asked."""

    def __init__(self, stored: set[str] | None = None) -> None:
        self.stored = stored or set()
        self.asked: list[list[str]] = []

    def __call__(self, urls: set[str]) -> set[str]:
        self.asked.append(sorted(urls))
        return {u for u in urls if u in self.stored}


def fx(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def run(
    source: SourceConfig,
    fetcher: Any,
    *,
    is_new: Callable[[set[str]], set[str]] | None = None,
    base_dir: Path = FIXTURES,
) -> list[Entry]:
    async def collect() -> list[Entry]:
        seen = SeenURLs(is_new)
        return [e async for e in discover(source, fetcher, seen=seen, base_dir=base_dir)]

    return asyncio.run(collect())


def urls(entries: list[Entry]) -> list[str]:
    return [e.url for e in entries]


# --- feed ------------------------------------------------------------------------------------------

FEED = "https://example.org/feeds/atom.xml"
FEED_PAGE2 = "https://example.org/feeds/atom-page2.xml"


def feed_fetcher() -> FakeFetcher:
    return FakeFetcher({FEED: fx("atom.xml"), FEED_PAGE2: fx("atom-page2.xml")})


def test_feed_follows_next_page_and_dedups_within_the_run() -> None:
    fetcher = feed_fetcher()
    entries = run(SourceConfig(name="blog", kind="feed", url=FEED), fetcher)
    assert fetcher.urls == [FEED, FEED_PAGE2]
    # a/2 is on both pages: listed once
    assert urls(entries) == [
        "https://example.org/a/1",
        "https://example.org/a/2",
        "https://example.org/a/3",
        "https://example.org/a/0",
    ]
    assert entries[0].title == "Atom 第一篇"


def test_feed_stops_on_a_page_with_nothing_new() -> None:
    fetcher = feed_fetcher()
    store = Store({f"https://example.org/a/{n}" for n in (1, 2, 3)})
    entries = run(SourceConfig(name="blog", kind="feed", url=FEED), fetcher, is_new=store)
    assert entries == []
    assert fetcher.urls == [FEED]  # page 2 never asked for
    assert store.asked == [["https://example.org/a/1", "https://example.org/a/2", "https://example.org/a/3"]]


def test_feed_yields_only_new_and_asks_only_about_unseen() -> None:
    fetcher = feed_fetcher()
    store = Store({"https://example.org/a/1", "https://example.org/a/0"})
    entries = run(SourceConfig(name="blog", kind="feed", url=FEED), fetcher, is_new=store)
    assert urls(entries) == ["https://example.org/a/2", "https://example.org/a/3"]
    assert fetcher.urls == [FEED, FEED_PAGE2]
    # page 2's a/2 was already listed this run: the store is asked only about a/0, which it holds
    assert store.asked[1] == ["https://example.org/a/0"]


def test_feed_max_pages() -> None:
    fetcher = feed_fetcher()
    entries = run(SourceConfig(name="blog", kind="feed", url=FEED, max_pages=1), fetcher)
    assert fetcher.urls == [FEED]
    assert len(entries) == 3


def test_rss_entries_come_out_canonical_and_once() -> None:
    fetcher = FakeFetcher({"https://example.com/feed.xml": fx("rss2.xml")})
    entries = run(SourceConfig(name="rss", kind="feed", url="https://example.com/feed.xml"), fetcher)
    # `ref=` is tracking: canonical_url drops it, the repeated first item is listed once
    assert urls(entries) == [
        "https://example.com/posts/1?lang=zh",
        "https://example.com/posts/2",
        "https://example.com/posts/3",
    ]
    assert entries[0].published is not None and entries[0].published.utcoffset() is not None


# --- wechat-album ----------------------------------------------------------------------------------


def album_fetcher() -> FakeFetcher:
    return FakeFetcher(
        {ALBUM_URL: fx("album.html"), ALBUM_PAGE2: fx("album-page2.json"), ALBUM_PAGE3: fx("album-last.json")}
    )


def test_album_pages_from_html_through_json_to_the_end() -> None:
    fetcher = album_fetcher()
    entries = run(SourceConfig(name="album", kind="wechat-album", url=ALBUM_URL), fetcher)
    assert fetcher.urls == [ALBUM_URL, ALBUM_PAGE2, ALBUM_PAGE3]  # continue_flag "0" on the third
    assert urls(entries) == ALBUM_ALL
    assert [e.title for e in entries][:2] == ["第三篇：春", "第二篇 & 夏"]
    assert entries[-1].published is not None and entries[-1].published.tzinfo is SHANGHAI
    # the JSON continuation is an XHR from the album page
    assert fetcher.calls[1].referer == ALBUM_URL
    assert fetcher.calls[1].method == "GET"


def test_album_stops_when_a_page_brings_nothing_new() -> None:
    fetcher = album_fetcher()
    store = Store(set(ALBUM_ALL[3:6]))
    entries = run(SourceConfig(name="album", kind="wechat-album", url=ALBUM_URL), fetcher, is_new=store)
    assert urls(entries) == ALBUM_ALL[:3]
    assert fetcher.urls == [ALBUM_URL, ALBUM_PAGE2]


def test_album_max_pages() -> None:
    fetcher = album_fetcher()
    entries = run(SourceConfig(name="album", kind="wechat-album", url=ALBUM_URL, max_pages=2), fetcher)
    assert fetcher.urls == [ALBUM_URL, ALBUM_PAGE2]
    assert urls(entries) == ALBUM_ALL[:6]


def test_album_api_url_from_a_cursor() -> None:
    cursor = AlbumCursor(biz=BIZ, album_id="42", begin_msgid="7", begin_itemidx="2", count=10)
    assert album_api_url(cursor) == (
        "https://mp.weixin.qq.com/mp/appmsgalbum?action=getalbum&__biz=MzI0NTk5MDAwMQ==&album_id=42"
        "&count=10&begin_msgid=7&begin_itemidx=2&f=json"
    )


def test_album_json_error_names_the_request() -> None:
    fetcher = FakeFetcher({ALBUM_URL: fx("album.html"), ALBUM_PAGE2: b'{"base_resp":{"ret":-3}}'})
    with pytest.raises(ParseError) as err:
        run(SourceConfig(name="album", kind="wechat-album", url=ALBUM_URL), fetcher)
    assert err.value.url == ALBUM_PAGE2


# --- qq-channel ------------------------------------------------------------------------------------


def qq_channel_fetcher(pages: dict[int, bytes]) -> FakeFetcher:
    def answer(call: Call) -> bytes:
        return pages[call.json["flush_num"]]

    return FakeFetcher({QQ_CHANNEL_URL: answer})


def test_qq_channel_posts_paged_bodies_until_nothing_new() -> None:
    # page 3 repeats page 2: everything on it was listed already this run
    fetcher = qq_channel_fetcher({1: fx("qq-channel-1.json"), 2: fx("qq-channel-2.json"), 3: fx("qq-channel-2.json")})
    source = SourceConfig(name="tech", kind="qq-channel", channel="news_news_tech")
    entries = run(source, fetcher)
    assert [c.method for c in fetcher.calls] == ["POST", "POST", "POST"]
    assert [c.json for c in fetcher.calls] == [
        {"base_req": {"from": "pc"}, "forward": "2", "channel_id": "news_news_tech", "flush_num": 1, "item_count": 20},
        {"base_req": {"from": "pc"}, "forward": "1", "channel_id": "news_news_tech", "flush_num": 2, "item_count": 20},
        {"base_req": {"from": "pc"}, "forward": "1", "channel_id": "news_news_tech", "flush_num": 3, "item_count": 20},
    ]
    assert all(c.referer == "https://news.qq.com/" for c in fetcher.calls)
    # new.qq.com/rain/a/…?from=pc on page 2 is the same article as page 1's last: listed once
    assert urls(entries) == [
        "https://news.qq.com/rain/a/20250301A01AAA00",
        "https://news.qq.com/rain/a/20250301A02BBB00",
        "https://news.qq.com/rain/a/20250301V03CCC00",
        "https://news.qq.com/rain/a/20250228A09DDD00",
        "https://news.qq.com/rain/a/20250228A08EEE00",
    ]


def test_qq_channel_max_pages_and_store() -> None:
    fetcher = qq_channel_fetcher({1: fx("qq-channel-1.json"), 2: fx("qq-channel-2.json")})
    store = Store({"https://news.qq.com/rain/a/20250301A01AAA00"})
    source = SourceConfig(name="tech", kind="qq-channel", channel="news_news_tech", max_pages=1)
    entries = run(source, fetcher, is_new=store)
    assert len(fetcher.calls) == 1
    assert urls(entries) == [
        "https://news.qq.com/rain/a/20250301A02BBB00",
        "https://news.qq.com/rain/a/20250301V03CCC00",
        "https://news.qq.com/rain/a/20250228A09DDD00",
    ]


def test_qq_channel_empty_page_ends_paging() -> None:
    fetcher = qq_channel_fetcher({1: fx("qq-channel-1.json"), 2: b'{"code":0,"data":[]}'})
    entries = run(SourceConfig(name="tech", kind="qq-channel", channel="news_news_tech"), fetcher)
    assert len(fetcher.calls) == 2
    assert len(entries) == 4


def test_qq_channel_error_answer_names_the_endpoint_and_channel() -> None:
    fetcher = qq_channel_fetcher({1: b'{"code":-1,"msg":"bad channel"}'})
    with pytest.raises(ParseError) as err:
        run(SourceConfig(name="x", kind="qq-channel", channel="news_news_nope"), fetcher)
    assert err.value.url == QQ_CHANNEL_URL
    assert "news_news_nope" in str(err.value)


def test_qq_channel_body() -> None:
    assert qq_channel_body("news_news_top", 1)["forward"] == "2"
    assert qq_channel_body("news_news_top", 4) == {
        "base_req": {"from": "pc"},
        "forward": "1",
        "channel_id": "news_news_top",
        "flush_num": 4,
        "item_count": 20,
    }


# --- qq-hot ----------------------------------------------------------------------------------------


def test_qq_hot_one_page() -> None:
    fetcher = FakeFetcher({QQ_HOT_URL: fx("qq-hot.json")})
    store = Store({"https://news.qq.com/rain/a/20250301V07HHH00"})
    entries = run(SourceConfig(name="hot", kind="qq-hot"), fetcher, is_new=store)
    assert fetcher.urls == [QQ_HOT_URL]
    # view.inews.qq.com/a/{id} comes out canonical
    assert urls(entries) == [
        "https://news.qq.com/rain/a/20250301A05FFF00",
        "https://news.qq.com/rain/a/20250301A06GGG00",
    ]


# --- sitemap ---------------------------------------------------------------------------------------

INDEX = "https://example.com/sitemap.xml"
CHILDREN = [f"https://example.com/sitemap/2025-0{n}.xml" for n in (3, 2, 1)]
URLSET_ALL = [
    "https://news.qq.com/rain/a/20250301A01AAA00",
    "https://news.qq.com/rain/a/20250228A08EEE00",
    "https://example.com/list?page=2&sort=new",
]


def sitemap_fetcher() -> FakeFetcher:
    # every child serves the same urlset: the second brings nothing new within the run
    return FakeFetcher({INDEX: fx("sitemap-index.xml"), **{c: fx("urlset.xml") for c in CHILDREN}})


def test_sitemap_index_reads_children_freshest_first_until_nothing_new() -> None:
    fetcher = sitemap_fetcher()
    entries = run(SourceConfig(name="map", kind="sitemap", url=INDEX), fetcher)
    assert fetcher.urls == [INDEX, CHILDREN[0], CHILDREN[1]]
    assert urls(entries) == URLSET_ALL
    assert entries[0].title == "两会首日速览"


def test_sitemap_max_pages_counts_every_sitemap() -> None:
    fetcher = sitemap_fetcher()
    run(SourceConfig(name="map", kind="sitemap", url=INDEX, max_pages=2), fetcher)
    assert fetcher.urls == [INDEX, CHILDREN[0]]


def test_a_dead_or_garbled_child_sitemap_is_skipped_and_reported_its_siblings_still_read() -> None:
    # CHILDREN[0] garbled, CHILDREN[1] missing (404), CHILDREN[2] fine
    fetcher = FakeFetcher(
        {INDEX: fx("sitemap-index.xml"), CHILDREN[0]: b"<html>oops</html>", CHILDREN[2]: fx("urlset.xml")}
    )
    skipped: list[tuple[str, str]] = []

    async def collect() -> list[Entry]:
        seen = SeenURLs(on_unusable=lambda url, why: skipped.append((url, why)))
        source = SourceConfig(name="map", kind="sitemap", url=INDEX)
        return [e async for e in discover(source, fetcher, seen=seen, base_dir=FIXTURES)]

    entries = asyncio.run(collect())
    assert urls(entries) == URLSET_ALL
    assert [u for u, _ in skipped] == CHILDREN[:2]
    assert all(why.startswith("child listing skipped: ") for _, why in skipped)


def test_the_listing_itself_failing_fails_the_source() -> None:
    with pytest.raises(ParseError) as err:
        run(SourceConfig(name="map", kind="sitemap", url=INDEX), FakeFetcher({INDEX: b"<html>oops</html>"}))
    assert err.value.url == INDEX


# --- urls ------------------------------------------------------------------------------------------


def test_url_list_relative_to_base_dir(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    shutil.copy(FIXTURES / "urls.txt", tmp_path / "lists" / "mine.txt")
    fetcher = FakeFetcher({})
    store = Store({"https://example.com/posts/9"})
    source = SourceConfig(name="mine", kind="urls", path="lists/mine.txt")
    entries = run(source, fetcher, is_new=store, base_dir=tmp_path)
    assert fetcher.calls == []  # nothing fetched to discover a local list
    assert urls(entries) == [
        "https://news.qq.com/rain/a/20250301A01AAA00",
        "https://mp.weixin.qq.com/s/AbCdEfGhIjKlMnOpQrStUv",
        "https://example.com/posts/10",  # canonical: the fragment goes
    ]


def test_missing_url_list_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    source = SourceConfig(name="mine", kind="urls", path="nope/urls.txt")
    with pytest.raises(ConfigError) as err:
        run(source, FakeFetcher({}), base_dir=tmp_path)
    assert err.value.url == str(tmp_path / "nope" / "urls.txt")
    assert "nope/urls.txt" in str(err.value)


def test_bad_line_in_url_list_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "u.txt").write_text("https://example.com/1\nftp://example.com/2\n", encoding="utf-8")
    with pytest.raises(ParseError, match="line 2") as err:
        run(SourceConfig(name="u", kind="urls", path="u.txt"), FakeFetcher({}), base_dir=tmp_path)
    assert err.value.url == str(tmp_path / "u.txt")


# --- errors ----------------------------------------------------------------------------------------


def test_fetch_error_of_a_listing_propagates() -> None:
    boom = PermanentFetchError("gone", url=FEED, status=410)
    with pytest.raises(PermanentFetchError) as err:
        run(SourceConfig(name="blog", kind="feed", url=FEED), FakeFetcher({FEED: boom}))
    assert err.value.url == FEED


def test_unparsable_feed_names_the_feed() -> None:
    with pytest.raises(ParseError) as err:
        run(SourceConfig(name="blog", kind="feed", url=FEED), FakeFetcher({FEED: b"<html>moved</html>"}))
    assert err.value.url == FEED


def test_unknown_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        run(SourceConfig(name="x", kind="gopher", url="https://example.com/"), FakeFetcher({}))


# --- with the real Fetcher over a mock transport ---------------------------------------------------


def test_discover_through_the_real_fetcher_posts_json() -> None:
    seen_bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == QQ_CHANNEL_URL
        assert request.method == "POST"
        body = json.loads(request.content)
        seen_bodies.append(body)
        page = fx("qq-channel-1.json") if body["flush_num"] == 1 else b'{"code":0,"data":[]}'
        return httpx.Response(200, content=page, headers={"content-type": "application/json"})

    async def no_sleep(_seconds: float) -> None:
        return None

    async def main() -> list[Entry]:
        async with Fetcher(build_config({}), transport=httpx.MockTransport(handler), sleep=no_sleep) as fetcher:
            source = SourceConfig(name="tech", kind="qq-channel", channel="news_news_tech")
            return [e async for e in discover(source, fetcher, seen=SeenURLs(), base_dir=FIXTURES)]

    entries = asyncio.run(main())
    assert [b["flush_num"] for b in seen_bodies] == [1, 2]
    assert seen_bodies[0]["channel_id"] == "news_news_tech"
    assert len(entries) == 4
