"""Where a saved page came from: every place a browser, a saver or the page itself records its address."""

from __future__ import annotations

import pytest

from parsers.origin import find_origin_url
from tests.conftest import FIXTURES

ARTICLE = "https://www.jiangcheng.example/news/2024/12/birds.html"


def page(head: str, body: str = "<p>正文</p>") -> str:
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"


@pytest.mark.parametrize(
    "head",
    [
        f"<!-- saved from url=(0055){ARTICLE} -->",
        f"<!--\n Page saved with SingleFile \n url: {ARTICLE} \n saved date: Thu Dec 03 2026 -->",
        f"<meta property='og:url' content='{ARTICLE}'>",
        f'<meta content="{ARTICLE}" property="og:url">',
        f'<meta name="og:url" content="{ARTICLE}">',
        f'<link rel="canonical" href="{ARTICLE}">',
        f'<link href="{ARTICLE}?utm_source=rss" rel="canonical">',
        f'<script type="application/ld+json">{{"@context":"https://schema.org","@type":"NewsArticle","url":"{ARTICLE}"}}</script>',
        '<script type="application/ld+json">{"@graph":[{"@type":"WebSite","url":"https://www.jiangcheng.example/"},'
        f'{{"@type":["NewsArticle"],"mainEntityOfPage":{{"@id":"{ARTICLE}"}}}}]}}</script>',
    ],
)
def test_the_address_is_read_from_each_usual_place(head: str) -> None:
    assert find_origin_url(page(head)) == ARTICLE


@pytest.mark.parametrize(
    "bad",
    [
        "http://[::1",
        "http://127.0.0.1:99999/x",
        "http://xn--/",
        "http://a\x00b/x",
        "javascript:alert(1)",
        "/relative/x",
        "&#0;",
    ],
)
def test_a_malformed_og_url_never_raises_and_the_next_place_is_used(bad: str) -> None:
    head = f'<meta property="og:url" content="{bad}"><link rel="canonical" href="{ARTICLE}">'
    assert find_origin_url(page(head)) == ARTICLE
    assert find_origin_url(page(f'<meta property="og:url" content="{bad}">')) is None
    broken_ids = "<script>var biz = 'a\x00b'; var mid = '1'; var idx = '1';</script>"
    assert find_origin_url(page(broken_ids)) is None


def test_a_site_wide_home_page_is_not_an_articles_address() -> None:
    head = '<meta property="og:url" content="https://www.163.com/">'
    assert find_origin_url(page(head)) is None
    ld = '<script type="application/ld+json">{"@type":"Organization","url":"https://www.163.com/news/x.html"}</script>'
    assert find_origin_url(page(ld)) is None  # an organisation's url is not the page's
    both = head + f'<link rel="canonical" href="{ARTICLE}">'
    assert find_origin_url(page(both)) == ARTICLE


def test_broken_json_ld_is_passed_over() -> None:
    for block in ("{not json", "[" * 5000 + "]" * 5000, '"just a string"', '{"@type": 5, "url": 7}'):
        head = f'<script type="application/ld+json">{block}</script><link rel="canonical" href="{ARTICLE}">'
        assert find_origin_url(page(head)) == ARTICLE


def test_the_saved_page_comment_beats_the_pages_own_claims() -> None:
    head = f'<!-- saved from url=(0055){ARTICLE} --><meta property="og:url" content="https://www.jiangcheng.example/amp/x.html">'
    assert find_origin_url(page(head)) == ARTICLE


def test_wechat_fixture_addresses() -> None:
    text = (FIXTURES / "wechat" / "normal-2025-raw.html").read_text(encoding="utf-8")
    assert find_origin_url(text) == "https://mp.weixin.qq.com/s/Fixture2025Short"
