"""decode_html and sniff_utf8, and the bytes route parse() takes for UTF-8 WeChat pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers import parse
from parsers.article import Article
from parsers.decode import SNIFF_BYTES, decode_html, sniff_utf8
from parsers.errors import JianbaoError, NotAnArticle, ParseError
from parsers.wechat import parse_wechat

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wechat"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "wechat"
WECHAT_PAGES = sorted(p for p in FIXTURES.iterdir() if p.suffix in (".html", ".htm", ".json"))

HEAD = "<html><head><title>技术周刊</title></head><body>"
TAIL = "<p>完</p></body></html>"


def page(middle: str, *, head: str = HEAD, tail: str = TAIL) -> bytes:
    return (head + middle + tail).encode("utf-8")


def big(middle_bytes: bytes = b"", *, head: bytes = HEAD.encode(), tail: bytes = TAIL.encode()) -> bytes:
    """A page larger than both samples, ``middle_bytes`` in the part sniff_utf8 does not read."""
    filler = b"<p>" + b"x" * (SNIFF_BYTES + 100) + b"</p>"
    return head + filler + middle_bytes + filler + tail


def outcome(fn: object, *args: object) -> object:
    """An Article, or the error's type, reason and detail: what a caller can observe."""
    assert callable(fn)
    try:
        result = fn(*args)
    except NotAnArticle as exc:
        return ("NotAnArticle", exc.reason, exc.detail)
    except JianbaoError as exc:
        return (type(exc).__name__, exc.reason)
    assert isinstance(result, Article)
    return result


# --- decode_html ----------------------------------------------------------------------------------


def test_decode_html_reads_utf8_despite_a_stale_gb2312_meta() -> None:
    data = '<meta charset="gb2312"><p>中文</p>'.encode()
    assert decode_html(data) == '<meta charset="gb2312"><p>中文</p>'


def test_decode_html_reads_gbk_bytes() -> None:
    assert decode_html("<p>中文标题</p>".encode("gbk")) == "<p>中文标题</p>"


def test_decode_html_follows_bom_and_header() -> None:
    assert decode_html(b"\xef\xbb\xbf<p>\xe4\xb8\xad</p>") == "<p>中</p>"
    assert decode_html(b"\xff\xfe" + "<p>中</p>".encode("utf-16-le")) == "<p>中</p>"
    assert decode_html("<p>中</p>".encode("gbk"), content_type="text/html; charset=GBK") == "<p>中</p>"


def test_decode_html_rejects_empty_and_binary() -> None:
    with pytest.raises(ParseError, match="empty"):
        decode_html(b"  \n ", name="x")
    with pytest.raises(ParseError, match="binary"):
        decode_html(b"\x00\x01\x02\x03PK\x03\x04 binary", name="x")


# --- sniff_utf8 -----------------------------------------------------------------------------------


def test_small_utf8_page_sniffs_as_utf8() -> None:
    assert sniff_utf8(page("<p>正文 😀</p>"))
    assert sniff_utf8(page("<p>plain</p>", head="<html><body>", tail="</body></html>"))  # read whole
    assert sniff_utf8(page("<p>正文</p>"), content_type="text/html; charset=utf-8")
    assert sniff_utf8(page("<p>正文</p>"), content_type="text/html; charset=UTF8")


def test_big_utf8_page_sniffs_as_utf8_from_its_ends() -> None:
    assert sniff_utf8(big("<p>中间 😀</p>".encode()))
    # only the tail holds non-ASCII text
    assert sniff_utf8(big(head=b"<html><body>"))


def test_samples_cut_inside_a_character_still_sniff() -> None:
    # the head sample ends one byte into a 3-byte character, the tail sample starts inside one
    head = b"<html><body><p>" + b"a" * (SNIFF_BYTES - 16) + "中文".encode()
    tail = "中".encode() + b"b" * (SNIFF_BYTES - 2 - len(TAIL.encode())) + TAIL.encode()
    data = big(head=head, tail=tail)
    with pytest.raises(UnicodeDecodeError):
        data[:SNIFF_BYTES].decode("utf-8")
    with pytest.raises(UnicodeDecodeError):
        data[-SNIFF_BYTES:].decode("utf-8")
    assert sniff_utf8(data)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("<html><body><p>中文标题</p></body></html>".encode("gbk"), None),
        (big("<p>中文</p>".encode("gbk"), head="<html><title>中文</title>".encode("gbk")), None),
        (page("<p>正文</p>"), "text/html; charset=gbk"),  # the header names another charset
        (b"\xef\xbb\xbf" + page("<p>正文</p>"), None),  # BOM: decode_html strips it
        ("<p>正文</p>".encode("utf-16-le"), None),
        (b"", None),
        (b"   \n\t ", None),
        (b"\x00\x01\x02\x03PK\x03\x04 binary", None),
        (big(head=b"<html><body>", tail=b"</body></html>"), None),  # all-ASCII samples prove nothing
        (big(b"", tail="<p>完</p>".encode("gbk")), None),  # tail is not UTF-8
        (big(head=b"<html><title>\xe4\xb8</title>"), None),  # a broken character in the head
        ("<html><title>中</title>".encode("gb18030") + big(), None),
    ],
)
def test_not_sniffed_as_utf8(data: bytes, content_type: str | None) -> None:
    assert not sniff_utf8(data, content_type=content_type)


