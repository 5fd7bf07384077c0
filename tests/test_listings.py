"""parsers.listings: every listing kind on small fixtures of its structure, then on the real corpus."""

from __future__ import annotations

import gzip
import html
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from parsers.article import SHANGHAI
from parsers.errors import ParseError
from parsers.feedentry import parse_feed_entry
from parsers.listings import (
    AlbumCursor,
    Entry,
    Listing,
    NextURL,
    PageNumber,
    looks_full,
    parse_album,
    parse_feed,
    parse_qq_channel,
    parse_qq_hot,
    parse_sitemap,
    parse_time,
    parse_url_list,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "sources"
CORPUS = ROOT.parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")

BIZ = "MzI0NTk5MDAwMQ=="
ALBUM_URL = (
    f"https://mp.weixin.qq.com/mp/appmsgalbum?__biz={BIZ}&action=getalbum"
    "&album_id=1234567890123456789&scene=1#wechat_redirect"
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def urls(listing: Listing) -> list[str]:
    return [e.url for e in listing.entries]


# --- feeds -----------------------------------------------------------------------------------------


def test_rss2_links_titles_times() -> None:
    listing = parse_feed(fixture("rss2.xml"), "https://example.com/feed.xml")
    assert urls(listing) == [
        "https://example.com/posts/1?ref=rss&lang=zh",  # &amp; decoded once, by XML
        "https://example.com/posts/2",  # relative link resolved against the feed
        "https://example.com/posts/3",  # permalink guid
    ]  # the non-permalink guid and the javascript: link are dropped, the repeat listed once
    first, second, third = listing.entries
    assert first.title == "第一条：东八区时间"
    assert first.published == sh(2025, 3, 1, 9, 30)
    assert first.published.utcoffset() == timedelta(hours=8)
    assert second.published == datetime(2025, 2, 28, 16, 0, tzinfo=UTC)
    # dc:date without an offset is Shanghai wall time
    assert third.published == sh(2025, 2, 27, 8, 0)
    assert third.published.tzinfo is SHANGHAI
    assert listing.next is None


def test_rss_accepts_text_input_and_gbk_bytes() -> None:
    doc = (
        '<?xml version="1.0" encoding="gb2312"?>'
        "<rss version='2.0'><channel><title>t</title>"
        "<item><title>国内新闻</title><link>https://example.com/gbk/1</link>"
        "<pubDate>Sat, 01 Mar 2025 09:30:00 +0800</pubDate></item></channel></rss>"
    )
    from_bytes = parse_feed(doc.encode("gb2312"), "https://example.com/rss")
    from_text = parse_feed(doc, "https://example.com/rss")
    assert from_bytes == from_text
    assert from_bytes.entries == (
        Entry(url="https://example.com/gbk/1", title="国内新闻", published=sh(2025, 3, 1, 9, 30), feed_title="t"),
    )


def test_atom_alternate_links_and_next_page() -> None:
    listing = parse_feed(fixture("atom.xml"), "https://example.org/feeds/atom.xml")
    assert urls(listing) == ["https://example.org/a/1", "https://example.org/a/2", "https://example.org/a/3"]
    one, two, three = listing.entries
    assert one.title == "Atom 第一篇"
    assert one.published == datetime(2025, 3, 1, 1, 0, tzinfo=UTC)  # published wins over updated
    assert two.title == "Atom 第二篇 & 更多"
    assert two.published == sh(2025, 2, 28, 20, 15)
    assert three.published == sh(2025, 2, 27, 10, 0)
    # rel="next" is relative to the feed's own URL
    assert listing.next == NextURL("https://example.org/feeds/atom-page2.xml")


def test_json_feed_items_and_next_url() -> None:
    listing = parse_feed(fixture("feed.json"), "https://example.net/feed.json")
    assert urls(listing) == ["https://example.net/p/1", "https://example.net/p/2", "https://example.net/p/3"]
    assert [e.title for e in listing.entries] == ["JSON 第一篇", "只有 id 的条目", None]
    assert listing.entries[0].published == sh(2025, 3, 1, 9, 0)
    assert listing.entries[1].published == datetime(2025, 2, 28, 23, 59, 59, tzinfo=UTC)
    assert listing.entries[2].published is None
    assert listing.next == NextURL("https://example.net/feed.json?page=2")


def test_rss_1_0_rdf_items() -> None:
    doc = (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<channel rdf:about="https://example.com/"><title>t</title></channel>'
        '<item rdf:about="https://example.com/r/1"><title>RDF 条目</title><link>https://example.com/r/1</link>'
        "<dc:date>2025-03-01T09:00:00+08:00</dc:date></item></rdf:RDF>"
    )
    listing = parse_feed(doc, "https://example.com/index.rdf")
    assert listing.entries == (Entry("https://example.com/r/1", "RDF 条目", sh(2025, 3, 1, 9, 0), feed_title="t"),)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01",
        b"<html><body>not a feed</body></html>",
        b"<rss><channel><item><title>cut",
        b'{"version": "https://jsonfeed.org/version/1.1", "items": "nope"}',
        b"{not json",
        b"just some words",
    ],
)
def test_feed_garbage_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError) as err:
        parse_feed(data, "https://example.com/feed")
    assert err.value.url == "https://example.com/feed"


