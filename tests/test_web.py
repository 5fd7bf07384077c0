"""parsers.web: the trafilatura fallback for any other news site, on own fixtures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from parsers import parse
from parsers.article import SHANGHAI, Article
from parsers.errors import NotAnArticle, ParseError
from parsers.web import parse_web

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "web"
_RAW_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|<!--")

WETLAND_URL = "https://www.jiangcheng.example/news/2024/12/03/wetland.html"


def load(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def assert_clean(a: Article) -> None:
    assert a.source == "web" and a.kind == "article"
    assert a.body and a.body == a.body.strip()
    assert "data:" not in a.body and "data:" not in repr(a.images)
    assert "javascript:" not in a.body
    assert not _RAW_TAG.search(a.body), _RAW_TAG.search(a.body)
    assert "\n\n\n" not in a.body
    assert "![](" not in a.body and "]()" not in a.body
    assert a.published is None or a.published.utcoffset() == SHANGHAI.utcoffset(None)


def test_article_with_full_metadata_and_lazy_images() -> None:
    a = parse_web(load("news-article-meta-time.html"), WETLAND_URL + "?utm_source=feed#top")
    assert a.url == WETLAND_URL
    assert a.title == "湿地公园迎来候鸟越冬高峰"
    assert a.published is not None
    # article:published_time 2024-12-03T01:30:00Z, shown in Beijing time
    assert a.published.isoformat() == "2024-12-03T09:30:00+08:00"
    assert a.author == "陈晓"
    assert a.account == "江城日报"
    assert a.summary == "入冬以来，湿地公园陆续迎来上万只越冬候鸟。"
    assert a.cover == "https://img.jiangcheng.example/2024/12/cover.jpg"
    # the lazy image's data-original wins over its data: src; the 1x1 SVG is dropped
    assert a.images == (
        "https://img.jiangcheng.example/2024/12/birds-1.jpg",
        "https://img.jiangcheng.example/2024/12/birds-2.jpg",
    )
    assert a.body.startswith("入冬以来，城郊湿地公园陆续迎来上万只越冬候鸟")
    assert "![湖面上的候鸟](https://img.jiangcheng.example/2024/12/birds-1.jpg)" in a.body
    assert "[湿地保护](https://www.jiangcheng.example/topic/wetland)" in a.body
    assert "不要大声喧哗。点击展开" in a.body  # a javascript: link keeps its words only
    assert a.body.endswith("欢迎市民参与。")
    for noise in ("首页", "体育", "相关新闻", "口袋公园", "版权所有"):
        assert noise not in a.body, noise
    assert_clean(a)


def test_date_only_page_is_midnight_in_beijing() -> None:
    a = parse_web(load("news-date-only.html"), "http://www.shili.example/news/2024/0506/123.shtml")
    assert a.url == "http://www.shili.example/news/2024/0506/123.shtml"  # the open web keeps its scheme
    assert a.title == "老城区改造项目启动"
    assert a.published is not None
    assert a.published.isoformat() == "2024-05-06T00:00:00+08:00"
    assert a.account == "示例网"
    assert a.images == () and a.cover is None
    assert a.body.startswith("5月6日，老城区综合改造项目正式启动")
    assert a.body.count("\n\n") == 2  # three paragraphs, kept apart
    for noise in ("示例网首页", "Copyright", "来源："):
        assert noise not in a.body, noise
    assert_clean(a)


def test_prettified_page_with_extensionless_cdn_images() -> None:
    a = parse_web(load("news-prettified-cdn-images.html"), "https://finance.example.cn/a/20231226/000123.html")
    assert a.title == "高铁新线开通运营"
    assert a.published is not None
    assert a.published.isoformat() == "2023-12-26T10:05:00+08:00"  # a local time without zone
    assert a.summary == "连接两座省会城市的高铁新线今日开通运营。"
    # trafilatura alone drops image URLs without a file extension; the lazy one beats loading.gif
    assert a.images == (
        "https://p.cdn.example.cn/news/9f3a2b/1000",
        "http://p.cdn.example.cn/news/7c1d0e/640?fmt=jpeg",
    )
    assert a.cover == a.images[0]
    assert "![图片](https://p.cdn.example.cn/news/9f3a2b/1000)" in a.body  # empty alt gets a label
    assert "![列车驶出车站](http://p.cdn.example.cn/news/7c1d0e/640?fmt=jpeg)" in a.body
    # pretty-printer line breaks: gone between Chinese characters, one space next to English
    assert "今日开通运营，两地最快旅行时间" in a.body
    assert "沿途设站八座，并与既有线路实现互联互通。Officials said the line would carry" in a.body
    assert not re.search(r"\n[ \t]", a.body)
    for noise in ("loading.gif", "分享到", "微信", "关于我们", "财经频道"):
        assert noise not in a.body, noise
    assert_clean(a)


def test_a_script_shell_without_text_is_not_an_article() -> None:
    with pytest.raises(NotAnArticle) as err:
        parse_web(load("js-shell-empty.html"), "https://app.example/")
    assert err.value.reason == "not-article"
    assert err.value.url == "https://app.example/"


@pytest.mark.parametrize("html", ["", "  \n\t"])
def test_empty_input_is_a_parse_error(html: str) -> None:
    with pytest.raises(ParseError):
        parse_web(html, "https://a.example/x")


def test_the_minute_next_to_the_title_refines_a_date_only_meta() -> None:
    paragraphs = "".join(
        f"<p>第{i}段：本市今日召开新闻发布会，介绍春季植树活动的安排和各区的绿化目标。</p>" for i in range(6)
    )
    html = (
        '<html><head><meta charset="utf-8"><title>春季植树活动启动</title>'
        '<meta name="pubdate" content="2024-03-12"></head><body><article><h1>春季植树活动启动</h1>'
        f'<time datetime="2024-03-12T15:20:00+08:00">3月12日 15:20</time>{paragraphs}'
        '</article><aside><time datetime="2023-01-01T08:00:00+08:00">旧闻</time></aside></body></html>'
    )
    a = parse_web(html, "https://city.example/2024/03/12/trees.html")
    assert a.published is not None
    # the meta has the day only; the page shows the minute next to the title (its year from the meta)
    assert a.published.isoformat() == "2024-03-12T15:20:00+08:00"

    without_meta = html.replace('<meta name="pubdate" content="2024-03-12">', "")
    b = parse_web(without_meta, "https://city.example/2024/03/12/trees.html")
    assert b.published is not None
    assert b.published.isoformat() == "2024-03-12T15:20:00+08:00"


def test_dispatcher_routes_other_hosts_here() -> None:
    a = parse(load("news-date-only.html").encode("utf-8"), "http://www.shili.example/news/2024/0506/123.shtml")
    assert a.source == "web"
    assert a.title == "老城区改造项目启动"


def test_parsing_is_deterministic() -> None:
    html = load("news-article-meta-time.html")
    assert parse_web(html, WETLAND_URL) == parse_web(html, WETLAND_URL)
