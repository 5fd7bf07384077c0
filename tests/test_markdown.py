"""HTML to Markdown: what a person keeps, nothing that is page machinery."""

from __future__ import annotations

import re

import pytest

from parsers.markdown import _tidy, clean_image_url, html_to_markdown, is_placeholder

BASE = "https://mp.weixin.qq.com/s/x"
SVG_1PX = (
    "data:image/svg+xml,%3C%3Fxml version='1.0' encoding='UTF-8'%3F%3E%3Csvg width='1px' height='1px' "
    "viewBox='0 0 1 1' xmlns='http://www.w3.org/2000/svg'%3E%3C/svg%3E"
)
GIF_1PX = "data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="


def md(html: str) -> str:
    return html_to_markdown(html, base_url=BASE).markdown


def assert_clean(text: str) -> None:
    assert "data:" not in text
    assert "![]()" not in text and "![图片]()" not in text
    assert not re.search(r"</?[a-z][^>]*>", text), text
    assert "\n\n\n" not in text
    assert "javascript:" not in text


def test_lazy_images_take_the_real_url_and_placeholders_vanish() -> None:
    html = f"""<div>
      <p>开头</p>
      <p><img src="{SVG_1PX}" data-src="https://mmbiz.qpic.cn/a/640?wx_fmt=png&amp;from=appmsg" class="rich_pages"></p>
      <p><img src="{GIF_1PX}" class="img_loading"></p>
      <p><img src="{SVG_1PX}"></p>
      <section><img src="./page_files/640.jpeg" data-src="//mmbiz.qpic.cn/b/640?wx_fmt=jpeg"></section>
      <p><img src="./page_files/local-only.jpeg"></p>
      <p><img src="https://x.com/1.gif" width="1" height="1"></p>
      <p>结尾</p></div>"""
    out = html_to_markdown(html, base_url=BASE)
    assert out.images == (
        "https://mmbiz.qpic.cn/a/640?wx_fmt=png&from=appmsg",
        "https://mmbiz.qpic.cn/b/640?wx_fmt=jpeg",
    )
    assert out.markdown == (
        "开头\n\n![图片](https://mmbiz.qpic.cn/a/640?wx_fmt=png&from=appmsg)\n\n"
        "![图片](https://mmbiz.qpic.cn/b/640?wx_fmt=jpeg)\n\n结尾"
    )
    assert_clean(out.markdown)


@pytest.mark.parametrize(
    "url",
    [SVG_1PX, GIF_1PX, "data:image/png;base64,iVBORw0KGgo=", "https://a.com/img_loading.gif", "https://a.com/s/blank.gif",
     "./x_files/1.jpg", "about:blank", ""],
)  # fmt: skip
def test_placeholders(url: str) -> None:
    assert is_placeholder(url) or clean_image_url(url, BASE) is None


def test_image_urls_are_absolute_https_and_entity_free() -> None:
    assert (
        clean_image_url("//inews.gtimg.com/newsapp_bt/0/1/1000", BASE) == "https://inews.gtimg.com/newsapp_bt/0/1/1000"
    )
    assert (
        clean_image_url("http://mmbiz.qpic.cn/a/0?wx_fmt=gif&amp;tp=webp", BASE)
        == "https://mmbiz.qpic.cn/a/0?wx_fmt=gif&tp=webp"
    )
    assert clean_image_url("/img/a.jpg", "https://example.com/news/1.html") == "https://example.com/img/a.jpg"


def test_structure_headings_lists_quotes_tables_links() -> None:
    html = """<h2><strong>一、</strong><strong>标题</strong></h2>
      <p>正文 <strong>加粗</strong><strong>相连</strong> 与 <em>斜体</em>，见<a href="https://example.com/a?b=1&amp;c=2">链接</a>和<a
      href="javascript:void(0)">假链接</a>。</p>
      <ol><li>第一</li><li>第二<ul><li>子项</li></ul></li></ol>
      <blockquote><p>引用一</p><p>引用二</p></blockquote>
      <table><tr><th>名</th><th>值</th></tr><tr><td>甲</td><td>1|2</td></tr></table><hr><p>完</p>"""
    assert md(html) == (
        "## 一、标题\n\n"
        "正文 **加粗相连** 与 *斜体*，见[链接](https://example.com/a?b=1&c=2)和假链接。\n\n"
        "1. 第一\n2. 第二\n   - 子项\n\n"
        "> 引用一\n>\n> 引用二\n\n"
        "| 名 | 值 |\n| --- | --- |\n| 甲 | 1\\|2 |\n\n---\n\n完"
    )


def test_code_snippet_loses_its_line_number_gutter_and_keeps_indentation() -> None:
    html = """<pre class="code-snippet__js code-snippet code-snippet_nowrap" data-lang="python">
      <ul class="code-snippet__line-index code-snippet__js"><li></li><li></li></ul>
      <code><span class="code-snippet_outer">def f(x):</span></code><code><span class="code-snippet_outer">    return x  # 注释</span></code></pre>"""
    assert md(html) == "```python\ndef f(x):\n    return x  # 注释\n```"


def test_embeds_audio_and_hidden_text() -> None:
    html = """<p>前</p><mpvoice name="第一期节目" play_length="825000" voice_encode_fileid="x"></mpvoice>
      <iframe class="video_iframe" data-src="https://v.qq.com/iframe/preview.html?vid=abc&amp;width=500" src=""></iframe>
      <span class="weui-a11y_ref">图片</span><p style="display: none">隐藏</p><script>var a = 1;</script>
      <p style="visibility: hidden">可见的正文</p>"""
    assert md(html) == (
        "前\n\n🎵 第一期节目\n\n[视频](https://v.qq.com/iframe/preview.html?vid=abc&width=500)\n\n可见的正文"
    )