def test_xml_with_entity_declarations_is_refused() -> None:
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        "<rss><channel><item><title>&lol2;</title><link>https://e.com/1</link></item></channel></rss>"
    )
    external = (
        '<!-- hi --><!doctype rss SYSTEM "file:///etc/passwd">'
        "<rss><channel><item><link>https://e.com/1</link></item></channel></rss>"
    )
    for doc in (laughs, external, laughs.encode()):
        with pytest.raises(ParseError, match="DTD"):
            parse_feed(doc, "https://example.com/feed")
    with pytest.raises(ParseError, match="DTD"):
        parse_sitemap(external.replace("rss", "urlset"), "https://example.com/sitemap.xml")


# --- WeChat albums ---------------------------------------------------------------------------------


def test_album_html_first_screen() -> None:
    listing = parse_album(fixture("album.html"), ALBUM_URL)
    assert urls(listing) == [
        f"http://mp.weixin.qq.com/s?__biz={BIZ}&mid=2650001003&idx=1&sn=aaaa0000aaaa0000aaaa0000aaaa0003"
        "&chksm=0123abcd#rd",
        f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2650001002&idx=2&sn=aaaa0000aaaa0000aaaa0000aaaa0022#rd",
        f"http://mp.weixin.qq.com/s?__biz={BIZ}&mid=2650001002&idx=1&sn=aaaa0000aaaa0000aaaa0000aaaa0021#rd",
    ]
    # data-title, entity-decoded; the title span when the attribute is missing
    assert [e.title for e in listing.entries] == ["第三篇：春", "第二篇 & 夏", "第一篇：秋"]
    assert [e.published for e in listing.entries] == [
        sh(2024, 6, 1, 8, 0),
        sh(2024, 5, 31, 8, 0),
        sh(2024, 5, 30, 8, 0),
    ]
    # continue from the LAST item, in the page's own order
    assert listing.next == AlbumCursor(
        biz=BIZ,
        album_id="1234567890123456789",
        begin_msgid="2650001002",
        begin_itemidx="1",
        count=10,
        is_reverse="1",
    )


def test_album_html_learns_ids_from_the_page_when_the_url_lacks_them() -> None:
    listing = parse_album(fixture("album.html"), "https://mp.weixin.qq.com/mp/appmsgalbum?action=getalbum")
    assert isinstance(listing.next, AlbumCursor)
    assert listing.next.biz == BIZ  # from the items' links
    assert listing.next.album_id == "1234567890123456789"  # from cgiData.albumId


def test_album_html_that_says_it_ends_has_no_cursor() -> None:
    html = fixture("album.html").replace(b"continue_flag: '1'", b"continue_flag: '0'")
    listing = parse_album(html, ALBUM_URL)
    assert len(listing.entries) == 3
    assert listing.next is None


