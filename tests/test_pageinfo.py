"""Small pure helpers: where a saved page came from, inline JS data, decoding."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.cli import cli
from parsers.decode import decode_html
from parsers.errors import ParseError
from parsers.jsdata import extract_js_object, js_string, js_unescape, load_js_object
from parsers.origin import find_origin_url
from tests.conftest import FIXTURES
from tests.pages import qq_id, qq_page, wechat_page


@pytest.mark.parametrize(
    ("html", "origin"),
    [
        ("<!-- saved from url=(0040)https://mp.weixin.qq.com/s/AbC?from=x --><html>", "https://mp.weixin.qq.com/s/AbC"),
        ('<meta property="og:url" content="http://mp.weixin.qq.com/s?__biz=Mz==&amp;mid=1&amp;idx=2&amp;sn=s#rd">',
         "https://mp.weixin.qq.com/s?__biz=Mz==&mid=1&idx=2&sn=s"),
        ('<script>var msg_link = "http://mp.weixin.qq.com/s/Xy_9";</script>', "https://mp.weixin.qq.com/s/Xy_9"),
        ('<link rel="canonical" href="https://new.qq.com/rain/a/20250207A07NZC00">',
         "https://news.qq.com/rain/a/20250207A07NZC00"),
        ("<script>ARTICLE_INFO = {id: '1', article_url: 'http://tech.qq.com/a/20161014/006270.htm'}</script>",
         "https://tech.qq.com/a/20161014/006270.htm"),
        ('<script>window.DATA = {"article_id": "20190907A081B0"}</script>', "https://news.qq.com/rain/a/20190907A081B000"),
        ('<meta property="og:url" content=""><script>var biz = ""||"Mz=="; var mid = "" || "26"; var idx = "1";</script>',
         "https://mp.weixin.qq.com/s?__biz=Mz==&mid=26&idx=1"),
        ("<html><body>nothing</body></html>", None),
    ],
)  # fmt: skip
def test_find_origin_url(html: str, origin: str | None) -> None:
    assert find_origin_url(html) == origin


def test_js_objects_are_cut_by_balanced_brackets_not_by_the_first_brace() -> None:
    text = 'x; window.DATA = {"a": "}{", "b": [1, {"c": "\\"]"}], \'d\': 2}\n</script>'
    src = extract_js_object(text, "window.DATA")
    assert src == '{"a": "}{", "b": [1, {"c": "\\"]"}], \'d\': 2}'
    assert load_js_object("var o = {title: 'a\\'b', n: 1, l: [1,2,],}", "var o") == {
        "title": "a'b",
        "n": 1,
        "l": [1, 2],
    }
    assert load_js_object("no object here", "window.DATA") is None


def test_js_strings() -> None:
    assert js_unescape(r"\x3cp\x3e\u4e2d\/\u{1F600}\uD83D\uDE00") == "<p>中/\U0001f600\U0001f600"
    text = "var msg_title = '\\u6807\\u9898'.html(false); title: JsDecode('\\x26amp;')"
    assert js_string(text, "msg_title") == "标题"
    assert js_string(text, "title", field=True) == "&amp;"
    assert js_string(text, "nope") is None
    # a longer name that ends the same is not the name; an empty value gives way to a later one
    assert js_string("var my_title = 'x'; var title = '' || 'y'", "title") == "y"
    assert js_string("var title = ''", "title") == ""


def test_decoding_by_header_bom_then_trial() -> None:
    utf8_with_stale_meta = '<meta charset="gb2312"><p>中文内容</p>'.encode()
    assert "中文内容" in decode_html(utf8_with_stale_meta)
    gbk = '<meta charset="gbk"><p>中文内容，真正的国标码</p>'.encode("gbk")
    assert "真正的国标码" in decode_html(gbk)
    assert "真正的国标码" in decode_html(gbk, content_type="text/html; charset=GB2312")
    assert decode_html(b"\xef\xbb\xbf<p>\xe4\xb8\xad\xe6\x96\x87</p>") == "<p>中文</p>"  # BOM wins, and is dropped
    with pytest.raises(ParseError):  # UTF-16 without a BOM is all NULs: no web page looks like that
        decode_html("<p>中文</p>".encode("utf-16-le"))
    assert decode_html(b"\xff\xfe" + "<p>中文</p>".encode("utf-16-le")) == "<p>中文</p>"
    # a header naming a charset the bytes are not valid in falls back to trial decoding
    assert "中文内容" in decode_html(utf8_with_stale_meta, content_type="text/html; charset=ascii")
    for bad in (b"", b"   \n ", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00"):
        with pytest.raises(ParseError):
            decode_html(bad, name="x.html")


# --- the `parse` command ---------------------------------------------------------------------------


@dataclass
class _Ran:
    returncode: int
    stdout: str
    stderr: str


def _parse(*args: str) -> _Ran:
    result = CliRunner().invoke(cli, ["parse", *args])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return _Ran(result.exit_code, result.stdout, result.stderr)


def test_parse_command_prints_the_article_as_json(tmp_path: object) -> None:
    from pathlib import Path

    page = Path(str(tmp_path)) / "a.html"
    page.write_text(wechat_page(3), encoding="utf-8")
    result = _parse(str(page))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["source"] == "wechat" and data["title"] == "第3篇：测试文章标题"
    assert data["published"] == "2024-11-07T08:31:48+08:00"
    assert data["account"] == "测试公众号" and data["author"] == "张三" and data["mid"] == "2650000003"
    q = Path(str(tmp_path)) / "q.html"
    q.write_text(qq_page(4), encoding="utf-8")
    result = _parse(str(q), "--url", f"https://view.inews.qq.com/a/{qq_id(4)}")
    assert json.loads(result.stdout)["url"] == f"https://news.qq.com/rain/a/{qq_id(4)}"


def test_parse_command_refuses_status_pages_and_unreadable_input(tmp_path: object) -> None:
    from pathlib import Path

    deleted = FIXTURES / "wechat" / "deleted-zh.html"
    if deleted.exists():
        result = _parse(str(deleted), "--url", "https://mp.weixin.qq.com/s/gone")
        assert result.returncode == 3 and result.stderr.strip() == f"{deleted}: not an article: deleted"
    binary = Path(str(tmp_path)) / "b.html"
    binary.write_bytes(b"\x00\x01\x02\x03" * 100)
    result = _parse(str(binary), "--url", "https://mp.weixin.qq.com/s/x")
    assert result.returncode == 2 and "binary" in result.stderr and "Traceback" not in result.stderr
    result = _parse(str(Path(str(tmp_path)) / "missing.html"))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_parse_command_needs_no_url_for_pages_whose_structure_says_whose_they_are(tmp_path: object) -> None:
    from pathlib import Path

    for name, reason in (
        ("deleted-zh.html", "deleted"),
        ("violation.html", "removed"),
        ("verify-shell.html", "verification"),
    ):
        page = FIXTURES / "wechat" / name
        result = _parse(str(page))
        assert result.returncode == 3, (name, result.stderr)
        assert result.stderr.strip() == f"{page}: not an article: {reason}"
    # an article page that records no address but carries its ids still parses
    bare = Path(str(tmp_path)) / "bare.html"
    bare.write_text(wechat_page(5).replace('<meta property="og:url"', '<meta property="og:nothing"'), encoding="utf-8")
    result = _parse(str(bare))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["mid"] == "2650000005"


def test_parse_and_import_agree_on_a_page_that_does_not_say_where_it_is_from(tmp_path: Path) -> None:
    # a news page with no address and no ids: parse used to print it under https://example.invalid/
    page = tmp_path / "anon.html"
    body = "".join(f"<p>第{n}段正文，内容足够长，讲述一件发生在城市里的新闻。</p>" for n in range(12))
    page.write_text(f"<html><head><title>一篇新闻</title></head><body><h1>一篇新闻</h1>{body}</body></html>", "utf-8")
    parsed = _parse(str(page))
    assert parsed.returncode == 2 and "--url" in parsed.stderr and parsed.stdout == "", parsed
    imported = CliRunner().invoke(cli, ["--db", str(tmp_path / "j.db"), "import", str(page)])
    assert imported.exit_code == 1 and "--url" in imported.stdout
    given = _parse(str(page), "--url", "https://news.example.com/a/1.html")
    assert given.returncode == 0 and json.loads(given.stdout)["url"] == "https://news.example.com/a/1.html"
