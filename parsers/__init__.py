"""Pure parsers: page bytes + URL -> :class:`Article`, or :class:`NotAnArticle` with a reason.

No network, no database, no clock: the same input always gives the same Article.

    >>> from parsers import parse
    >>> article = parse(page_bytes, "https://mp.weixin.qq.com/s/…")
"""

from __future__ import annotations

from parsers.article import KINDS, SHANGHAI, SOURCES, Article
from parsers.decode import decode_html, sniff_utf8
from parsers.errors import NOT_ARTICLE_REASONS, InvalidURL, JianbaoError, NotAnArticle, ParseError
from parsers.status import check_verification
from parsers.urls import canonical_url, site_of

__all__ = [
    "KINDS",
    "NOT_ARTICLE_REASONS",
    "SHANGHAI",
    "SOURCES",
    "Article",
    "InvalidURL",
    "JianbaoError",
    "NotAnArticle",
    "ParseError",
    "canonical_url",
    "decode_html",
    "parse",
    "parse_markdown",
]


def parse(page: bytes | str, url: str, *, content_type: str | None = None) -> Article:
    """Parse one page fetched from (or saved from) ``url``; the parser is chosen by host.

    Raises NotAnArticle for status pages and listings, ParseError for unreadable input,
    InvalidURL when ``url`` is not http(s).
    """
    site = site_of(url)
    if site != "wechat":
        # any host may answer a robot with "访问过于频繁": never an article, whichever parser would read it
        check_verification(page, url, content_type=content_type)
        return _dispatch(page, url, site, content_type)
    try:
        return _dispatch(page, url, site, content_type)
    except NotAnArticle as exc:
        if exc.reason != "verification":
            # WeChat's parser knows its own captcha pages (and says more of them); not every other kind
            check_verification(page, url, content_type=content_type)
        raise


def _dispatch(page: bytes | str, url: str, site: str, content_type: str | None) -> Article:
    if site == "wechat" and isinstance(page, bytes) and sniff_utf8(page, content_type=content_type):
        from parsers.wechat import parse_wechat

        # WeChat serves UTF-8: lexbor reads the bytes directly, and a 3 MB page is never decoded whole
        return parse_wechat(page, url)
    html = decode_html(page, content_type=content_type, name=url)
    if not html[:4096].strip() and not html.strip():
        raise ParseError("empty page", url=url)
    if site == "wechat":
        from parsers.wechat import parse_wechat

        return parse_wechat(html, url)
    if site == "qq":
        from parsers.qq import parse_qq

        return parse_qq(html, url)
    from parsers.web import parse_web

    return parse_web(html, url)


def parse_markdown(text: str, path: str) -> Article:
    """Read a Markdown clipping with YAML front matter (see :mod:`parsers.clipping`)."""
    from parsers.clipping import parse_markdown as _parse_markdown

    return _parse_markdown(text, path)
