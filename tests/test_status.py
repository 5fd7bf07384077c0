"""Verification pages from any host (parsers/status.py): told apart before any parser keeps one as an article."""

from __future__ import annotations

import pytest

from parsers import parse
from parsers.errors import NotAnArticle
from parsers.status import SMALL_PAGE, verification_phrase

HOSTS = (
    "https://www.example.com/news/1.html",
    "https://news.qq.com/rain/a/20250207A07NZC00",
    "https://mp.weixin.qq.com/s/abc",
)

CAPTCHAS = (
    "<html><head><title>提示</title></head><body><div>访问过于频繁，请稍后再试</div></body></html>",
    "<html><body><p>请拖动下方滑块完成拼图</p><div class='slider'></div></body></html>",
    "<html><body><h2>当前环境异常</h2><p>完成验证后即可继续访问。</p><a>去验证</a></body></html>",
    "<html><head><title>安全验证</title></head><body><div id='captcha'>请完成安全验证</div></body></html>",
)

ARTICLE = (
    "<html><head><meta charset='utf-8'><title>某地水质出现环境异常</title></head><body><article>"
    "<h1>某地水质出现环境异常</h1>"
    + "<p>环保部门表示，当地河段的水质监测数据出现环境异常，已经派出工作组调查原因，并将及时公布结果。</p>" * 6
    + "</article></body></html>"
)


@pytest.mark.parametrize("url", HOSTS)
@pytest.mark.parametrize("page", CAPTCHAS)
def test_a_verification_page_is_verification_from_any_host(page: str, url: str) -> None:
    with pytest.raises(NotAnArticle) as err:
        parse(page.encode("utf-8"), url, content_type="text/html; charset=utf-8")
    assert err.value.reason == "verification"


def test_gbk_pages_are_read_too() -> None:
    page = CAPTCHAS[0].encode("gb18030")
    assert verification_phrase(page, content_type="text/html; charset=gbk") == "访问过于频繁"


def test_an_article_that_mentions_a_phrase_is_not_verification() -> None:
    assert verification_phrase(ARTICLE) is None  # "环境异常" with no word of verification, and much text
    quoting = ARTICLE.replace("已经派出", "网友称“访问过于频繁”，已经派出")
    assert verification_phrase(quoting) is None  # the phrase among a page of text
    article = parse(ARTICLE.encode("utf-8"), HOSTS[0])
    assert article.title == "某地水质出现环境异常"


def test_the_phrase_in_a_script_does_not_count() -> None:
    page = "<html><body><p>你好</p><script>var tip = '访问过于频繁';</script></body></html>"
    assert verification_phrase(page) is None


def test_large_pages_are_not_inspected() -> None:
    page = CAPTCHAS[0].replace("</body>", "<!--" + "x" * SMALL_PAGE + "--></body>")
    assert verification_phrase(page) is None