def test_album_json_continuation() -> None:
    api = ALBUM_URL.split("#")[0] + "&begin_msgid=2650001002&begin_itemidx=1&count=10&is_reverse=1&f=json"
    listing = parse_album(fixture("album-page2.json"), api)
    assert urls(listing) == [
        f"http://mp.weixin.qq.com/s?__biz={BIZ}&mid=2650000990&idx=1&sn=bbbb0000bbbb0000bbbb0000bbbb0990"
        "&chksm=4567cdef#rd",
        # `&amp;amp;` decoded all the way
        f"http://mp.weixin.qq.com/s?__biz={BIZ}&mid=2650000985&idx=1&sn=bbbb0000bbbb0000bbbb0000bbbb0985#rd",
        f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2650000980&idx=3&sn=bbbb0000bbbb0000bbbb0000bbbb0980",
    ]
    assert [e.title for e in listing.entries] == ["第零篇：冬", "番外 & 附录", "序章"]
    assert listing.entries[2].published == sh(2024, 5, 27, 8, 0)
    assert listing.next == AlbumCursor(
        biz=BIZ,
        album_id="1234567890123456789",
        begin_msgid="2650000980",
        begin_itemidx="3",
        count=10,
        is_reverse="1",  # carried over from the request
    )


def test_album_json_last_page_with_a_lone_article_object() -> None:
    listing = parse_album(fixture("album-last.json"), ALBUM_URL)
    assert listing.entries == (
        Entry(
            url=f"http://mp.weixin.qq.com/s?__biz={BIZ}&mid=2650000970&idx=1&sn=cccc0000cccc0000cccc0000cccc0970#rd",
            title="楔子",
            published=sh(2024, 5, 26, 8, 0),
        ),
    )
    assert listing.next is None  # continue_flag "0"


def test_album_json_empty_answer_ends_the_album() -> None:
    doc = '{"base_resp":{"ret":0},"getalbum_resp":{"base_info":{"is_first_screen":"0"},"continue_flag":"0"}}'
    assert parse_album(doc, ALBUM_URL) == Listing(entries=())


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<html><body><div id='js_content'>an article, not an album</div></body></html>",
        b'{"base_resp":{"ret":-2}}',
        b'{"base_resp":{"ret":0}}',
        b'{"base_resp":{"ret":0},"getalbum_resp":{"article_list":"x"}}',
        b"[1, 2]",
        b"{truncated",
    ],
)
def test_album_garbage_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError) as err:
        parse_album(data, ALBUM_URL)
    assert err.value.url == ALBUM_URL


# --- qq.com ----------------------------------------------------------------------------------------


def test_qq_channel_expands_aggregate_cards() -> None:
    listing = parse_qq_channel(fixture("qq-channel-1.json"))
    assert urls(listing) == [
        "https://news.qq.com/rain/a/20250301A01AAA00",
        "https://news.qq.com/rain/a/20250301A02BBB00",  # from the 525 card's sub_item[]
        "https://news.qq.com/rain/a/20250301V03CCC00",  # protocol-relative made https
        "https://news.qq.com/rain/a/20250228A09DDD00",  # built from the id: no link_info
    ]
    assert "https://news.qq.com/topic/HOT2025030100001" not in urls(listing)  # the card itself
    assert [e.title for e in listing.entries] == ["两会首日速览", "各地春耕忙", "视频：无人机播种", "昨夜今晨要闻"]
    assert listing.entries[2].published == sh(2025, 3, 1, 7, 45, 10)
    assert listing.entries[3].published == sh(2025, 2, 28, 22, 10, 5)
    assert listing.next == PageNumber(2)


