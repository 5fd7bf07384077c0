"""parsers.qq: the three qq.com layouts and its status pages, on own fixtures and the real corpus."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from parsers import parse
from parsers.article import SHANGHAI, Article
from parsers.errors import NotAnArticle, ParseError
from parsers.qq import parse_qq

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "qq"
CORPUS = ROOT.parent / "shared" / "corpus" / "qq"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")

_RAW_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|<!--")

CMS_2019_URL = "https://news.qq.com/a/20190923/001234.htm"
OM_URL = "https://new.qq.com/omn/20190908/20190908A0ABCD00.html"


def load(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def assert_clean(a: Article) -> None:
    body = a.body
    assert body, "empty body"
    assert "data:" not in body
    assert "javascript:" not in body
    assert not _RAW_TAG.search(body), _RAW_TAG.search(body)
    assert "\n\n\n" not in body
    assert "![](" not in body and "]()" not in body
    assert body == body.strip()
    assert all(u.startswith("https://") for u in a.images)
    assert a.cover is None or a.cover.startswith(("https://", "http://"))
    assert a.source == "qq"
    assert a.published is None or a.published.utcoffset() == SHANGHAI.utcoffset(None)


# --- CMS pages --------------------------------------------------------------------------------------


def test_cms_page_with_a_time_and_in_body_noise() -> None:
    a = parse_qq(load("cms-2019-a_time-stale-gb2312.html"), CMS_2019_URL + "?from=share#p=1")
    assert a.kind == "article"
    assert a.url == CMS_2019_URL
    assert a.article_id == "20190923001234"
    assert a.key == "qq:20190923001234"
    assert a.title == "港口吞吐量创新高 集装箱航线再扩容"
    assert a.published is not None
    assert a.published.isoformat() == "2019-09-23T07:48:00+08:00"
    assert a.account == "新华网"
    assert a.author == "王小明"
    assert a.summary == "今年前八个月，沿海港口集装箱吞吐量同比增长。"
    assert a.images == ("https://inews.gtimg.com/newsapp_match/0/9900001/0",)
    assert a.cover == a.images[0]
    # the ticker tooltip's word stays as plain text; the pretty-printer's line break before it is no space
    assert "吞吐量同比增长，宁波港新开航线十余条。" in a.body
    assert "码头上的集装箱（资料图）" in a.body
    assert a.body.endswith("业内人士表示，航线扩容将进一步降低外贸企业的物流成本。")
    for noise in ("微博", "()", "stockhtm", "ShowInfo", "精彩视频推荐", "港口夜景", "正在加载",
                  "related_video_info", "版权声明", "未经授权", "责任编辑", "我要评论", "v.qq.com"):  # fmt: skip
        assert noise not in a.body, noise
    assert_clean(a)


def test_cms_page_with_time_only_in_article_info() -> None:
    a = parse_qq(load("cms-2016-article-info-only.html"), "http://tech.qq.com/a/20161014/005555.htm")
    assert a.url == "https://tech.qq.com/a/20161014/005555.htm"
    assert a.article_id == "20161014005555"
    assert a.title == "新型电池能量密度提升三成"
    assert a.published is not None
    assert a.published.isoformat() == "2016-10-14T07:17:00+08:00"  # from "2016年10月14日07:17"
    assert a.account == "TNW中文站"
    assert a.summary == ""  # the description only repeats the title
    # the share widget's real picture stays, its base64 twin does not
    assert a.images == ("https://img1.gtimg.com/tech/pics/hv1/1/2/3/000000001.jpg",)
    assert "该成果已发表在科学期刊上。" in a.body
    for noise in ("转播到腾讯微博", "The Next Web", "未经授权", "我要分享"):
        assert noise not in a.body, noise
    assert_clean(a)


# --- OM pages ---------------------------------------------------------------------------------------


def test_om_page_body_images_captions_and_window_data() -> None:
    a = parse_qq(load("om-2019-content-article.html"), OM_URL)
    assert a.kind == "article"
    assert a.url == "https://news.qq.com/rain/a/20190908A0ABCD00"
    assert a.article_id == "20190908A0ABCD00"
    # the title holds braces inside a string, and window.DATA ends without ";"
    assert a.title == '古镇老街修缮完工 "{旧貌}"换新颜'
    assert a.published is not None
    assert a.published.isoformat() == "2019-09-08T19:02:26+08:00"  # pubtime, not apub:time 21:30:50
    assert a.account == "江南晚报"
    assert a.summary == "历时两年的修缮工程日前完工，老街重新开放。"
    assert a.images == (
        "https://inews.gtimg.com/newsapp_bt/0/1100000001/1000",
        "https://inews.gtimg.com/newsapp_bt/0/1100000002/1000",
        "https://inews.gtimg.com/newsapp_bt/0/1100000003/1000",  # lazy: data-src behind a data: src
    )
    assert a.cover == a.images[0]
    assert a.body.startswith("![图片](https://inews.gtimg.com/newsapp_bt/0/1100000001/1000)")
    assert "![图片](https://inews.gtimg.com/newsapp_bt/0/1100000002/1000)\n\n*修缮后的老街入口*" in a.body
    assert "**修旧如旧**" in a.body
    assert a.body.endswith("江南晚报记者 李华")
    for noise in ("历时两年", "免责声明", "相关推荐", "别的文章", "分享", "评论"):
        assert noise not in a.body, noise
    assert_clean(a)


def test_om_video_exists_only_in_a_video_arr_script() -> None:
    a = parse_qq(load("om-2020-video-videoarr.html"), "https://new.qq.com/omn/TWF20201/TWF2020102000111100.html")
    assert a.kind == "video"
    assert a.article_id == "TWF2020102000111100"
    assert a.url == "https://news.qq.com/rain/a/TWF2020102000111100"
    assert a.title == "航拍：秋日梯田层林尽染"
    assert a.published is not None
    assert a.published.isoformat() == "2020-10-20T10:27:11+08:00"
    assert a.account == "山城视频"
    assert a.summary == "金秋时节，山区梯田色彩斑斓，宛如一幅油画。"
    assert a.images == ()
    assert a.cover == "https://inews.gtimg.com/newsapp_ls/0/12000000001_640480/0"
    assert a.body == (
        "[视频：航拍：秋日梯田层林尽染](https://v.qq.com/x/page/k0000abcd12.html)\n\n"
        "金秋时节，山区梯田色彩斑斓，宛如一幅油画。"
    )
    assert_clean(a)


# --- current pages: window.DATA only ----------------------------------------------------------------


def test_rain_page_body_comes_from_window_data() -> None:
    a = parse_qq(load("rain-2025-window-data.html"), "https://new.qq.com/rain/a/20250301A01ABC00?adChannelId=x")
    assert a.kind == "article"
    assert a.url == "https://news.qq.com/rain/a/20250301A01ABC00"
    assert a.article_id == "20250301A01ABC00"
    assert a.key == "qq:20250301A01ABC00"
    assert a.title == "图书馆新馆开放 首日读者超五千人次"
    assert a.published is not None
    assert a.published.isoformat() == "2025-03-01T18:39:14+08:00"
    assert a.account == "城市晚报"
    assert a.summary == "3月1日上午，某市图书馆新馆正式对外开放。"
    assert a.cover == "https://inews.gtimg.com/om_ls/OCOVER0000000000000000000000000000AA_640360/0"
    # IMG_0: imgurl1000 preferred; IMG_1: only a protocol-relative 641; IMG_2 a data: URI; IMG_9 missing
    assert a.images == (
        "https://inews.gtimg.com/om_bt/OIMG0AAAAAAAAAAAAAAAAAAAAAAAA/1000",
        "https://inews.gtimg.com/om_bt/OIMG1BBBBBBBBBBBBBBBBBBBBBBBB/641",
    )
    assert a.body.startswith("3月1日上午，某市图书馆新馆正式对外开放，首日接待读者超过五千人次。\n\n![图片](")
    assert "/1000)\n\n*新馆外景*\n\n新馆建筑面积" in a.body
    assert "**古籍修复**" in a.body
    assert "[视频：新馆开馆现场](https://v.qq.com/x/page/v3300abcdef.html)" in a.body
    assert a.body.endswith('{ 花括号 } 与 "引号" 不应打断解析。')
    for noise in ("加载中", "IMG_", "VIDEO_", "u003c", "<!--"):
        assert noise not in a.body, noise
    assert_clean(a)


def test_rain_video_kind_from_atype() -> None:
    a = parse_qq(load("rain-2024-video-window-data.html"), "https://view.inews.qq.com/a/20240515V0XYZ000")
    assert a.kind == "video"
    assert a.url == "https://news.qq.com/rain/a/20240515V0XYZ000"
    assert a.cover == "https://inews.gtimg.com/om_ls/OVCOVER00000000_640360/0"
    assert a.body.startswith("[视频：一分钟看懂新版地铁线路图](https://v.qq.com/x/page/m3500xyz123.html)")
    assert_clean(a)


@pytest.mark.parametrize(
    "url",
    [
        "https://news.qq.com/rain/a/20250301A01ABC00",
        "https://new.qq.com/rain/a/20250301A01ABC00#detail",
        "https://view.inews.qq.com/k/20250301A01ABC00?from=share",
        "https://new.qq.com/omn/20250301/20250301A01ABC00.html",
    ],
)
def test_every_url_shape_gives_one_key(url: str) -> None:
    a = parse_qq(load("rain-2025-window-data.html"), url)
    assert a.url == "https://news.qq.com/rain/a/20250301A01ABC00"
    assert a.key == "qq:20250301A01ABC00"


def test_parsing_is_deterministic() -> None:
    html = load("om-2019-content-article.html")
    assert parse_qq(html, OM_URL) == parse_qq(html, OM_URL)


# --- status pages -----------------------------------------------------------------------------------


def test_channel_list_page_is_not_an_article() -> None:
    with pytest.raises(NotAnArticle) as err:
        parse_qq(load("list-channel-page.html"), "https://news.qq.com/")
    assert err.value.reason == "not-article"
    assert err.value.url == "https://news.qq.com/"


@pytest.mark.parametrize("name", ["deleted-404.html", "deleted-article-gone.html"])
def test_404_and_deleted_pages(name: str) -> None:
    url = "https://new.qq.com/rain/a/20240101A00XYZ00"
    with pytest.raises(NotAnArticle) as err:
        parse_qq(load(name), url)
    assert err.value.reason == "deleted"
    assert err.value.url == url


@pytest.mark.parametrize(
    ("shell_text", "reason"), [("<p>加载中</p>", "not-article"), ("<p>抱歉，该文章已被删除</p>", "deleted")]
)
def test_rain_shell_with_an_empty_body(shell_text: str, reason: str) -> None:
    html = (
        f"<html><head><title>腾讯新闻</title></head><body>{shell_text}<script>window.DATA = "
        '{"article_id":"20240101A00XYZ00","title":"t","originContent":{"text":""},"originAttribute":{}}'
        "</script></body></html>"
    )
    with pytest.raises(NotAnArticle) as err:
        parse_qq(html, "https://news.qq.com/rain/a/20240101A00XYZ00")
    assert err.value.reason == reason


def test_cms_source_label_is_dropped() -> None:
    html = load("cms-2019-a_time-stale-gb2312.html").replace(
        '<a href="http://www.xinhuanet.com/" target="_blank">新华网</a>', "来源：新华网"
    )
    assert parse_qq(html, CMS_2019_URL).account == "新华网"


@pytest.mark.parametrize("html", ["", "   \n", "just some words, no markup"])
def test_garbage_is_a_parse_error(html: str) -> None:
    with pytest.raises(ParseError):
        parse_qq(html, "https://news.qq.com/rain/a/20250301A01ABC00")


# --- encodings, through the dispatcher ------------------------------------------------------------


def test_utf8_bytes_under_a_stale_gb2312_meta() -> None:
    data = (FIXTURES / "cms-2019-a_time-stale-gb2312.html").read_bytes()
    assert b"charset=gb2312" in data
    data.decode("utf-8")  # the fixture really is UTF-8
    a = parse(data, CMS_2019_URL)
    assert a.title == "港口吞吐量创新高 集装箱航线再扩容"
    assert a.account == "新华网"
    assert "宁波港新开航线十余条。" in a.body


@pytest.mark.parametrize("content_type", [None, "text/html; charset=GBK", "text/html; charset=gb2312"])
def test_real_gbk_bytes(content_type: str | None) -> None:
    text = load("cms-2019-a_time-stale-gb2312.html")
    data = text.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    a = parse(data, CMS_2019_URL, content_type=content_type)
    assert a == parse_qq(text, CMS_2019_URL)
    assert a.title == "港口吞吐量创新高 集装箱航线再扩容"


def test_dispatcher_routes_qq_hosts_here() -> None:
    a = parse(load("rain-2025-window-data.html").encode("utf-8"), "https://news.qq.com/rain/a/20250301A01ABC00")
    assert a.source == "qq" and a.article_id == "20250301A01ABC00"


# --- the real corpus ------------------------------------------------------------------------------


def corpus(name: str) -> str:
    from parsers.decode import decode_html

    return decode_html((CORPUS / name).read_bytes())


@needs_corpus
def test_corpus_01_om_rendered_page() -> None:
    a = parse_qq(
        corpus("01-gne-omn-20190907A081B0-rendered.html"), "https://new.qq.com/omn/20190907/20190907A081B000.html"
    )
    assert a.kind == "article"
    assert a.url == "https://news.qq.com/rain/a/20190907A081B000"
    assert a.article_id == "20190907A081B000"
    assert a.title == "儿歌一分钱被改成一元钱 原作者女儿：改成这样不觉得拗口吗？"
    assert a.published is not None
    assert a.published.isoformat() == "2019-09-07T19:02:26+08:00"  # meta apub:time says 21:30:50
    assert a.account == "扬眼"
    assert len(a.images) == 4
    assert all(re.fullmatch(r"https://inews\.gtimg\.com/newsapp_bt/0/\d+/1000", u) for u in a.images)
    assert "*家中曾堆满他的音像作品*" in a.body
    assert a.body.endswith("扬子晚报记者 张楠")
    for noise in ("免责声明", "相关推荐", "用微信扫描二维码", "评论"):
        assert noise not in a.body, noise
    assert_clean(a)


@needs_corpus
def test_corpus_03_cms_prettified_page() -> None:
    a = parse_qq(
        corpus("03-readability-tech-a-20161014-006270-prettified.html"), "http://tech.qq.com/a/20161014/006270.htm"
    )
    assert a.kind == "article"
    assert a.url == "https://tech.qq.com/a/20161014/006270.htm"
    assert a.article_id == "20161014006270"
    assert a.title == "DeepMind新电脑已可利用记忆自学 人工智能迈上新台阶"
    assert a.published is not None
    assert a.published.isoformat() == "2016-10-14T07:17:00+08:00"
    assert a.account == "TNW中文站"
    assert "谷歌在2014年收购的人工智能公司DeepMind" in a.body
    assert a.body.endswith("（编译/林靖东）")
    for noise in ("GOOG", "微博", "精彩视频推荐", "全民微信时代", "自动播放", "正在加载", "未经授权", "The Next Web"):
        assert noise not in a.body, noise
    assert_clean(a)


@needs_corpus
def test_corpus_05_om_video_article() -> None:
    a = parse_qq(
        corpus("05-irdemo-omn-TWF2020041300303000-video-ssr-raw.html"),
        "https://new.qq.com/omn/TWF20200/TWF2020041300303000.html",
    )
    assert a.kind == "video"
    assert a.article_id == "TWF2020041300303000"
    assert a.url == "https://news.qq.com/rain/a/TWF2020041300303000"
    assert a.title == "见证：42000多张照片 记住英雄面孔"
    assert a.published is not None
    assert a.published.isoformat() == "2020-04-13T10:27:11+08:00"
    assert a.account == "长江云"
    assert "(https://v.qq.com/x/page/h0033y6yr5a.html)" in a.body
    assert "一场突如其来的疫情让医护人员成为最美逆行者。" in a.body
    assert len([p for p in a.body.split("\n\n") if not p.startswith("[视频")]) == 1
    assert_clean(a)


@needs_corpus
def test_corpus_list_page_is_not_an_article() -> None:
    with pytest.raises(NotAnArticle) as err:
        parse_qq(corpus("lists/L01-gerapy-news-qq-com-yaowen-2020-07-rendered.html"), "https://news.qq.com/")
    assert err.value.reason == "not-article"


@needs_corpus
@pytest.mark.parametrize("path", sorted(p.name for p in CORPUS.glob("*.html")) if CORPUS.is_dir() else [])
def test_corpus_pages_parse_through_the_dispatcher(path: str) -> None:
    url = {
        "01": "https://new.qq.com/omn/20190907/20190907A081B000.html",
        "03": "http://tech.qq.com/a/20161014/006270.htm",
        "05": "https://new.qq.com/omn/TWF20200/TWF2020041300303000.html",
    }[path[:2]]
    a = parse((CORPUS / path).read_bytes(), url)
    assert a.source == "qq" and a.title and a.published is not None
    assert_clean(a)


# --- CMS furniture inside the last paragraph (issue 12) ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "url", "last"),
    [
        (
            "cms-2018-finance-backqqcom.html",
            "https://finance.qq.com/a/20180612/004567.htm",
            "分析人士认为，月中缴税因素对流动性的影响有限，资金利率有望保持平稳运行。",
        ),
        (
            "cms-2017-tech-a11y-in-last-paragraph.html",
            "https://tech.qq.com/a/20170520/001122.htm",
            "评测显示，新机在高负载游戏场景下的发热控制也有改进。",
        ),
    ],
)
def test_cms_back_link_favicon_and_a11y_line_never_reach_the_body(name: str, url: str, last: str) -> None:
    a = parse_qq(load(name), url)
    assert_clean(a)
    assert a.body.endswith(last)
    for junk in ("返回腾讯网首页", "alt+4", "正文已结束", "favicon", "www.qq.com", ".ico", "点击进入腾讯首页"):
        assert junk not in a.body
    assert not any("favicon" in u or u.endswith((".ico", "/1.png")) for u in a.images)
    assert a.cover is None or "favicon" not in a.cover


def test_finance_cms_keeps_its_real_picture() -> None:
    a = parse_qq(load("cms-2018-finance-backqqcom.html"), "https://finance.qq.com/a/20180612/004567.htm")
    assert a.images == ("https://inews.gtimg.com/newsapp_match/0/8800001/0",)
    assert a.title == "央行开展逆回购操作 市场流动性合理充裕"
    assert a.account == "中国证券网"
