"""parsers.clipping: Markdown clippings with YAML front matter, on own fixtures and the two seeds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from parsers.clipping import clean_markdown, join_cjk_lines, parse_markdown
from parsers.errors import ParseError

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "clippings"
SEEDS = ROOT.parent / "shared" / "seeds"
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="shared seeds not present")

_RAW_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_FENCED = re.compile(r"^```.*?^```", re.S | re.M)


def load(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def assert_clean(body: str) -> None:
    prose = _FENCED.sub("CODE", body)  # code blocks keep what they hold
    assert "data:" not in prose
    assert "javascript:" not in prose.lower()
    assert not _RAW_TAG.search(prose), _RAW_TAG.search(prose)
    assert "\n\n\n" not in prose
    assert "![](" not in body and "]()" not in body
    assert body == body.strip()
    assert all(line == line.rstrip() for line in prose.split("\n"))


# --- own fixtures ---------------------------------------------------------------------------------


def test_qq_hugo_clipping_takes_its_url_from_the_trailing_source_link() -> None:
    a = parse_markdown(load("qq-hugo-source-link.md"), "qq-hugo-source-link.md")
    assert a.source == "qq"
    assert a.kind == "article"
    assert a.url == "https://news.qq.com/rain/a/20250301A01ABC00"
    assert a.article_id == "20250301A01ABC00"
    assert a.title == "图书馆新馆开放：首日读者超五千人次！"
    assert a.published is not None
    assert a.published.isoformat() == "2025-03-01T18:39:14+08:00"
    assert a.summary.startswith("3月1日上午，某市图书馆新馆正式对外开放")
    assert a.cover == "https://inews.gtimg.com/om_ls/OCOVER0000000000000000000000000000AA_640360/0"
    assert a.images == (
        "https://inews.gtimg.com/om_bt/OIMG0AAAAAAAAAAAAAAAAAAAAAAAA/641",
        "https://inews.gtimg.com/om_bt/OIMG1BBBBBBBBBBBBBBBBBBBBBBBB/641",
    )
    assert "new.qq.com" not in a.body and "[qq]" not in a.body  # the back-link line is gone
    assert a.body.endswith("城市晚报")
    assert "藏书容量达三百万册。\n\n![图片]" in a.body  # whitespace-only lines collapsed
    assert_clean(a.body)


def test_wechat_clipping_drops_placeholder_images_without_leaving_gaps() -> None:
    a = parse_markdown(load("wechat-placeholders.md"), "wechat-placeholders.md")
    assert a.source == "wechat"
    assert a.url == (
        "https://mp.weixin.qq.com/s?__biz=MzA3NjAwMDAwMA==&mid=2650000001&idx=1&sn=0123456789abcdef0123456789abcdef"
    )
    assert (a.biz, a.mid, a.idx, a.sn) == (
        "MzA3NjAwMDAwMA==",
        "2650000001",
        "1",
        "0123456789abcdef0123456789abcdef",
    )
    assert a.article_id is None
    assert a.title == "年度演讲：勇气从何而来"
    assert a.published is not None
    assert a.published.isoformat() == "2024-07-20T22:21:39+08:00"  # unquoted YAML timestamp, naive
    assert a.author == "张三"
    assert a.account == "示例科技"
    # a repeated image is one entry; placeholders are none
    assert a.images == (
        "https://mmbiz.qpic.cn/mmbiz_jpg/AAAA1111/640?wx_fmt=jpeg&from=appmsg",
        "https://mmbiz.qpic.cn/mmbiz_png/BBBB2222/640?wx_fmt=png&from=appmsg",
    )
    assert "主题。\n\n### **破釜沉舟**" in a.body  # two placeholder lines vanished with their blanks
    assert "第一段正文。第一段正文继续。" in a.body  # an inline placeholder too
    assert "---\n\n谢谢大家！" in a.body  # a thematic break is body, not front matter
    assert_clean(a.body)


def test_hostile_clipping_is_defused() -> None:
    a = parse_markdown(load("hostile.md"), "hostile.md")
    assert a.source == "web"
    assert a.url == "https://www.example.com/news/2024/hostile.html?id=7"
    assert a.article_id is None and a.biz is None
    assert a.title == 'A page with "everything" wrong: tags & such'
    assert a.published is not None
    assert a.published.isoformat() == "2024-06-01T20:00:00+08:00"  # the instant kept, shown in Beijing time
    assert a.author == "Alice、Bob"
    assert a.images == ("https://img.example.com/lazy.jpg", "https://img.example.com/plain.png")
    assert "document.cookie" not in a.body and "display: none" not in a.body and "evil.example" not in a.body
    assert "a trap and another." in a.body
    assert "[harmless link](https://www.example.com/about)" in a.body
    assert "Raw HTML paragraph with an\n\n![图片](https://img.example.com/lazy.jpg)\n\ninside." in a.body
    assert "```html\n<script>kept in code</script>" in a.body  # code is left as written
    # a closing link to another page is content, not the clipper's source line
    assert a.body.endswith("[Related story](https://www.example.com/news/2024/other.html)")
    assert_clean(a.body)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Just a body, no front matter.\n", "no YAML front matter"),
        ("---\ntitle: [unclosed\nurl: https://a.example/\n---\nbody\n", "broken YAML front matter at line"),
        ("---\n- a\n- list\n---\nbody\n", "not a mapping"),
        ("---\ntitle: no link\n---\nThe body has no source link.\n", "no source URL"),
        ("---\ntitle: x\nurl: ftp://files.example/a\n---\nbody\n", "not http(s)"),
        ("---\ntitle: x\nurl: https://a.example/1\ndate: next tuesday\n---\nbody\n", "unreadable date"),
        ("---\nurl: !!python/object/apply:os.system ['true']\n---\nbody\n", "broken YAML front matter"),
        ("---\ntitle: x\nurl: https://a.example/1\nbody without a closing fence\n", "no YAML front matter"),
    ],
)
def test_unreadable_clippings_raise_parse_error_naming_the_path(text: str, problem: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_markdown(text, "clips/bad.md")
    assert problem in str(err.value)
    assert "clips/bad.md" in str(err.value)


def test_dates_with_and_without_offsets() -> None:
    def published(date_line: str) -> str:
        a = parse_markdown(f"---\nurl: https://a.example/1\n{date_line}\n---\nbody\n", "d.md")
        assert a.published is not None
        return a.published.isoformat()

    assert published('date: "2025-02-07 18:39:14"') == "2025-02-07T18:39:14+08:00"
    assert published('date: "2025-02-07T10:39:14Z"') == "2025-02-07T18:39:14+08:00"
    assert published("date: 2025-02-07") == "2025-02-07T00:00:00+08:00"
    assert published('date: "2025年2月7日 18:39"') == "2025-02-07T18:39:00+08:00"
    no_date = parse_markdown("---\nurl: https://a.example/1\n---\nbody\n", "d.md")
    assert no_date.published is None


def test_title_falls_back_to_the_first_heading() -> None:
    a = parse_markdown("---\nurl: https://a.example/1\n---\n\n# **Heading title**\n\ntext\n", "h.md")
    assert a.title == "Heading title"


def test_clean_markdown_keeps_relative_images_in_the_body_but_not_in_images() -> None:
    body, images = clean_markdown(
        "![a](img/local.png)\n\n![b](//cdn.example.com/x.jpg)\n\n![c](data:image/png;base64,AAAA)",
        base_url="https://site.example/post/1",
    )
    assert body == "![a](img/local.png)\n\n![b](https://cdn.example.com/x.jpg)"
    assert images == ("https://cdn.example.com/x.jpg",)


def test_join_cjk_lines_only_between_chinese_characters() -> None:
    html = (
        "<p>同比增长，\n        <!--k--><span><a>宁波港</a></span>新开航线"
        "\n  English words\n  continue 中文\n  结尾</p>"
    )
    assert join_cjk_lines(html) == (
        "<p>同比增长，<!--k--><span><a>宁波港</a></span>新开航线\n  English words\n  continue 中文结尾</p>"
    )
    pre = "<pre>第一行\n第二行</pre>"
    assert join_cjk_lines(pre) == pre  # in <pre> a line break is content


# --- the seeds ------------------------------------------------------------------------------------


@needs_seeds
def test_seed_qq_clipping() -> None:
    path = next(SEEDS.glob("000_*.md"))
    a = parse_markdown(path.read_text(encoding="utf-8"), str(path))
    assert a.source == "qq"
    assert a.url == "https://news.qq.com/rain/a/20250207A07NZC00"
    assert a.article_id == "20250207A07NZC00"
    assert a.title == "小米：非常抱歉，要扫大家的兴了！"
    assert a.published is not None
    assert a.published.isoformat() == "2025-02-07T18:39:14+08:00"
    assert a.cover is not None and a.cover.startswith("https://inews.gtimg.com/om_ls/")
    assert len(a.images) == 7
    assert all(u.startswith("https://inews.gtimg.com/om_bt/") for u in a.images)
    assert "new.qq.com/rain/a/" not in a.body
    assert a.body.startswith("2月7日上午，小米集团公关部总经理王化微博发文表示")
    assert_clean(a.body)


@needs_seeds
def test_seed_wechat_clipping_loses_its_148_placeholders() -> None:
    path = next(SEEDS.glob("001_*.md"))
    text = path.read_text(encoding="utf-8")
    assert text.count("data:image/svg+xml") == 148  # the seed is what the README says
    a = parse_markdown(text, str(path))
    assert a.source == "wechat"
    assert a.url == "https://mp.weixin.qq.com/s/dWAcaenAanYJpRPiA50nUA"
    assert a.title == "雷军年度演讲：小米造车，勇气从何而来，又如何冲出重围？"
    assert a.published is not None
    assert a.published.isoformat() == "2024-07-20T22:21:39+08:00"
    assert len(a.images) == 6
    assert all(u.startswith("https://mmbiz.qpic.cn/") for u in a.images)
    assert "data:" not in a.body and "data:" not in repr(a.to_dict())
    assert a.body.count("![") == 6
    assert "**左滑查看更多 ←**\n\n---\n\n以上，就是我们今天的全部内容。" in a.body
    assert_clean(a.body)


# --- hostile front matter and bodies (issue 16) ---------------------------------------------------


def test_yaml_aliases_are_refused_before_they_expand() -> None:
    with pytest.raises(ParseError, match=r"aliases \(\*name\) are not allowed"):
        parse_markdown(load("yaml-alias-bomb.md"), "yaml-alias-bomb.md")


@pytest.mark.parametrize("nested", ["[" * 20_000 + "]" * 20_000, "{a: " * 30 + "x" + "}" * 30])
def test_deeply_nested_yaml_is_refused(nested: str) -> None:
    text = f"---\ntitle: t\nurl: https://news.example.com/a/1.html\ntags: {nested}\n---\n\n正文\n"
    with pytest.raises(ParseError, match="nested deeper than 20 levels"):
        parse_markdown(text, "deep.md")


def test_surrogate_escaped_emoji_become_characters() -> None:
    a = parse_markdown(load("surrogate-emoji.md"), "surrogate-emoji.md")
    assert a.title == "\U0001f600 表情标题 \ufffd"
    assert a.tags == ("\U0001f389 庆祝",)
    for text in (a.title, a.body, *a.tags):
        text.encode("utf-8")  # nothing a database write would refuse


def test_raw_surrogates_in_the_text_do_not_crash() -> None:
    text = "---\ntitle: 标题\ud83d\nurl: https://news.example.com/a/1.html\n---\n\n正文\ud83d\ude00\n"
    a = parse_markdown(text, "raw.md")
    assert a.title == "标题\ufffd" and a.body == "正文\U0001f600"


@pytest.mark.parametrize(
    "run", ["[" * 40_000, "![" * 200_000, "<!--" * 50_000, "<script>" * 20_000, "![](data:" * 20_000, "[a](" * 50_000]
)
def test_pathological_runs_are_read_in_one_pass(run: str) -> None:
    # each of these ran for minutes (a lazy or unbounded pattern retried at every occurrence)
    text = f"---\ntitle: t\nurl: https://news.example.com/a/1.html\n---\n\n前\n\n{run}\n\n后\n"
    body = parse_markdown(text, "runs.md").body
    assert body.startswith("前") and body.endswith("后")


def test_comments_and_script_blocks_still_go() -> None:
    body, _ = clean_markdown(
        "甲<!-- 注释 -->乙<script>var a = 1;</script>丙<STYLE>p{}</style >丁", base_url="https://a.com/"
    )
    assert body == "甲乙丙丁"