def test_qq_channel_next_counts_from_the_page_asked() -> None:
    listing = parse_qq_channel(fixture("qq-channel-2.json"), flush_num=2)
    assert urls(listing) == [
        "https://new.qq.com/rain/a/20250228A09DDD00?from=pc",
        "https://news.qq.com/rain/a/20250228A08EEE00",
    ]
    assert listing.next == PageNumber(3)
    assert parse_qq_channel('{"code":0,"data":[]}', flush_num=5) == Listing(entries=())


@pytest.mark.parametrize(
    "data",
    [b"", b"<html>", b'{"code":0}', b'{"code":-1,"msg":"channel not found","data":[]}', b"[]", b"\x00\x01\x02\x03"],
)
def test_qq_channel_garbage_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_qq_channel(data)


def test_qq_hot_skips_the_header_row() -> None:
    listing = parse_qq_hot(fixture("qq-hot.json"))
    assert urls(listing) == [
        "https://view.inews.qq.com/a/20250301A05FFF00",
        "https://news.qq.com/rain/a/20250301A06GGG00",  # no url: built from the id
        "https://news.qq.com/rain/a/20250301V07HHH00",
    ]
    assert not any("TIP" in u for u in urls(listing))
    assert listing.entries[0].title == "热点一：新规落地"
    assert listing.entries[0].published == sh(2025, 3, 1, 10, 0)
    assert listing.entries[1].published == sh(2025, 3, 1, 9, 0)  # unix timestamp 1740790800
    assert listing.next is None


@pytest.mark.parametrize("data", [b"", b'{"ret":0}', b'{"ret":0,"idlist":[]}', b'{"ret":1,"idlist":[{}]}', b"oops"])
def test_qq_hot_garbage_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_qq_hot(data)


# --- sitemaps --------------------------------------------------------------------------------------


def test_sitemap_index_children_freshest_first() -> None:
    listing = parse_sitemap(fixture("sitemap-index.xml"), "https://example.com/sitemap.xml")
    assert listing.entries == ()
    assert listing.children == (
        "https://example.com/sitemap/2025-03.xml",
        "https://example.com/sitemap/2025-02.xml",
        "https://example.com/sitemap/2025-01.xml",
    )


def test_sitemap_index_without_dates_keeps_document_order() -> None:
    doc = (
        "<sitemapindex><sitemap><loc>https://e.com/b.xml</loc></sitemap>"
        "<sitemap><loc>/a.xml</loc><lastmod>2025-01-01</lastmod></sitemap></sitemapindex>"
    )
    assert parse_sitemap(doc, "https://e.com/index.xml").children == ("https://e.com/b.xml", "https://e.com/a.xml")


def test_urlset_entries_news_title_and_dates() -> None:
    listing = parse_sitemap(fixture("urlset.xml"), "https://example.com/sitemap/2025-03.xml")
    assert listing.entries == (
        Entry("https://news.qq.com/rain/a/20250301A01AAA00", "两会首日速览", sh(2025, 3, 1, 9, 30)),
        Entry("https://news.qq.com/rain/a/20250228A08EEE00", None, sh(2025, 2, 28, 0, 0)),  # lastmod
        Entry("https://example.com/list?page=2&sort=new", None, None),
    )
    assert listing.children == ()


def test_gzipped_sitemap_is_inflated() -> None:
    listing = parse_sitemap(gzip.compress(fixture("urlset.xml")), "https://example.com/sitemap.xml.gz")
    assert len(listing.entries) == 3


@pytest.mark.parametrize(
    "data",
    [b"", b"<rss version='2.0'><channel/></rss>", b"<urlset><url><loc>x", b"\x1f\x8b\x08broken", b"plain"],
)
def test_sitemap_garbage_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError) as err:
        parse_sitemap(data, "https://example.com/sitemap.xml")
    assert err.value.url == "https://example.com/sitemap.xml"


# --- URL lists -------------------------------------------------------------------------------------


