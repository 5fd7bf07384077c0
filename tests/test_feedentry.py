"""A feed entry's own full text read as an Article (parsers/feedentry.py), and read back from the archive."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from parsers import Budget
from parsers.article import SHANGHAI
from parsers.errors import InvalidURL, NotAnArticle, ParseError
from parsers.feedentry import (
    ENTRY_HEADER,
    FEED_HEADER,
    archive_headers,
    is_archived_entry,
    parse_archived_entry,
    parse_feed_entry,
)
from parsers.listings import Entry, parse_feed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
FEED_URL = "https://wewe.example.org/feeds/MP_WXS_1.rss"
TEXT = "<p>" + "港口吞吐量创新高，集装箱航线再扩容。" * 20 + "</p>"


def wewe_entries() -> tuple[Entry, ...]:
    return parse_feed((FIXTURES / "wewe-rss-full.xml").read_bytes(), FEED_URL).entries


def test_a_wechat_entry_becomes_the_article_with_real_images_and_the_pages_ids() -> None:
    full = wewe_entries()[0]
    article = parse_feed_entry(full)
    assert article.source == "wechat" and article.kind == "article"
    assert article.title == "三季度港口吞吐量创新高"
    # the long link made canonical (tracking gone), the ids kept: the page fetched later is the same article
    assert article.url == (
        "https://mp.weixin.qq.com/s?__biz=MzA4NjU0NjUxNg==&mid=2650000042&idx=1&sn=0123456789abcdef0123456789abcdef"
    )
    assert (article.biz, article.mid, article.idx) == ("MzA4NjU0NjUxNg==", "2650000042", "1")
    assert article.key == "wechat:MzA4NjU0NjUxNg==:2650000042:1"
    assert article.published == datetime(2024, 11, 7, 8, 31, 48, tzinfo=SHANGHAI)
    # the feed is the account's: its title is the account, and the same name as author is no byline
    assert article.account == "港口观察" and article.author is None
    assert article.summary == "港口吞吐量创新高。"
    # data-src wins over the 1x1 SVG and the loading gif in src; http made https on Tencent's CDN
    assert article.images == (
        "https://mmbiz.qpic.cn/mmbiz_jpg/abc/640?wx_fmt=jpeg&from=appmsg",
        "https://mmbiz.qpic.cn/mmbiz_png/def/640?wx_fmt=png",
    )
    assert "data:" not in article.body and "img_loading" not in article.body and "javascript" not in article.body
    assert "**国家统计局今天发布数据" in article.body
    assert article.body.count("![") == 2


def test_an_entry_without_a_title_takes_its_first_line() -> None:
    article = parse_feed_entry(wewe_entries()[1])
    assert article.url == "https://mp.weixin.qq.com/s/untitled" and article.biz is None
    assert article.title.startswith("国家统计局今天发布数据") and len(article.title) == 60
    image_first = Entry(url="https://example.org/p/1", content='<p><img src="https://example.org/a.jpg"></p>' + TEXT)
    assert parse_feed_entry(image_first).title.startswith("港口吞吐量")


def test_entries_of_other_sites_and_their_bylines() -> None:
    qq = parse_feed_entry(
        Entry(
            url="https://new.qq.com/rain/a/20250207A05QKY00?from=rss", title="腾讯", content=TEXT, feed_title="RSSHub"
        )
    )
    assert qq.source == "qq" and qq.article_id == "20250207A05QKY00" and qq.key == "qq:20250207A05QKY00"
    web = parse_feed_entry(
        Entry(
            url="https://example.org/posts/1?utm_source=rss",
            title="博客",
            content=TEXT + '<p><a href="/about">关于</a><img src="img/1.png"></p>',
            author="阮一峰",
            feed_title="阮一峰的网络日志",
        )
    )
    assert web.source == "web" and web.url == "https://example.org/posts/1"
    assert web.author == "阮一峰" and web.account == "阮一峰的网络日志"
    # relative links and images resolve against the article's address
    assert "(https://example.org/about)" in web.body and web.images == ("https://example.org/posts/img/1.png",)


def test_entries_that_hold_no_article_are_refused_with_a_reason() -> None:
    with pytest.raises(NotAnArticle) as hidden:
        parse_feed_entry(wewe_entries()[2])  # every word in a display:none block
    assert hidden.value.reason == "not-article" and "no text" in str(hidden.value)
    assert hidden.value.url == "https://mp.weixin.qq.com/s/hidden"
    with pytest.raises(ParseError, match="without content"):
        parse_feed_entry(Entry(url="https://example.org/p/1", content="  "))
    with pytest.raises(ParseError, match="too-complex"):
        parse_feed_entry(Entry(url="https://example.org/p/1", content="<div>" * 50 + TEXT), budget=Budget(max_depth=20))
    with pytest.raises(InvalidURL):
        parse_feed_entry(Entry(url="ftp://example.org/p/1", content=TEXT))


def test_the_archived_entry_rebuilds_the_same_article() -> None:
    for entry in wewe_entries()[:2]:
        headers = archive_headers(entry, FEED_URL)
        assert headers[FEED_HEADER] == FEED_URL and is_archived_entry(headers)
        assert entry.content is not None
        again = parse_archived_entry(entry.content.encode("utf-8"), entry.url, headers)
        assert again == parse_feed_entry(entry)
    # header names as a server or the archive may case them
    entry = wewe_entries()[0]
    shouted = {k.title(): v for k, v in archive_headers(entry, FEED_URL).items()}
    assert is_archived_entry(shouted) and entry.content is not None
    assert parse_archived_entry(entry.content, entry.url, shouted) == parse_feed_entry(entry)
    assert not is_archived_entry({"content-type": "text/html"})
    with pytest.raises(ParseError, match=ENTRY_HEADER):
        parse_archived_entry(TEXT, "https://example.org/p/1", {FEED_HEADER: FEED_URL, ENTRY_HEADER: "{broken"})
