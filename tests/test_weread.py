"""parsers/weread.py: WeRead's answers read from fixtures written in the shapes it serves."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from parsers.article import SHANGHAI
from parsers.errors import ParseError
from parsers.listings import PageNumber
from parsers.weread import (
    SESSION_EXPIRED,
    WeReadError,
    WeReadLoginExpired,
    WeReadRiskControl,
    articles_path,
    book_id,
    parse_answer,
    parse_article_biz,
    parse_article_list,
    parse_cookie_text,
    parse_login_info,
    parse_login_uid,
    parse_shelf,
)
from tests.conftest import FIXTURES
from tests.pages import BIZ, wechat_page

WEREAD = FIXTURES / "weread"


def fixture(name: str) -> bytes:
    return (WEREAD / name).read_bytes()


def test_groups_and_sub_reviews_newest_first_with_tildes_made_underscores():
    page = parse_article_list(fixture("articles-page1.json"))
    assert [a.url for a in page.articles] == [
        "https://mp.weixin.qq.com/s/Ab_cD-ef1",
        "https://mp.weixin.qq.com/s/Xy__z_2",
        "https://mp.weixin.qq.com/s/plain3",
    ]
    first, second, third = page.articles
    assert first.title == "头条：今天的第一篇"
    assert first.published == datetime(2025, 12, 2, 16, 0, tzinfo=SHANGHAI)
    assert first.published.utcoffset().total_seconds() == 8 * 3600
    assert first.cover == "https://mmbiz.qpic.cn/mmbiz_jpg/cover1/0?wx_fmt=jpeg"
    assert first.digest == "第一篇的摘要"
    assert first.review_id == "MP_WXS_3070376195_Ab~cD-ef1"
    assert second.cover == "https://mmbiz.qpic.cn/mmbiz_png/cover2/0"  # protocol-relative made https
    assert second.digest is None
    # no mpInfo.time: the review's createTime
    assert third.published == datetime(2025, 12, 1, 16, 0, tzinfo=SHANGHAI)
    assert third.cover is None


def test_offset_counts_groups_not_articles():
    page = parse_article_list(fixture("articles-page1.json"), offset=6)
    assert page.groups == 3
    assert len(page.articles) == 3  # one group held only a broken entry, a bad id and a repeat
    assert page.next == PageNumber(9)
    listing = page.listing()
    assert [e.url for e in listing.entries] == [a.url for a in page.articles]
    assert listing.next == PageNumber(9)
    assert listing.entries[0].title == "头条：今天的第一篇"


def test_a_group_without_sub_reviews_is_one_article():
    page = parse_article_list(fixture("articles-page2.json"), offset=3)
    assert [a.url for a in page.articles] == ["https://mp.weixin.qq.com/s/solo4"]
    assert page.articles[0].published == datetime(2025, 11, 29, 16, 0, tzinfo=SHANGHAI)
    assert page.next == PageNumber(4)


def test_empty_list_ends_the_account():
    page = parse_article_list(fixture("articles-empty.json"), offset=12)
    assert page.articles == ()
    assert page.next is None
    assert parse_article_list(b"{}").next is None


@pytest.mark.parametrize("name", ["error-2012.json", "error-2010.json"])
def test_login_gone_codes(name):
    with pytest.raises(WeReadLoginExpired) as info:
        parse_article_list(fixture(name))
    assert info.value.code in (-2012, -2010)
    assert str(info.value) == SESSION_EXPIRED == "weread session expired: run jianbao login weread"


def test_risk_control_code():
    with pytest.raises(WeReadRiskControl) as info:
        parse_article_list(fixture("error-2041.json"))
    assert info.value.code == -2041
    assert "-2041" in str(info.value)


def test_other_codes_are_typed_errors_with_the_code_even_one_level_down():
    with pytest.raises(WeReadError) as info:
        parse_article_list(fixture("error-other-nested.json"))
    assert type(info.value) is WeReadError
    assert info.value.code == -2013
    assert str(info.value) == "weread answered errCode -2013 (未知)"
    # errCode 0 is success
    assert parse_answer(b'{"errCode": 0, "reviews": []}') == {"errCode": 0, "reviews": []}


@pytest.mark.parametrize("data", [b"<html>login</html>", b"", b"[1, 2]", b'{"reviews": "x"}'])
def test_unreadable_answers(data):
    with pytest.raises(ParseError):
        parse_article_list(data)


def test_biz_to_book_id():
    assert book_id("MzA3MDM3NjE5NQ==") == "MP_WXS_3070376195"
    assert book_id(" MzA3MDM3NjE5NQ%3D%3D ") == "MP_WXS_3070376195"  # URL-encoded, as copied from a link
    assert book_id("MzA3MDM3NjE5NQ") == "MP_WXS_3070376195"  # padding lost
    assert book_id("MP_WXS_3070376195") == "MP_WXS_3070376195"
    assert book_id(BIZ) == "MP_WXS_3086546516"
    for bad in ("aGVsbG8=", "not base64!", "", "MP_WXS_abc"):
        with pytest.raises(ParseError):
            book_id(bad)
    assert articles_path("MP_WXS_3070376195", 10) == "/web/mp/articles?bookId=MP_WXS_3070376195&offset=10"


def test_biz_from_an_article_page_and_from_a_long_link():
    page = wechat_page(1).encode()
    assert parse_article_biz(page, "https://mp.weixin.qq.com/s/shortLink1") == BIZ
    long = f"https://mp.weixin.qq.com/s?__biz=MzA3MDM3NjE5NQ==&mid=1&idx=1&sn={'a' * 32}"
    assert parse_article_biz(b"", long) == "MzA3MDM3NjE5NQ=="  # no page needed
    deleted = (FIXTURES / "wechat" / "deleted-zh.html").read_bytes()
    with pytest.raises(ParseError):
        parse_article_biz(deleted, "https://mp.weixin.qq.com/s/gone")


def test_login_answers():
    assert parse_login_uid(b'{"uid": "abc-123"}') == "abc-123"
    with pytest.raises(ParseError):
        parse_login_uid(b"{}")
    ok = parse_login_info(fixture("login-success.json"))
    assert (ok.state, ok.vid, ok.access_token, ok.refresh_token) == ("success", "12345678", "AT-fake", "RT-fake")
    assert "AT-fake" not in repr(ok) and "RT-fake" not in repr(ok)
    assert parse_login_info(fixture("login-waiting.json")).state == "waiting"
    assert parse_login_info(fixture("login-timeout.json")).state == "timeout"
    assert parse_login_info(b'{"succeed": 1}').state == "waiting"  # success without tokens is not a login


def test_shelf_lists_accounts_with_their_reader_pages():
    assert parse_shelf(fixture("shelf.json")) == {
        "MP_WXS_3070376195": "https://weread.qq.com/web/mp/reader/b3c32d80813ab6c84g018b71",
        "MP_WXS_1": None,  # no deep link: its list calls go without the reader page
        "MP_WXS_2": None,
    }
    assert parse_shelf(b'{"books": []}') == {}
    with pytest.raises(WeReadLoginExpired):
        parse_shelf(fixture("error-2012.json"))


def test_cookie_files_in_three_shapes_keep_only_weread_cookies():
    netscape = parse_cookie_text((WEREAD / "cookies.txt").read_text())
    assert netscape == {"wr_vid": "12345678", "wr_skey": "SK-fake", "wr_rt": "RT-fake"}
    header = parse_cookie_text("Cookie: wr_vid=1; wr_skey=S; wr_rt=R; pgv_pvid=x; wr_name=\n")
    assert header == {"wr_vid": "1", "wr_skey": "S", "wr_rt": "R"}
    exported = json.dumps(
        [
            {"domain": ".weread.qq.com", "name": "wr_vid", "value": "2"},
            {"domain": "weread.qq.com", "name": "wr_skey", "value": "S2"},
            {"domain": ".example.com", "name": "wr_rt", "value": "elsewhere"},
        ]
    )
    assert parse_cookie_text(exported) == {"wr_vid": "2", "wr_skey": "S2"}
    assert parse_cookie_text('{"wr_vid": "3", "wr_skey": "S3"}') == {"wr_vid": "3", "wr_skey": "S3"}


def test_a_cookie_file_without_the_session_names_what_is_missing_not_any_value():
    with pytest.raises(ParseError) as info:
        parse_cookie_text("wr_vid=1; other=secret-value")
    assert "wr_skey" in str(info.value)
    assert "secret-value" not in str(info.value) and "=1" not in str(info.value)