def test_url_list_lines_comments_and_blanks() -> None:
    listing = parse_url_list((FIXTURES / "urls.txt").read_text(encoding="utf-8"))
    assert urls(listing) == [
        "https://news.qq.com/rain/a/20250301A01AAA00",
        "https://mp.weixin.qq.com/s/AbCdEfGhIjKlMnOpQrStUv",
        "https://example.com/posts/9",
        "https://example.com/posts/10#section-2",  # a fragment is not a comment
    ]
    assert all(e.title is None and e.published is None for e in listing.entries)


def test_url_list_refuses_a_line_that_is_no_url() -> None:
    with pytest.raises(ParseError, match="line 3"):
        parse_url_list("https://example.com/1\n\nexample.com/2\n")
    assert parse_url_list("# nothing yet\n\n") == Listing(entries=())


# --- times -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1740794400, sh(2025, 3, 1, 10, 0)),
        ("1740794400", sh(2025, 3, 1, 10, 0)),
        ("1740794400000", sh(2025, 3, 1, 10, 0)),  # milliseconds
        ("2025-03-01 10:00:00", sh(2025, 3, 1, 10, 0)),
        ("2025-3-1 10:00", sh(2025, 3, 1, 10, 0)),
        ("2025-03-01T02:00:00Z", sh(2025, 3, 1, 10, 0)),
        ("Sat, 01 Mar 2025 02:00:00 GMT", sh(2025, 3, 1, 10, 0)),
        ("", None),
        ("昨天", None),
        (0, None),
        (None, None),
    ],
)
def test_parse_time(raw: object, expected: datetime | None) -> None:
    got = parse_time(raw)
    assert got == expected
    if got is not None:
        assert got.tzinfo is not None


# --- the real corpus -------------------------------------------------------------------------------


@needs_corpus
def test_corpus_album_page_first_screen() -> None:
    url = "https://mp.weixin.qq.com/mp/appmsgalbum?__biz=Mzg4NTc2OTYxMQ==&action=getalbum&album_id=3329839945947119618"
    listing = parse_album((CORPUS / "wechat" / "13-album-appmsgalbum-page.html").read_bytes(), url)
    assert len(listing.entries) == 10
    first, last = listing.entries[0], listing.entries[-1]
    assert first.title == "107 | 微型小说《贴地飞行》"
    assert "mid=2247484584&idx=1&sn=6d871ee60881c48d673de3f46e7550a1" in first.url
    assert "&amp;" not in first.url
    assert first.published == datetime.fromtimestamp(1772875800, SHANGHAI)
    assert all(e.url.startswith("http://mp.weixin.qq.com/s?__biz=Mzg4NTc2OTYxMQ==") for e in listing.entries)
    assert isinstance(listing.next, AlbumCursor)
    assert listing.next.begin_msgid == "2247484534" == last.url.split("mid=")[1].split("&")[0]
    assert listing.next.begin_itemidx == "1"
    assert listing.next.album_id == "3329839945947119618"
    assert listing.next.is_reverse == "1"


@needs_corpus
def test_corpus_album_api_json() -> None:
    url = "https://mp.weixin.qq.com/mp/appmsgalbum?action=getalbum&album_id=3329839945947119618&f=json"
    listing = parse_album((CORPUS / "wechat" / "21-api-appmsgalbum-getalbum.json").read_bytes(), url)
    assert len(listing.entries) == 16
    assert all(e.title and e.published for e in listing.entries)
    assert listing.entries[0].title == "微型小说《养鸡手册》"
    assert listing.entries[0].published == datetime.fromtimestamp(1719851776, SHANGHAI)
    assert listing.next is None  # continue_flag "0": the album's end


@needs_corpus
def test_corpus_qq_media_feed() -> None:
    listing = parse_qq_channel(
        (CORPUS / "qq" / "api" / "03-pacaio-media-feed-2019-01-23-reconstructed.json").read_bytes()
    )
    assert len(listing.entries) == 1
    entry = listing.entries[0]
    assert entry.url == "https://xw.qq.com/cmsid/20190123A17T7F/20190123A17T7F00"
    assert entry.title == "美国的“中俄威胁论”又来了 华春莹：敦促美放弃过时观念"
    assert entry.published == datetime.fromtimestamp(1548245695, SHANGHAI)


