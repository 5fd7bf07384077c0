"""parse_wechat: every capture and layout, status pages, and the real pages in ../shared/corpus."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from parsers.article import SHANGHAI, Article
from parsers.errors import NotAnArticle, ParseError
from parsers.wechat import parse_wechat

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wechat"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "wechat"

# strings that only page chrome produces
FURNITURE = (
    "预览时标签不可点",
    "继续滑动看下一个",
    "阅读原文",
    "微信扫一扫",
    "关注该公众号",
    "轻点两下",
    "喜欢作者",
    "赞赏",
    "发表于",
    "微信号",
)
RAW_TAG = re.compile(r"<[a-zA-Z/!][^>\n]*>")


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def at(*args: int) -> str:
    """A Beijing time as ISO 8601 with its offset: comparing strings checks the zone too."""
    return datetime(*args, tzinfo=SHANGHAI).isoformat()


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def assert_clean(body: str, *, furniture: tuple[str, ...] = FURNITURE) -> None:
    assert "data:" not in body
    assert "![]()" not in body and "]()" not in body
    assert not RAW_TAG.search(body), RAW_TAG.search(body)
    assert "\n\n\n" not in body
    assert body == body.strip()
    for text in furniture:
        assert text not in body, text


def image_lines(body: str) -> list[str]:
    return re.findall(r"^!\[[^\]]*\]\((\S+)\)$", body, re.M)


# --- articles -------------------------------------------------------------------------------------


def test_normal_2025_raw_page() -> None:
    a = parse_wechat(fixture("normal-2025-raw.html"), "https://mp.weixin.qq.com/s/Fixture2025Short")
    assert isinstance(a, Article)
    assert a.kind == "article" and a.source == "wechat"
    assert a.title == "技术周刊第12期：界面设计"
    assert iso(a.published) == at(2025, 11, 7, 8, 31, 48)
    assert a.published is not None and a.published.utcoffset() is not None
    assert a.published.isoformat() == "2025-11-07T08:31:48+08:00"
    assert a.account == "技术周刊编辑部"
    assert a.author == "李明"
    assert a.summary == "每周分享值得一读的技术内容。"
    assert a.cover == "https://mmbiz.qpic.cn/mmbiz_jpg/fixture-cover-var/0?wx_fmt=jpeg"
    assert (a.biz, a.mid, a.idx, a.sn) == (
        "MzA5OTAwMDAwMQ==",
        "2650000001",
        "1",
        "0123456789abcdef0123456789abcdef",
    )
    assert a.url == (
        "https://mp.weixin.qq.com/s?__biz=MzA5OTAwMDAwMQ==&mid=2650000001&idx=1&sn=0123456789abcdef0123456789abcdef"
    )
    # lazy images: data-src only, &amp; decoded, // made https, in body order
    assert a.images == (
        "https://mmbiz.qpic.cn/mmbiz_jpg/fixture-cover/640?wx_fmt=jpeg&from=appmsg",
        "https://mmbiz.qpic.cn/mmbiz_png/fixture-second/640?wx_fmt=png&from=appmsg",
        "https://mmbiz.qpic.cn/mmbiz_gif/fixture-third/640?wx_fmt=gif",
    )
    assert image_lines(a.body) == list(a.images)
    # the hidden-by-style body is kept whole
    assert a.body.startswith("这里记录每周值得分享的科技内容，周五发布。")
    assert "## 界面如何设计" in a.body
    assert "**大学问**" in a.body and "[这篇文章](https://example.com/ui)" in a.body
    assert "> 避免多个操作入口。" in a.body
    # embedded cards: one line each
    assert "公众号：技术周刊编辑部" in a.body and "小程序：周刊小程序" in a.body
    assert a.body.count("技术周刊编辑部") == 1
    # the body repeated in content_noencode and the normal-article picture list are not the body
    assert "ONLY_IN_SCRIPT" not in a.body and "only-in-script" not in "".join(a.images)
    assert "pplist-not-body" not in "".join(a.images)
    assert "北京" not in a.body and "tech_weekly" not in a.body
    assert_clean(a.body)


def test_cgidatanew_only_page_uses_jsdecode_fields() -> None:
    a = parse_wechat(fixture("cgidatanew-only-2025.html"), "https://mp.weixin.qq.com/s/FixtureCgiOnly")
    assert a.title == 'R&D "季度"报告 <2025>'  # \x26amp; \x22 \x3c decoded
    assert a.account == "数据&分析"
    assert a.author == "王芳"
    # JsDecode('2025-03-09 07:05') is Beijing wall time, not UTC
    assert iso(a.published) == at(2025, 3, 9, 7, 5)
    assert a.summary == "季度研发摘要。"
    assert a.cover == "https://mmbiz.qpic.cn/mmbiz_jpg/fixture-cgi-cover/0?wx_fmt=jpeg"
    assert (a.biz, a.mid, a.idx, a.sn) == ("MzA5OTAwMDAwMg==", "2650000002", "2", "fedcba9876543210fedcba9876543210")
    # an empty #js_content falls back to the content_noencode literal
    assert a.body.split("\n\n")[0] == "第一段：研发投入增长。"
    assert a.body.endswith("第二段：人员扩充。")
    assert a.images == ("https://mmbiz.qpic.cn/mmbiz_png/fixture-noencode/640?wx_fmt=png&from=appmsg",)
    assert_clean(a.body)


def test_normal_2022_raw_page() -> None:
    a = parse_wechat(fixture("normal-2022-raw.html"), "https://mp.weixin.qq.com/s/whatever")
    assert a.title == "县里表彰33名退役军人 & 志愿者"
    assert a.account == "掌上小城"
    assert a.author is None  # empty meta author, no byline: never the account
    assert iso(a.published) == at(2022, 7, 31, 21, 34, 31)
    assert a.url.endswith("__biz=MzA5OTAwMDAwMw==&mid=2650000003&idx=8&sn=00112233445566778899aabbccddeeff")
    assert a.images == (
        "https://mmbiz.qpic.cn/mmbiz_jpg/fixture-2022-a/640?wx_fmt=jpeg&wxfrom=5&wx_lazy=1&wx_co=1",
        "https://mmbiz.qpic.cn/mmbiz_jpg/fixture-2022-b/640?wx_fmt=jpeg",
    )
    assert a.body.startswith("# 县里举行表彰大会\n\n7月29日上午")
    assert "收录于合集" not in a.body and "陕西" not in a.body
    assert_clean(a.body)


def test_2022_publish_time_script_when_var_ct_is_missing() -> None:
    html = fixture("normal-2022-raw.html").replace('var ct = "1659274471";', "")
    assert iso(parse_wechat(html, "https://mp.weixin.qq.com/s/x").published) == at(2022, 7, 31, 21, 34, 31)


def test_ids_fall_back_to_og_url_then_to_the_given_url() -> None:
    html = fixture("normal-2022-raw.html")
    start, end = html.index('  var biz = "" ||'), html.index('  var idx = "" || "8" || "";')
    no_vars = html[:start] + html[end + len('  var idx = "" || "8" || "";') :]
    a = parse_wechat(no_vars, "https://mp.weixin.qq.com/s/short")
    assert (a.biz, a.mid, a.idx, a.sn) == ("MzA5OTAwMDAwMw==", "2650000003", "8", "00112233445566778899aabbccddeeff")
    no_links = re.sub(r'<meta property="og:url"[^>]*>|// var msg_link[^\n]*', "", no_vars)
    url = "http://mp.weixin.qq.com/s?__biz=MzA5OTAwMDAwMw==&mid=2650000003&idx=8&sn=00112233445566778899aabbccddeeff&chksm=1#rd"
    b = parse_wechat(no_links, url)
    assert b.url == (
        "https://mp.weixin.qq.com/s?__biz=MzA5OTAwMDAwMw==&mid=2650000003&idx=8&sn=00112233445566778899aabbccddeeff"
    )
    c = parse_wechat(no_links, "https://mp.weixin.qq.com/s/AbCdEf?scene=1#rd")
    assert c.sn is None and c.url == "https://mp.weixin.qq.com/s/AbCdEf"


def test_legacy_2016_page_with_h2_post_user_em_byline_and_date_only() -> None:
    a = parse_wechat(fixture("legacy-2016.html"), "https://mp.weixin.qq.com/s?__biz=MzA5OTAwMDAwNA==&mid=1&idx=1")
    assert a.title == "老文章：春天的第一场雨"
    assert a.account == "雨巷文学"
    assert a.author == "张三"
    # no script time at all: the date-only #post-date, at Beijing midnight
    assert iso(a.published) == at(2016, 5, 4)
    assert a.sn is None and a.url == "https://mp.weixin.qq.com/s?__biz=MzA5OTAwMDAwNA==&mid=1&idx=1"
    assert a.images == ("https://mmbiz.qpic.cn/mmbiz/fixture-2016/0?wx_fmt=jpeg",)
    assert "- 第一件事\n- 第二件事" in a.body
    assert "12" not in a.body  # the like counter
    assert_clean(a.body)


def test_rendered_2020_page_with_placeholders_and_players() -> None:
    a = parse_wechat(fixture("rendered-2020.html"), "https://mp.weixin.qq.com/s/FixtureRendered?scene=1#rd")
    assert a.title == "新款手机正式发布"
    assert a.account == "爱玩科技"
    assert a.author is None
    # no var ct: the publish-time script's own timestamp, never "昨天"
    assert iso(a.published) == at(2020, 2, 12, 22, 17, 54)
    assert "昨天" not in a.body
    assert a.biz == "MzA5OTAwMDAwNQ==" and a.sn is None
    assert a.url == "https://mp.weixin.qq.com/s/FixtureRendered"
    assert a.cover == "https://mmbiz.qpic.cn/mmbiz_jpg/fixture-2020-cover/0?wx_fmt=jpeg"
    assert a.images == (
        "https://mmbiz.qpic.cn/mmbiz_jpg/fixture-2020-a/640?wx_fmt=jpeg",
        "https://mmbiz.qpic.cn/mmbiz_jpg/fixture-2020-b/640?wx_fmt=jpeg",
        "https://mmbiz.qpic.cn/mmbiz_png/fixture-2020-c/640?wx_fmt=png",
    )
    assert "🎵 发布会现场录音" in a.body
    assert "[视频](https://v.qq.com/txp/iframe/player.html?vid=fixture2020v&auto=0)" in a.body
    for chrome in ("13:45", "00:00", "00:16", "重播", "分享", "当前浏览器不支持", "来自爱玩科技", "aiwan"):
        assert chrome not in a.body, chrome
    assert a.body.endswith("信息来源于网络")
    assert_clean(a.body)


def test_browser_saved_2017_page_with_local_files_and_video() -> None:
    a = parse_wechat(fixture("saved-2017.htm"), "https://mp.weixin.qq.com/s/Saved")
    assert a.title == "动画丨问题归零"
    assert a.account == "槽逻辑学"
    assert a.author == "槽干事"
    assert iso(a.published) == at(2017, 10, 27, 17, 53, 56)
    assert a.url == (
        "https://mp.weixin.qq.com/s?__biz=MzA5OTAwMDAwNg==&mid=2247480006&idx=1&sn=66666666666666666666666666666666"
    )
    assert a.images == (
        "https://mmbiz.qpic.cn/mmbiz_jpg/fixture-2017-a/0?wx_fmt=jpeg",
        "https://mmbiz.qpic.cn/mmbiz_jpg/fixture-2017-b/0?wx_fmt=jpeg",
    )
    assert "_files" not in a.body
    assert "[视频](https://v.qq.com/iframe/player.html?vid=fixture17v&width=670&height=376&auto=0)" in a.body
    assert "除了赞赏" not in a.body and "槽干事" not in a.body
    assert_clean(a.body)


def test_code_snippet_drops_the_line_index_gutter() -> None:
    a = parse_wechat(fixture("code-snippet-2023.html"), "https://mp.weixin.qq.com/s/code")
    assert a.author == "陈工" and a.account == "代码日常"
    assert iso(a.published) == at(2023, 11, 15, 6, 13, 20)
    assert "```python\ndef squares(n):\n    return [i * i for i in range(n)]\nprint(squares(4))\n```" in a.body
    assert "`[0, 1, 4, 9]`" in a.body
    assert_clean(a.body)


def test_audio_keeps_titles_without_player_chrome() -> None:
    a = parse_wechat(fixture("mpvoice-2018.html"), "https://mp.weixin.qq.com/s/voice")
    assert iso(a.published) == at(2018, 9, 22, 20, 0)
    assert a.account == "午夜电台" and a.author is None
    assert "🎵 秋天的歌（完整版）" in a.body
    assert "🎵 南山南" in a.body  # qqmusic names its title music_name
    assert "🎵 晴天" in a.body  # a rendered qqmusic player
    for chrome in ("13:45", "00:00", "当前浏览器不支持", "周杰伦"):
        assert chrome not in a.body
    assert a.body.startswith("本期节目：") and a.body.endswith("谢谢收听。")
    assert_clean(a.body)


def test_reprint_records_the_original_account() -> None:
    a = parse_wechat(fixture("reprint-2021.html"), "https://mp.weixin.qq.com/s/reprint")
    assert a.kind == "article"
    assert a.account == "转载者号"
    assert a.original_account == "原创者号"
    assert a.author == "赵六"
    assert iso(a.published) == at(2021, 7, 1, 8, 0)
    assert "原创者号的简介" not in a.body and "以下文章来源于" not in a.body
    assert a.body.startswith("这是转载文章的全文第一段。")
    assert a.images == ("https://mmbiz.qpic.cn/mmbiz_jpg/fixture-reprint/640?wx_fmt=jpeg",)
    assert_clean(a.body)


def test_video_post_kind() -> None:
    html = fixture("normal-2022-raw.html").replace('var item_show_type = "0";', 'var item_show_type = "5";')
    a = parse_wechat(html, "https://mp.weixin.qq.com/s/video")
    assert a.kind == "video" and a.title == "县里表彰33名退役军人 & 志愿者"


def test_standalone_furniture_paragraphs_are_dropped_but_prose_mentioning_them_is_kept() -> None:
    html = fixture("code-snippet-2023.html").replace(
        "<p>下面的代码计算平方：</p>",
        "<p>下面的代码计算平方，喜欢请点阅读原文：</p><section><p><span>阅读原文</span></p></section><p>分享</p>",
    )
    a = parse_wechat(html, "https://mp.weixin.qq.com/s/code")
    assert a.body.startswith("下面的代码计算平方，喜欢请点阅读原文：\n\n分享\n\n```python")


def test_original_article_has_no_original_account() -> None:
    a = parse_wechat(fixture("code-snippet-2023.html"), "https://mp.weixin.qq.com/s/code")
    assert a.original_account is None and a.original_url is None


# --- picture, text and share posts ---------------------------------------------------------------


def test_picture_post() -> None:
    a = parse_wechat(fixture("picture-2025.html"), "https://mp.weixin.qq.com/s/FixturePicture")
    assert a.kind == "picture"
    assert a.title == "车价创新低，价格战侵蚀供应链"
    assert a.account == "三十六氪"
    assert a.author is None
    assert iso(a.published) == at(2025, 11, 5, 18, 30)
    # only each item's own cdn_url: not the watermark or share-cover nested inside it
    assert a.images == (
        "https://mmbiz.qpic.cn/mmbiz_png/fixture-pic-1/0?wx_fmt=png&from=appmsg",
        "https://mmbiz.qpic.cn/mmbiz_png/fixture-pic-2/0?wx_fmt=png&from=appmsg",
        "https://mmbiz.qpic.cn/mmbiz_jpg/fixture-pic-3/0?wx_fmt=jpeg",
    )
    assert image_lines(a.body) == list(a.images)
    assert a.body.startswith('今年，价格战寒气越发深入。\n\n均价下滑至15.8万元，为"六年新低"。')
    assert "【作者丨徐某】" in a.body
    assert a.summary == "今年，价格战寒气越发深入。 均价下滑至15.8万元。"
    assert a.cover == "https://mmbiz.qpic.cn/mmbiz_jpg/fixture-pic-og/0?wx_fmt=jpeg"
    assert a.sn == "77777777777777777777777777777777"
    assert_clean(a.body)


def test_text_post() -> None:
    a = parse_wechat(fixture("text-2025.html"), "https://mp.weixin.qq.com/s/FixtureTextPost")
    assert a.kind == "text"
    assert a.title == "AI编程带给程序员的危与机"
    assert a.account == "编程宇宙"
    assert a.author is None
    # no window.ct: create_time: '…' * 1
    assert iso(a.published) == at(2025, 10, 7, 14, 13, 11)
    assert a.body.startswith("这两年经常听到AI编程要取代程序员的论调。\n\n先说结论：")
    assert "1、前端危" in a.body and a.body.endswith("欢迎留言。")
    assert a.images == ()
    assert_clean(a.body, furniture=FURNITURE[:-3])


def test_text_post_with_legacy_cgidata() -> None:
    html = fixture("text-2025.html").replace("window.cgiDataNew = {", "window.cgiData = {")
    a = parse_wechat(html, "https://mp.weixin.qq.com/s/FixtureTextPost")
    assert a.kind == "text" and a.account == "编程宇宙"
    assert iso(a.published) == at(2025, 10, 7, 14, 13, 11)
    assert a.body.startswith("这两年经常听到AI编程要取代程序员的论调。")


def test_album_without_page_mid_is_recognised_by_its_list() -> None:
    html = fixture("album.html").replace("var PAGE_MID='mmbizwap:pages/album.html';", "")
    with pytest.raises(NotAnArticle) as err:
        parse_wechat(html, "https://mp.weixin.qq.com/s/album")
    assert err.value.reason == "not-article"


def test_share_card_keeps_comment_and_link() -> None:
    a = parse_wechat(fixture("share-comment-2019.html"), "https://mp.weixin.qq.com/s/FixtureShare")
    original = (
        "https://mp.weixin.qq.com/s?__biz=MzA5OTAwMDAxMA==&mid=2247400010&idx=1&sn=10101010101010101010101010101010"
    )
    assert a.kind == "share"
    assert a.title == "和死神赛跑：留住父亲的声音"
    assert a.account == "小峰的网络日志"
    assert a.author is None
    assert iso(a.published) == at(2019, 11, 25, 20, 7, 23)
    assert a.original_account == "索罗"
    assert a.original_url == original
    assert a.body.startswith("上周我推荐了一篇长文。\n\n真有网友翻译了，而且译得很好。")
    assert f"[和死神赛跑：留住父亲的声音]({original})" in a.body
    assert "阅读全文" not in a.body and "nbsp" not in a.body
    assert a.images == ()
    assert_clean(a.body)


def test_rendered_share_card_reads_the_comment_from_the_dom() -> None:
    html = fixture("share-comment-2019.html")
    start = html.index('<p class="share_notice" id="js_share_notice">')
    end = html.index("</p>", start) + 4
    html = html[:start] + '<p class="share_notice" id="js_share_notice">转发一篇好文<br>值得一读</p>' + html[end:]
    a = parse_wechat(html, "https://mp.weixin.qq.com/s/FixtureShare")
    assert a.kind == "share"
    assert a.body.startswith("转发一篇好文\n\n值得一读")


def test_empty_share_card_is_not_an_article() -> None:
    with pytest.raises(NotAnArticle) as err:
        parse_wechat(fixture("share-empty.html"), "https://mp.weixin.qq.com/s/FixtureShareEmpty")
    assert err.value.reason == "not-article"
    assert "sn=10101010101010101010101010101010" in err.value.detail
    assert err.value.url == "https://mp.weixin.qq.com/s/FixtureShareEmpty"


# --- status pages and garbage --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("deleted-zh.html", "deleted"),
        ("deleted-en.html", "deleted"),
        ("violation.html", "removed"),
        ("violation-en.html", "removed"),
        ("verify-shell.html", "verification"),
        ("rate-limit.html", "verification"),
        ("env-abnormal.html", "verification"),
        ("unavailable-tiny.html", "unavailable"),
        ("migrated.html", "unavailable"),
        ("expired.html", "expired"),
        ("album.html", "not-article"),
    ],
)
def test_status_pages(name: str, reason: str) -> None:
    url = "https://mp.weixin.qq.com/s/status"
    with pytest.raises(NotAnArticle) as err:
        parse_wechat(fixture(name), url)
    assert err.value.reason == reason
    assert err.value.url == url


def test_violation_detail_comes_from_the_page_data() -> None:
    with pytest.raises(NotAnArticle) as err:
        parse_wechat(fixture("violation.html"), "https://mp.weixin.qq.com/s/v")
    assert err.value.detail == "涉嫌过度营销、骚扰用户"


def test_verification_detail_names_the_target_article() -> None:
    with pytest.raises(NotAnArticle) as err:
        parse_wechat(fixture("verify-shell.html"), "https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?poc_token=x")
    assert err.value.reason == "verification"
    assert "https://mp.weixin.qq.com/s/FixtureTarget" in err.value.detail


def test_verification_shell_is_recognised_by_structure_alone() -> None:
    # no PAGE_MID, no words: an empty message box its scripts would fill
    html = fixture("verify-shell.html").replace("var PAGE_MID='mmbizwap:secitptpage/verify.html';", "")
    with pytest.raises(NotAnArticle) as err:
        parse_wechat(html, "https://mp.weixin.qq.com/s/v")
    assert err.value.reason == "verification"


def test_captcha_url_is_verification() -> None:
    html = "<html><body><div id='app'></div><script>var x = 1;</script></body></html>"
    with pytest.raises(NotAnArticle) as err:
        parse_wechat(html, "https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?poc_token=x&target_url=y")
    assert err.value.reason == "verification"


def test_article_text_quoting_a_status_phrase_is_still_an_article() -> None:
    html = fixture("code-snippet-2023.html").replace("下面的代码计算平方：", "该内容已被发布者删除？访问过于频繁？")
    a = parse_wechat(html, "https://mp.weixin.qq.com/s/code")
    assert a.kind == "article" and "访问过于频繁" in a.body


def test_album_api_json_is_not_an_article() -> None:
    with pytest.raises(NotAnArticle) as err:
        parse_wechat(fixture("album-api.json"), "https://mp.weixin.qq.com/mp/appmsgalbum?action=getalbum")
    assert err.value.reason == "not-article"


@pytest.mark.parametrize(
    "page",
    [
        "",
        "   \n\t ",
        "\x00\x01\x02\x03PK\x03\x04 binary",
        '{"ret": 0, "msg": "ok"}',
        "just some words, no markup at all",
        "<html><head></head><body></body></html>",
    ],
)
def test_unreadable_input_is_a_parse_error(page: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_wechat(page, "https://mp.weixin.qq.com/s/garbage")
    assert err.value.url == "https://mp.weixin.qq.com/s/garbage"


def test_same_input_same_article() -> None:
    html = fixture("rendered-2020.html")
    assert parse_wechat(html, "https://mp.weixin.qq.com/s/a") == parse_wechat(html, "https://mp.weixin.qq.com/s/a")


# --- the real pages -------------------------------------------------------------------------------

# prefix -> expected facts, from ../shared/corpus/wechat/README.md
CORPUS_FACTS: dict[str, dict[str, object]] = {
    "01": {
        "kind": "article",
        "title": "科技爱好者周刊#372：软件界面如何设计",
        "account": "阮一峰的网络日志",
        "author": "阮一峰",
        "published": at(2025, 11, 7, 8, 31, 48),
        "images": 51,
    },
    "03": {
        "kind": "picture",
        "title": "新能源车均价创6年新低，价格战「寒气」侵蚀供应链",
        "account": "36氪",
        "author": None,
        "published": at(2025, 11, 5, 18, 30, 0),
        "images": 4,
    },
    "04": {
        "kind": "text",
        "title": "AI编程带给程序员的危与机",
        "account": "轩辕的编程宇宙",
        "author": None,
        "published": at(2025, 10, 7, 14, 13, 11),
        "images": 0,
    },
    "06": {
        "kind": "share",
        "title": "和死神赛跑：趁父亲还在世，我想用人工智能留住他",
        "account": "阮一峰的网络日志",
        "author": None,
        "published": at(2019, 11, 25, 20, 7, 23),
    },
    "07": {"status": "deleted"},
    "09": {"status": "removed"},
    "11": {"status": "verification"},
    "13": {"status": "not-article"},
    "14": {
        "kind": "article",
        "title": "绥德：33名退役军人被表彰",
        "account": "掌上绥德",
        "author": None,
        "published": at(2022, 7, 31, 21, 34, 31),
        "images": 6,
    },
    "16": {
        "kind": "article",
        "title": "三星 Galaxy S20 系列手机正式发布",
        "account": "爱否科技",
        "author": None,
        "published": at(2020, 2, 12, 22, 17, 54),
        "images": 6,
    },
    "19": {
        "kind": "article",
        "title": "槽动画丨问题归零",
        "account": "槽逻辑",
        "author": "槽干部",
        "published": at(2017, 10, 27, 17, 53, 56),
        "images": 2,
    },
}
# chrome that never appears in these articles' own text
CORPUS_FURNITURE = ("预览时标签不可点", "继续滑动看下一个", "微信扫一扫", "关注该公众号", "轻点两下", "喜欢作者")

corpus_pages = sorted(CORPUS.glob("*.htm*")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not corpus_pages, reason="../shared/corpus/wechat is not here")
@pytest.mark.parametrize("path", corpus_pages, ids=lambda p: p.name)
def test_corpus_page(path: Path) -> None:
    html = path.read_text(encoding="utf-8")
    url = "https://mp.weixin.qq.com/s/corpus"
    facts = CORPUS_FACTS.get(path.name[:2], {})
    if "status" in facts:
        with pytest.raises(NotAnArticle) as err:
            parse_wechat(html, url)
        assert err.value.reason == facts["status"]
        return
    a = parse_wechat(html, url)
    for key in ("kind", "title", "account", "author"):
        if key in facts:
            assert getattr(a, key) == facts[key], key
    assert iso(a.published) == facts.get("published", iso(a.published))
    if "images" in facts:
        assert len(a.images) == facts["images"]
    assert a.published is not None and a.published.tzinfo is not None
    assert a.title and a.account and a.body
    assert all(u.startswith("https://") for u in a.images)
    assert image_lines(a.body) == list(a.images) or a.kind == "share"
    assert a.url.startswith("https://mp.weixin.qq.com/s")
    assert_clean(a.body, furniture=CORPUS_FURNITURE)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/wechat is not here")
def test_corpus_specifics() -> None:
    def page(prefix: str) -> Article:
        (path,) = CORPUS.glob(f"{prefix}-*.htm*")
        return parse_wechat(path.read_text(encoding="utf-8"), "https://mp.weixin.qq.com/s/corpus")

    normal = page("01")
    assert normal.url == (
        "https://mp.weixin.qq.com/s?__biz=MzI4NjAxNjY4Nw==&mid=2650242275&idx=1&sn=522b4a6728fcde7b55e73a5568e2c028"
    )
    share = page("06")
    assert share.original_account == "索罗说"
    assert share.original_url is not None and "mid=2247483687" in share.original_url
    assert share.body.startswith("上周，我推荐《在线》杂志的长文")
    assert share.original_url in share.body
    saved = page("19")
    assert "[视频](https://v.qq.com/iframe/player.html?vid=h13270kmush" in saved.body
    assert "_files" not in saved.body
    rendered = page("16")
    assert "昨天" not in rendered.body
    picture = page("03")
    assert picture.body.startswith("今年，中国汽车行业价格战，寒气越发深入。")
    text = page("04")
    assert text.body.endswith("你对AI编程有什么想了解的，欢迎留言，我会逐一回答。")
    album_api = CORPUS / "21-api-appmsgalbum-getalbum.json"
    if album_api.exists():
        with pytest.raises(NotAnArticle) as err:
            parse_wechat(album_api.read_text(encoding="utf-8"), "https://mp.weixin.qq.com/mp/appmsgalbum")
        assert err.value.reason == "not-article"
