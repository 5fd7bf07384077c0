"""Every URL shape a user pastes, brought to one key."""

from __future__ import annotations

import pytest

from parsers.errors import InvalidURL
from parsers.urls import canonical_url, qq_article_id, site_of, wechat_ids, wechat_url

BIZ = "MzA4NjU0NjUxNg=="
LONG = f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2650001&idx=2&sn=abcdef"

WECHAT_SHAPES = [
    (f"http://mp.weixin.qq.com/s?__biz={BIZ}&mid=2650001&idx=2&sn=abcdef", LONG),
    (f"https://mp.weixin.qq.com/s?__biz={BIZ}&amp;mid=2650001&amp;idx=2&amp;sn=abcdef&amp;chksm=8a1b#rd", LONG),
    (f"https://mp.weixin.qq.com/s?sn=abcdef&idx=2&mid=2650001&__biz={BIZ}&scene=21#wechat_redirect", LONG),
    (
        f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2650001&idx=2&sn=abcdef&chksm=1&scene=126&srcid=0101"
        "&sharer_sharetime=1&sharer_shareid=abc&exportkey=x#rd",
        LONG,
    ),
    (f"https://mp.weixin.qq.com/mp/appmsg/show?__biz={BIZ}&appmsgid=2650001&itemidx=2&sign=abcdef", LONG),
    ("https://mp.weixin.qq.com/s/dWAcaenAanYJpRPiA50nUA", "https://mp.weixin.qq.com/s/dWAcaenAanYJpRPiA50nUA"),
    (
        "http://mp.weixin.qq.com/s/dWAcaenAanYJpRPiA50nUA?from=timeline#rd",
        "https://mp.weixin.qq.com/s/dWAcaenAanYJpRPiA50nUA",
    ),
    ("  https://mp.weixin.qq.com/s/abc-_X/  ", "https://mp.weixin.qq.com/s/abc-_X"),
]

QQ_KEY = "https://news.qq.com/rain/a/20250207A07NZC00"
QQ_SHAPES = [
    ("https://news.qq.com/rain/a/20250207A07NZC00", QQ_KEY),
    ("https://new.qq.com/rain/a/20250207A07NZC00?from=share", QQ_KEY),
    ("http://new.qq.com/rain/a/20250207A07NZC00", QQ_KEY),
    ("https://view.inews.qq.com/a/20250207A07NZC00", QQ_KEY),
    ("https://view.inews.qq.com/k/20250207A07NZC00?adChannelId=1#detail", QQ_KEY),
    ("https://new.qq.com/omn/20250207/20250207A07NZC00.html", QQ_KEY),
    ("https://new.qq.com/omn/20250207A07NZC00.html", QQ_KEY),
    ("https://xw.qq.com/cmsid/20250207A07NZC00", QQ_KEY),
    ("https://xw.qq.com/cmsid/20250207A07NZC/20250207A07NZC00", QQ_KEY),
    # 14-character ids are the 16-character ones without their trailing 00
    ("https://new.qq.com/omn/20190907/20190907A081B0.html", "https://news.qq.com/rain/a/20190907A081B000"),
    ("https://new.qq.com/omn/TWF20200/TWF2020041300303000.html", "https://news.qq.com/rain/a/TWF2020041300303000"),
    ("http://tech.qq.com/a/20161014/006270.htm", "https://tech.qq.com/a/20161014/006270.htm"),
    ("https://finance.qq.com/a/20190923/000843.htm?pgv_ref=aio", "https://finance.qq.com/a/20190923/000843.htm"),
]


@pytest.mark.parametrize(("url", "key"), WECHAT_SHAPES + QQ_SHAPES)
def test_canonical_url(url: str, key: str) -> None:
    assert canonical_url(url) == key
    assert canonical_url(key) == key  # idempotent


def test_web_urls_keep_their_scheme_and_lose_tracking() -> None:
    assert canonical_url("HTTP://Example.COM:80/a/b?utm_source=x&id=3#top") == "http://example.com/a/b?id=3"
    assert canonical_url("https://example.com") == "https://example.com/"


@pytest.mark.parametrize(
    "bad",
    ["ftp://example.com/a", "javascript:alert(1)", "mailto:a@b.c", "not a url", "http://", "", "file:///etc/passwd"],
)
def test_anything_but_http_with_a_host_is_refused(bad: str) -> None:
    with pytest.raises(InvalidURL) as info:
        canonical_url(bad)
    assert "http(s)" in str(info.value)


def test_site_and_ids() -> None:
    assert site_of("https://mp.weixin.qq.com/s/x") == "wechat"
    assert site_of("https://view.inews.qq.com/a/1") == "qq"
    assert site_of("https://www.thepaper.cn/a") == "web"
    assert qq_article_id("https://new.qq.com/rain/a/20250207A07NZC00?from=share") == "20250207A07NZC00"
    assert qq_article_id("https://tech.qq.com/a/20161014/006270.htm") is None
    assert wechat_ids(LONG) == {"__biz": BIZ, "mid": "2650001", "idx": "2", "sn": "abcdef"}
    assert wechat_url(BIZ, "2650001", "2", "abcdef") == LONG