@needs_corpus
def test_corpus_qq_list_item_in_an_envelope() -> None:
    item = (CORPUS / "qq" / "api" / "01-trpc-kv_srv-list-item-2021-01-06.json").read_text(encoding="utf-8")
    listing = parse_qq_channel('{"code":0,"data":[' + item + "]}")
    assert listing.entries == (
        Entry(
            "https://new.qq.com/omn/20210106/20210106A07VTW00.html",
            "石景山区第十六届人民代表大会第七次会议召开第一次全体会议",
            sh(2021, 1, 6, 15, 17, 33),
        ),
    )


@needs_corpus
def test_corpus_qq_js_payload_is_not_a_listing() -> None:
    with pytest.raises(ParseError):
        parse_qq_channel((CORPUS / "qq" / "api" / "02-kuaibao-view-content-2017-video.js").read_bytes())


@needs_corpus
@pytest.mark.parametrize(
    "name",
    ["01-normal-2025-many-lazy-images.html", "07-deleted-by-author-zh.html", "11-verify-captcha-shell-2026.html"],
)
def test_corpus_wechat_pages_that_are_no_album(name: str) -> None:
    url = "https://mp.weixin.qq.com/mp/appmsgalbum?action=getalbum&album_id=1"
    with pytest.raises(ParseError, match="not a WeChat album page"):
        parse_album((CORPUS / "wechat" / name).read_bytes(), url)


# --- feeds as the web serves them (issue 12) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "url", "title"),
    [
        ("rss-html-entities.xml", "https://example.org/a/nbsp", "标题 一 — 更多"),
        ("rss-raw-ampersand.xml", "https://example.org/a/amp?x=1&y=2", "腾讯 & 阿里 发布财报"),
        ("rss-bom.xml", "https://example.org/a/bom", "带 BOM 的订阅"),
        ("rss-wrong-encoding.xml", "https://example.org/a/enc", "声明错误的编码"),
        ("rss-091.xml", "https://example.org/a/091", "RSS 0.91 条目"),
        ("rss1-rdf.xml", "https://example.org/a/rdf1", "RSS 1.0 条目"),
        ("atom03.xml", "https://example.org/a/atom03", "Atom 0.3 条目"),
    ],
)
def test_feeds_a_browser_reads_are_read(name: str, url: str, title: str) -> None:
    listing = parse_feed((FIXTURES / name).read_bytes(), "https://example.org/feed.xml")
    first = listing.entries[0]
    assert first.url == url
    assert first.title is not None and first.title.replace("\xa0", " ") == title


def test_feed_dates_keep_their_zone_and_naive_ones_are_shanghai() -> None:
    rdf = parse_feed((FIXTURES / "rss1-rdf.xml").read_bytes(), "https://example.org/feed.xml").entries
    assert rdf[0].published == datetime(2025, 3, 1, 8, 0, tzinfo=SHANGHAI)
    assert rdf[1].published == datetime(2025, 2, 28, 21, 30, tzinfo=SHANGHAI)
    amp = parse_feed((FIXTURES / "rss-raw-ampersand.xml").read_bytes(), "https://example.org/feed.xml").entries
    assert amp[0].published == datetime(2025, 3, 1, 10, 0, tzinfo=SHANGHAI)
    atom03 = parse_feed((FIXTURES / "atom03.xml").read_bytes(), "https://example.org/feed.xml").entries
    assert atom03[0].published == datetime(2025, 3, 1, 9, 0, tzinfo=SHANGHAI)


def test_feed_content_is_captured_and_judged_full_or_summary() -> None:
    full, teaser, none = parse_feed(
        (FIXTURES / "rss-content-encoded.xml").read_bytes(), "https://example.org/feed.xml"
    ).entries
    assert full.content is not None and "mmbiz.qpic.cn" in full.content and full.content_is_full
    assert teaser.content is not None and not teaser.content_is_full  # ends with 阅读全文
    assert none.content is None and not none.content_is_full
    atom_full, atom_short = parse_feed(
        (FIXTURES / "atom-content.xml").read_bytes(), "https://example.org/feed.xml"
    ).entries
    assert atom_full.content_is_full and atom_full.content is not None and atom_full.content.startswith("<p>")
    assert atom_short.content == "<p>一句话。</p>" and not atom_short.content_is_full