def test_small_page_with_one_bad_byte_is_not_sniffed() -> None:
    # a small page is read whole, so the answer is exact: decode_html would not take it as UTF-8
    data = page("<p>正文</p>") + b"\xff"
    assert not sniff_utf8(data)


@pytest.mark.parametrize("path", WECHAT_PAGES, ids=lambda p: p.name)
def test_sniff_agrees_with_decode_html(path: Path) -> None:
    data = path.read_bytes()
    assert sniff_utf8(data)  # every fixture is UTF-8, as WeChat serves it
    assert decode_html(data) == data.decode("utf-8")


# --- the bytes route ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", WECHAT_PAGES, ids=lambda p: p.name)
def test_parse_bytes_equals_parse_text(path: Path) -> None:
    data = path.read_bytes()
    url = "https://mp.weixin.qq.com/s/Fixture"
    from_text = outcome(parse_wechat, data.decode("utf-8"), url)
    assert outcome(parse, data, url) == from_text
    assert outcome(parse_wechat, data, url) == from_text


def test_parse_bytes_of_a_big_page_with_emoji() -> None:
    text = (FIXTURES / "normal-2025-raw.html").read_text(encoding="utf-8")
    # an inline bundle makes the page bigger than the samples; the emoji makes a decoded copy UCS-4
    bundle = "<script>'use strict';var a=1;" + "/* 😀 */ a+=1;" * 30_000 + "</script>"
    text = text.replace("</body>", bundle + "</body>")
    data = text.encode("utf-8")
    assert len(data) > 2 * SNIFF_BYTES and sniff_utf8(data)
    url = "https://mp.weixin.qq.com/s/Fixture2025Short"
    article = parse(data, url)
    assert article == parse_wechat(text, url)
    assert article.title == "技术周刊第12期：界面设计"
    assert article.author == "李明"


def test_gbk_wechat_page_still_decodes() -> None:
    text = (FIXTURES / "normal-2022-raw.html").read_text(encoding="utf-8")
    data = text.encode("gb18030")
    assert not sniff_utf8(data)
    url = "https://mp.weixin.qq.com/s/whatever"
    assert parse(data, url) == parse_wechat(text, url)


def test_bytes_page_with_a_bad_byte_reads_it_as_replacement() -> None:
    text = (FIXTURES / "normal-2025-raw.html").read_text(encoding="utf-8")
    filler = "<!-- " + "x" * (SNIFF_BYTES + 100) + " -->"
    text = text.replace("</head>", filler + "</head>", 1).replace("</body>", filler + "</body>", 1)
    url = "https://mp.weixin.qq.com/s/Fixture2025Short"
    good = parse(text.encode("utf-8"), url)
    # a stray byte in the unread middle: lexbor reads U+FFFD, the article is otherwise unchanged
    data = text.encode("utf-8").replace(b"</head>", b"\xff</head>", 1)
    assert sniff_utf8(data)
    assert parse(data, url) == good


@pytest.mark.parametrize(
    "data",
    [b"   \n\t ", b"\x00\x01\x02\x03PK\x03\x04 binary", b'{"ret": 0}', b"just words", b"\xef\xbb\xbf  words"],
)
def test_unreadable_bytes_are_parse_errors(data: bytes) -> None:
    url = "https://mp.weixin.qq.com/s/garbage"
    with pytest.raises(ParseError) as err:
        parse_wechat(data, url)
    assert err.value.url == url
    with pytest.raises(ParseError):
        parse(data, url)


def test_album_api_bytes_are_not_an_article() -> None:
    data = (FIXTURES / "album-api.json").read_bytes()
    with pytest.raises(NotAnArticle) as err:
        parse_wechat(data, "https://mp.weixin.qq.com/mp/appmsgalbum?action=getalbum")
    assert err.value.reason == "not-article"


@pytest.mark.skipif(not CORPUS.exists(), reason="no shared corpus")
def test_corpus_bytes_route_matches_text_route() -> None:
    pages = sorted(p for p in CORPUS.iterdir() if p.suffix in (".html", ".htm"))
    assert pages
    for path in pages:
        data = path.read_bytes()
        assert sniff_utf8(data), path.name
        url = "https://mp.weixin.qq.com/s/corpus"
        assert outcome(parse, data, url) == outcome(parse_wechat, decode_html(data), url), path.name