def test_whitespace_chinese_line_breaks_and_blank_runs() -> None:
    html = "<p>同比增长，\n      <span>宁波港</span>表现\n  good  and\n fine</p><p><br></p><p>&nbsp;</p><p><br><br></p><p>下一段</p>"
    assert md(html) == "同比增长，宁波港表现 good and fine\n\n下一段"


def test_markup_characters_in_text_are_escaped() -> None:
    assert md("<p>a*b*c [x](y) &lt;tag&gt;</p>") == r"a\*b\*c \[x\](y) &lt;tag&gt;"


def test_empty_input() -> None:
    assert md("") == "" and md("<div><p> </p><img src='data:image/gif;base64,R0l'></div>") == ""


# --- budgets: deep nesting and pathological runs (issue 16) ----------------------------------------


@pytest.mark.parametrize("open_tag", ["<div>", "<b>", "<blockquote>", "<ul><li>", "<table><tr><td>"])
def test_deep_nesting_is_rendered_flat_past_the_render_depth(open_tag: str) -> None:
    depth = 2_000
    close = "".join(f"</{t}>" for t in reversed(open_tag[1:-1].split("><")))
    html = open_tag * depth + '深处的文字<img src="https://img.example.com/deep.jpg">' + close * depth
    rendered = html_to_markdown(html, base_url="https://news.example.com/")
    assert "深处的文字" in rendered.markdown
    assert rendered.images == ("https://img.example.com/deep.jpg",)


def test_nested_tables_render_each_row_once() -> None:
    html = "<table><tr><td>外</td><td>" + "<table><tr><td>内</td><td>格</td></tr></table>" + "</td></tr></table>"
    md = html_to_markdown(html, base_url="https://news.example.com/").markdown
    assert md.count("内") == 1


@pytest.mark.parametrize(
    "run", ["*" * 30, "**" * 5_000 + "x", "~~" * 5_000 + "x", " " * 50_000 + "x", "`" * 50_000, "[" * 40_000]
)
def test_pathological_runs_come_out_whole(run: str) -> None:
    # each once took minutes (exponential or quadratic backtracking); now they are plain text
    md = _tidy(f"前\n\n{run}\n\n后")
    assert md.startswith("前") and md.endswith("后")


def test_empty_markup_lines_are_dropped() -> None:
    assert _tidy("甲\n\n** **\n\n~~~~\n\n乙") == "甲\n\n乙"


# --- page chrome every parser drops (issue 12) ------------------------------------------------------


@pytest.mark.parametrize(
    "img",
    [
        '<img src="http://www.qq.com/favicon.ico">',
        '<img src="https://example.com/static/favicon-32x32.png">',
        '<img src="https://example.com/apple-touch-icon.png">',
        '<img src="https://cdn.example.com/a/logo.ico?v=2">',
        '<img src="https://cdn.example.com/arrow.png" width="16" height="16">',
        '<img src="https://cdn.example.com/arrow.png" width="12px" height="12">',
    ],
)
def test_site_icons_are_not_article_images(img: str) -> None:
    rendered = html_to_markdown(f"<p>正文{img}</p>", base_url="https://news.example.com/")
    assert rendered.images == () and rendered.markdown == "正文"


def test_small_but_real_pictures_stay() -> None:
    html = '<p><img src="https://cdn.example.com/chart.png" width="16" height="300"><img src="https://cdn.example.com/b.png" width="100%"></p>'
    assert len(html_to_markdown(html, base_url="https://news.example.com/").images) == 2


def test_zero_sized_screen_reader_text_is_dropped() -> None:
    html = '<p>正文。<span style="width:0;height:0;overflow:hidden;display:block;font:0/0 Arial">正文已结束</span></p>'
    assert md(html) == "正文。"
    assert md('<p style="max-width:0;height:0">可见</p>') == "可见"


# --- only <pre> and code snippets are code (issue 15) -----------------------------------------------

PRETTIFIED_PORTAL = """
<div class="article">
    <div class="txt">
        <p>
            第一段正文，由格式化工具缩进了十二个空格。
        </p>
        <p>&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;第二段用不换行空格缩进。</p>
        <p>&#12288;&#12288;第三段用全角空格缩进。</p>
        <div>
	<span>	</span><span>    </span>第四段前面是制表符和空白的行内元素。
        </div>
        <div>  <b> </b> <i> </i>    <span>第五段</span></div>
        <table><tr><td>
                    单列表格里缩进的文字
        </td></tr></table>
    </div>
</div>
"""


def test_indented_page_markup_is_never_code() -> None:
    out = md(PRETTIFIED_PORTAL)
    assert "```" not in out
    assert not any(line.startswith(("    ", "\t")) for line in out.split("\n"))
    for n in ("第一段", "第二段", "第三段", "第四段", "第五段", "单列表格"):
        assert n in out


def test_pre_and_code_snippets_are_the_only_fences() -> None:
    html = "<p>看代码：</p><pre><code>def f():\n    return 1</code></pre><p>    缩进的段落</p>"
    out = md(html)
    assert out.count("```") == 2
    assert "```\ndef f():\n    return 1\n```" in out
    assert out.endswith("\n\n缩进的段落")
