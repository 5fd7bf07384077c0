"""The parsing budget: pages past [parse] max_elements / max_depth are refused before a tree is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers import MAX_DEPTH, MAX_ELEMENTS, check_budget, parse
from parsers.errors import ParseError

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
WEB = "https://news.example.com/a/1.html"
URLS = (WEB, "https://news.qq.com/a/20190923/001234.htm", "https://mp.weixin.qq.com/s/budget")


@pytest.mark.parametrize("url", URLS)
def test_deep_nesting_is_refused_with_its_reason(url: str) -> None:
    page = b"<html><body>" + b"<div>" * 100_000 + b"x" + b"</div>" * 100_000
    with pytest.raises(ParseError, match=r"too-complex: nesting 100,000 deep over max_depth 1,000"):
        parse(page, url)


@pytest.mark.parametrize("url", URLS)
def test_a_million_tiny_elements_are_refused(url: str) -> None:
    page = "<html><body>" + "<i>a</i>" * 1_000_000
    with pytest.raises(ParseError, match=r"too-complex: 1,000,002 elements over max_elements 200,000"):
        parse(page, url)


def test_limits_are_keyword_arguments() -> None:
    page = b"<html><body>" + b"<section>" * 50 + "正文".encode() + b"</section>" * 50
    check_budget(page, WEB)  # within the defaults
    with pytest.raises(ParseError, match="nesting 50 deep over max_depth 40"):
        check_budget(page, WEB, max_depth=40)
    with pytest.raises(ParseError, match="elements over max_elements 20"):
        parse(page, WEB, max_elements=20)


def test_elements_that_do_not_nest_do_not_count_as_depth() -> None:
    # unclosed paragraphs, list items, options and void elements are closed by their siblings
    page = "<html><body><select>" + "<option>x" * 5_000 + "</select>" + "<p>段<br><img src=a.jpg>" * 5_000
    check_budget(page, WEB, max_depth=10)


def test_text_and_bytes_count_alike() -> None:
    page = "<div>" * 30 + "文" + "</div>" * 30
    for form in (page, page.encode()):
        with pytest.raises(ParseError, match="nesting 30 deep"):
            check_budget(form, WEB, max_depth=29)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_every_real_page_is_far_within_the_defaults() -> None:
    pages = [p for p in CORPUS.rglob("*") if p.suffix in (".html", ".htm")]
    assert pages
    for path in pages:
        check_budget(path.read_bytes(), str(path), max_elements=MAX_ELEMENTS // 20, max_depth=MAX_DEPTH // 5)
