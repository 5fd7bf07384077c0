"""Pure parsers: page bytes + URL -> :class:`Article`, or :class:`NotAnArticle` with a reason.

No network, no database, no clock: the same input always gives the same Article.

    >>> from parsers import parse
    >>> article = parse(page_bytes, "https://mp.weixin.qq.com/s/…")
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from parsers.article import KINDS, SHANGHAI, SOURCES, Article
from parsers.decode import decode_html, sniff_utf8
from parsers.errors import NOT_ARTICLE_REASONS, InvalidURL, JianbaoError, NotAnArticle, ParseError
from parsers.status import check_verification
from parsers.urls import canonical_url, site_of

__all__ = [
    "KINDS",
    "MAX_ATTRIBUTES",
    "MAX_DEPTH",
    "MAX_ELEMENTS",
    "NOT_ARTICLE_REASONS",
    "SHANGHAI",
    "SOURCES",
    "Article",
    "Budget",
    "InvalidURL",
    "JianbaoError",
    "NotAnArticle",
    "ParseError",
    "canonical_url",
    "check_budget",
    "decode_html",
    "parse",
    "parse_markdown",
]


# the parsing budget ([parse] in config.toml; ingest/config.py DEFAULTS takes these numbers). The real
# pages in ../shared/corpus have at most 2,964 elements and a DOM depth of 23 (140 counted on the raw
# page below, where tags inside scripts and unclosed ones add up); 100k nested divs took lexbor 20 s
MAX_ELEMENTS = 200_000
MAX_DEPTH = 1_000
# lexbor keeps 75-90 bytes an attribute: 5M attributes on one element took 538 MB, 10M 796 MB. Real
# pages hold ~6,000 (their whitespace, quotes, "/" and "=" bytes, JavaScript included, reach 1M)
MAX_ATTRIBUTES = 3_000_000
# tags that nest: not void elements, nor those whose end tag may be left out (a sibling closes them)
_FLAT_TAGS = (
    "area|base|br|col|embed|hr|img|input|link|meta|param|source|track|wbr|p|li|dt|dd|option|optgroup"
    "|tr|td|th|tbody|thead|tfoot|colgroup|caption|rb|rt|rtc|rp|html|head|body"
)
_NESTING = re.compile(r"<(/?)(?!(?:" + _FLAT_TAGS + r")[\s/>])[A-Za-z]", re.I)
_NESTING_B = re.compile(_NESTING.pattern.encode(), re.I)
_STEP: dict[bytes | str, int] = {b"": 1, b"/": -1, "": 1, "/": -1}
# what may stand before an attribute's name (whitespace, "/", a closing quote) or after it ("=")
_MARKS = " \t\n\r\f/=\"'"
_NOT_MARKS = bytes(c for c in range(256) if chr(c) not in _MARKS)
# a start tag up to its ">", quoted values whole (a ">" or "<" in quotes does not end a tag)
_START_TAG = re.compile(r"""<[A-Za-z](?:[^>"']++|"[^"]*+"|'[^']*+')*+""")
_START_TAG_B = re.compile(_START_TAG.pattern.encode())


def check_budget(
    page: bytes | str,
    url: str,
    *,
    max_elements: int = MAX_ELEMENTS,
    max_depth: int = MAX_DEPTH,
    max_attributes: int = MAX_ATTRIBUTES,
) -> None:
    """Refuse a page with more elements, deeper nesting or more attributes than the budget, from its
    raw text alone.

    Counting happens before any tree is built, because the HTML parser itself is quadratic in depth.
    Counts are upper bounds of what a parser builds: every ``<`` followed by a letter is an element,
    depth is opening minus closing tags of the elements that nest, and every attribute needs one of
    the bytes in ``_MARKS`` (so a page shorter than ``max_attributes`` is never counted).
    """
    binary = isinstance(page, bytes)
    # one code path for bytes and text: the patterns and the empty value follow the input's type
    nesting: Any = _NESTING_B if binary else _NESTING
    lt = page.count(b"<") if isinstance(page, bytes) else page.count("<")
    if lt > max_elements:
        # an upper bound without a copy of the page: every "<" but those of end tags and comments
        lt_close, lt_bang = (b"</", b"<!") if binary else ("</", "<!")
        elements = lt - page.count(lt_close) - page.count(lt_bang)  # type: ignore[arg-type]
        if elements > max_elements:
            raise ParseError(f"too-complex: {elements:,} elements over max_elements {max_elements:,}", url=url)
    if lt > max_depth:
        # C-level all the way: findall yields "" or "/" per tag, accumulate the running depth
        depth = max(accumulate(map(_STEP.__getitem__, nesting.findall(page))), default=0)
        if depth > max_depth:
            raise ParseError(f"too-complex: nesting {depth:,} deep over max_depth {max_depth:,}", url=url)
    if len(page) > max_attributes:
        attributes = _attribute_marks(page, max_attributes)
        if attributes > max_attributes:
            raise ParseError(f"too-complex: {attributes:,} attributes over max_attributes {max_attributes:,}", url=url)


@dataclass(frozen=True, slots=True)
class Budget:
    """The parsing budget as configured (``[parse]``): what :func:`parse` checks on the page, handed to
    the site parsers so that HTML they find inside the page's data is held to the same limits."""

    max_elements: int = MAX_ELEMENTS
    max_depth: int = MAX_DEPTH
    max_attributes: int = MAX_ATTRIBUTES

    def check(self, page: bytes | str, url: str) -> None:
        check_budget(
            page, url, max_elements=self.max_elements, max_depth=self.max_depth, max_attributes=self.max_attributes
        )


DEFAULT_BUDGET = Budget()


def _attribute_marks(page: bytes | str, limit: int) -> int:
    """An upper bound of the attributes on the page: the bytes that can mark one, in the whole page
    (one C pass), and when that is many, in its start tags only (text and quoted values' insides left
    out; JavaScript comparisons like ``i<n`` still read as tags)."""
    if isinstance(page, bytes):
        marks = len(page.translate(None, _NOT_MARKS))
    else:
        marks = sum(page.count(c) for c in _MARKS)
    if marks <= limit:
        return marks
    if isinstance(page, bytes):
        return len(b"".join(_START_TAG_B.findall(page)).translate(None, _NOT_MARKS))
    tags = "".join(_START_TAG.findall(page))
    return sum(tags.count(c) for c in _MARKS)


def parse(
    page: bytes | str,
    url: str,
    *,
    content_type: str | None = None,
    max_elements: int = MAX_ELEMENTS,
    max_depth: int = MAX_DEPTH,
    max_attributes: int = MAX_ATTRIBUTES,
) -> Article:
    """Parse one page fetched from (or saved from) ``url``; the parser is chosen by host.

    Raises NotAnArticle for status pages and listings, ParseError for unreadable input (also for a
    page past ``max_elements`` / ``max_depth``, reason ``too-complex: …``), InvalidURL when ``url``
    is not http(s).
    """
    budget = Budget(max_elements, max_depth, max_attributes)
    budget.check(page, url)
    site = site_of(url)
    if site != "wechat":
        # any host may answer a robot with "访问过于频繁": never an article, whichever parser would read it
        check_verification(page, url, content_type=content_type)
        return _dispatch(page, url, site, content_type, budget)
    try:
        return _dispatch(page, url, site, content_type, budget)
    except NotAnArticle as exc:
        if exc.reason != "verification":
            # WeChat's parser knows its own captcha pages (and says more of them); not every other kind
            check_verification(page, url, content_type=content_type)
        raise


def _dispatch(page: bytes | str, url: str, site: str, content_type: str | None, budget: Budget) -> Article:
    if site == "wechat" and isinstance(page, bytes) and sniff_utf8(page, content_type=content_type):
        from parsers.wechat import parse_wechat

        # WeChat serves UTF-8: lexbor reads the bytes directly, and a 3 MB page is never decoded whole
        return parse_wechat(page, url, budget=budget)
    html = decode_html(page, content_type=content_type, name=url)
    if not html[:4096].strip() and not html.strip():
        raise ParseError("empty page", url=url)
    if site == "wechat":
        from parsers.wechat import parse_wechat

        return parse_wechat(html, url, budget=budget)
    if site == "qq":
        from parsers.qq import parse_qq

        return parse_qq(html, url, budget=budget)
    from parsers.web import parse_web

    return parse_web(html, url)


def parse_markdown(text: str, path: str) -> Article:
    """Read a Markdown clipping with YAML front matter (see :mod:`parsers.clipping`)."""
    from parsers.clipping import parse_markdown as _parse_markdown

    return _parse_markdown(text, path)
