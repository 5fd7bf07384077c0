"""Where a saved page came from: every place a browser, a saver or the page itself records its address."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers.origin import find_origin_url
from tests.conftest import FIXTURES, Env

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


# --- what an import input names -----------------------------------------------------------------------


def test_inputs_are_urls_with_or_without_scheme_files_or_file_url_pairs(tmp_path: Path) -> None:
    from ingest.pipeline import Input, parse_input

    saved = tmp_path / "page.html"
    saved.write_text("<html></html>", encoding="utf-8")
    odd = tmp_path / "www.example.com"
    odd.mkdir()
    (odd / "x.html").write_text("<html></html>", encoding="utf-8")
    cases = {
        "https://mp.weixin.qq.com/s/abc": Input("https://mp.weixin.qq.com/s/abc", url="https://mp.weixin.qq.com/s/abc"),
        "mp.weixin.qq.com/s/abc": Input("mp.weixin.qq.com/s/abc", url="https://mp.weixin.qq.com/s/abc"),
        "new.qq.com/rain/a/20250207A07NZC00": Input(
            "new.qq.com/rain/a/20250207A07NZC00", url="https://new.qq.com/rain/a/20250207A07NZC00"
        ),
        "www.163.com/news/article/X.html": Input(
            "www.163.com/news/article/X.html", url="https://www.163.com/news/article/X.html"
        ),
        str(saved): Input(str(saved), path=str(saved)),
        f"{saved}=https://www.163.com/a/b.html?x=1": Input(
            f"{saved}=https://www.163.com/a/b.html?x=1", url="https://www.163.com/a/b.html?x=1", path=str(saved)
        ),
        f"{saved} = www.163.com/a/b.html": Input(
            f"{saved} = www.163.com/a/b.html", url="https://www.163.com/a/b.html", path=str(saved)
        ),
        "missing.html": Input("missing.html", path="missing.html"),
        "notes.v2/x.md": Input("notes.v2/x.md", path="notes.v2/x.md"),
        "ftp://example.com/x": Input("ftp://example.com/x"),
        "javascript:alert(1)": Input("javascript:alert(1)"),
    }
    for item, expected in cases.items():
        assert parse_input(item) == expected, item
    # an existing file wins over a host-looking name
    assert parse_input(str(odd / "x.html")).path == str(odd / "x.html")


ARTICLE_PAGE = (FIXTURES / "web" / "news-article-meta-time.html").read_bytes()  # records no address


def test_import_says_the_address_is_missing_and_takes_it_from_a_list(env: Env) -> None:
    page = env.path / "saved.html"
    page.write_bytes(ARTICLE_PAGE)
    alone = env.run("import", str(page))
    assert alone.code == 1 and "not an article" not in alone.out
    assert "does not say which URL it was saved from" in alone.out and "FILE=URL" in alone.out, alone.out
    other = env.path / "other.html"
    other.write_bytes(ARTICLE_PAGE.replace("湿地公园".encode(), "城市公园".encode()))
    (env.path / "list.txt").write_text(
        f"# saved pages and their addresses\n{page}=https://www.jiangcheng.example/news/2024/12/birds.html\n"
        f"{other} = www.jiangcheng.example/news/2024/12/park.html\n",
        encoding="utf-8",
    )
    result = env.run("import", "-f", "list.txt")
    assert result.code == 0, result.out + result.err
    assert [line.split(":")[0] for line in result.lines] == ["stored", "stored"]
    urls = sorted(str(u) for (u,) in env.sql("select url from articles"))
    assert urls == [
        "https://www.jiangcheng.example/news/2024/12/birds.html",
        "https://www.jiangcheng.example/news/2024/12/park.html",
    ]


def test_a_url_without_its_scheme_is_fetched_not_looked_for_on_disk(env: Env) -> None:
    from tests.localserver import Reply
    from tests.pages import wechat_page

    env.server.route("mp.weixin.qq.com", "/s/noscheme", Reply.html(wechat_page(3)))
    result = env.run("import", "mp.weixin.qq.com/s/noscheme")
    assert result.code == 0, result.out + result.err
    assert result.lines[0].startswith("stored: mp.weixin.qq.com/s/noscheme -> #1"), result.out
    assert env.server.requests_to("mp.weixin.qq.com", "/s/noscheme")


def test_a_clipping_of_placeholders_only_says_so_and_suggests_its_url(env: Env) -> None:
    svg = "data:image/svg+xml,%3Csvg width='1px' height='1px' xmlns='http://www.w3.org/2000/svg'%3E%3C/svg%3E"
    url = "https://mp.weixin.qq.com/s/FixturePlaceholders"
    clip = env.path / "clip.md"
    clip.write_text(
        f'---\ntitle: "只有占位图"\nurl: {url}\ndate: 2024-07-20 22:21:39\n---\n'
        f"第一段正文。\n\n![图片]({svg})\n\n第二段。\n\n![图片]({svg})\n",
        encoding="utf-8",
    )
    result = env.run("import", str(clip))
    assert result.code == 0, result.out + result.err
    assert f"all 2 images were placeholders; import {url} to get them" in result.lines[0], result.out
    real = env.path / "real.md"
    real.write_text((FIXTURES / "clippings" / "wechat-placeholders.md").read_text(encoding="utf-8"), encoding="utf-8")
    assert "placeholders" not in env.run("import", str(real)).out  # some real images: nothing to say