def test_rsshub_description_holding_the_whole_article_is_content() -> None:
    full, teaser, plain = parse_feed(
        (FIXTURES / "rsshub-description.xml").read_bytes(), "https://rsshub.example.org/wechat/x"
    ).entries
    assert full.url == "https://mp.weixin.qq.com/s/rsshubfull01"
    assert full.content is not None and full.content_is_full and full.summary is None
    assert 'data-src="https://mmbiz.qpic.cn/mmbiz_jpg/rsshub0/640' in full.content
    assert full.author == "港口观察"
    article = parse_feed_entry(full)
    assert article.images == ("https://mmbiz.qpic.cn/mmbiz_jpg/rsshub0/640?wx_fmt=jpeg",)
    assert "data:" not in article.body and "港口集装箱吞吐量" in article.body
    # a description that ends like a teaser, or plain text without article markup, stays a summary
    assert teaser.content is None and not teaser.content_is_full and teaser.summary is not None
    assert plain.content is None and not plain.content_is_full and plain.summary is not None


def test_feed_entries_carry_summary_author_and_the_feed_title() -> None:
    full, _, none = parse_feed((FIXTURES / "rss-content-encoded.xml").read_bytes(), "https://example.org/f.xml").entries
    assert full.feed_title == "wewe-rss" and full.summary == "港口吞吐量创新高。" and full.author is None
    assert none.summary == "只有摘要。"
    # an Atom entry with its content and no summary: feedparser's copy of the content is no summary,
    # so a long content is the whole article
    body = "<p>" + "港口吞吐量创新高，集装箱航线再扩容。" * 30 + "</p>"
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>某公众号</title>'
        '<entry><title>t</title><author><name>张三</name></author><link href="https://example.org/a/1"/>'
        f'<content type="html">{html.escape(body)}</content></entry></feed>'
    )
    (entry,) = parse_feed(atom.encode(), "https://example.org/f.xml").entries
    assert entry.content_is_full and entry.summary is None
    assert entry.author == "张三" and entry.feed_title == "某公众号"
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON 号",
        "items": [
            {"url": "https://example.net/p/1", "content_html": body, "summary": "摘要", "authors": [{"name": "李四"}]},
            {"url": "https://example.net/p/2", "content_text": "短", "author": {"name": "王五"}},
        ],
    }
    one, two = parse_feed(json.dumps(doc, ensure_ascii=False).encode(), "https://example.net/feed.json").entries
    assert one.content_is_full and one.summary == "摘要" and one.author == "李四" and one.feed_title == "JSON 号"
    assert two.author == "王五" and not two.content_is_full


def test_content_past_the_parse_budget_is_judged_without_a_tree() -> None:
    # 100k nested elements take lexbor seconds: their text is read between the tags instead
    deep = "<div>" * 100_000 + "<p>" + "字" * 400 + "</p>"
    assert looks_full(deep) and not looks_full("<div>" * 100_000 + "<p>" + "字" * 100 + "</p>")
    assert looks_full("<" * 300_000 + "字" * 10)  # a run of "<" is text, and read in one pass


def test_json_feed_content_html_and_text() -> None:
    entries = parse_feed((FIXTURES / "feed.json").read_bytes(), "https://example.net/feed.json").entries
    assert entries[0].content == "<p>正文</p>"  # content_text made HTML
    assert entries[1].content == "<p>正文</p>"
    assert not any(e.content_is_full for e in entries)  # a few characters are a summary
    assert looks_full("<p>" + "字" * 400 + "</p>") and not looks_full("<p>" + "字" * 400 + "……</p>")
