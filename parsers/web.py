"""Any other news page to :class:`Article`, through trafilatura.

trafilatura finds the main text and the common metadata; this module adds what it leaves out for
Chinese news sites: a publish time with its hour and zone (htmldate keeps the day only), bylines in
``<meta name="author">``, and the image rules every jianbao body follows (no ``data:`` URIs, no
placeholders, no blank-line runs).
"""

from __future__ import annotations

import json
import re
from copy import deepcopy
from datetime import datetime, time
from typing import Any

import trafilatura
from selectolax.lexbor import LexborHTMLParser
from trafilatura.settings import DEFAULT_CONFIG
from trafilatura.xml import xmltotxt

from parsers.article import SHANGHAI, Article
from parsers.clipping import CJK_CHARS, clean_markdown, join_cjk_lines
from parsers.errors import InvalidURL, NotAnArticle, ParseError
from parsers.markdown import IMAGE_ATTRS, clean_image_url, normalize_text
from parsers.urls import canonical_url

# --- metadata sources, most trusted first -------------------------------------------------------
PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "datePublished",
    "pubdate",
    "publishdate",
    "publish_date",
    "PubDate",
    "publishtime",
    "dc.date.issued",
    "dc.date",
    "date",
)
AUTHOR_META = ("author", "article:author", "og:article:author", "dc.creator", "byline")
# htmldate's guess is bounded by a "latest possible date", which defaults to today: a fixed bound
# keeps the parser independent of the clock
DATE_PARAMS = {"original_date": True, "extensive_search": False, "max_date": "2099-12-31"}
MIN_TEXT_CHARS = 20
# trafilatura falls back to a flat "baseline" text below 250 extracted characters; 250 Chinese
# characters are a whole short news item, so the threshold is scaled down for CJK density
TRAFILATURA_CONFIG = deepcopy(DEFAULT_CONFIG)
TRAFILATURA_CONFIG["DEFAULT"]["MIN_EXTRACTED_SIZE"] = "100"
# a source line break inside a paragraph, indented by the page's pretty-printer; four spaces would
# make the rest of the paragraph a Markdown code block
_SOFT_BREAK = re.compile(r"(?<=\S)[ \t]*\n[ \t]+(?=[^\s\-*+>|`#\d])")
_CJK = re.compile(f"[{CJK_CHARS}]")
_TOKEN = re.compile(r"https://img\.jianbao\.invalid/\d+\.jpg")
_TIME_IN_TEXT = re.compile(
    r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]*(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
    r"(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?"
)


def parse_web(html: str, url: str) -> Article:
    """A generic news page; NotAnArticle("not-article") when no main text can be found."""
    if not html or not html.strip():
        raise ParseError("empty page", url=url)
    try:
        canonical = canonical_url(url)
    except InvalidURL as err:
        raise ParseError(f"not an http(s) URL: {url!r}", url=url) from err
    tree = LexborHTMLParser(join_cjk_lines(html))
    tokens = _prepare_tree(tree, canonical)
    doc = trafilatura.bare_extraction(
        tree.html or html,
        url=url,
        config=TRAFILATURA_CONFIG,
        include_images=True,
        include_links=True,
        include_formatting=True,
        include_comments=False,
        include_tables=True,
        with_metadata=True,
        date_extraction_params=DATE_PARAMS,
    )
    if doc is None or isinstance(doc, dict) or doc.body is None:
        raise NotAnArticle("not-article", url=url, detail="no main text found")
    raw_markdown = _TOKEN.sub(lambda m: tokens.get(m.group(0), ""), xmltotxt(doc.body, include_formatting=True))
    raw_markdown = _SOFT_BREAK.sub(_join_lines, raw_markdown)
    body, images = clean_markdown(raw_markdown, base_url=canonical)
    if len(normalize_text(_plain(body))) < MIN_TEXT_CHARS and not images:
        raise NotAnArticle("not-article", url=url, detail="no main text found")

    title = normalize_text(doc.title or "")
    body = _drop_leading_title(body, title)
    cover = clean_image_url(doc.image, canonical) if doc.image else None
    return Article(
        url=canonical,
        source="web",
        kind="article",
        title=title,
        published=_published(tree, doc.date),
        author=normalize_text(doc.author or "") or _meta(tree, AUTHOR_META) or None,
        account=normalize_text(doc.sitename or "") or None,
        summary=normalize_text(doc.description or ""),
        cover=cover or (images[0] if images else None),
        images=images,
        body=body,
    )


def _prepare_tree(tree: LexborHTMLParser, base_url: str) -> dict[str, str]:
    """Give trafilatura images it will keep and links it can follow; returns token -> image URL.

    Each image's real URL (lazy attributes before ``src``) is swapped for a ``.jpg`` token, because
    trafilatura drops image URLs without a file extension, and CDN URLs (``…/1000``,
    ``…/640?wx_fmt=jpeg``) rarely have one. Script links are unwrapped to their words.
    """
    tokens: dict[str, str] = {}
    for img in tree.css("img"):
        attrs = img.attrs
        real = next((u for name in IMAGE_ATTRS if (u := clean_image_url(attrs.get(name), base_url)) is not None), None)
        for name in (*IMAGE_ATTRS, "srcset", "data-srcset"):
            if name in attrs:
                del attrs[name]
        if real is not None:
            token = f"https://img.jianbao.invalid/{len(tokens)}.jpg"
            tokens[token] = real
            attrs["src"] = token
    for a in tree.css("a"):
        href = (a.attrs.get("href") or "").strip().lower()
        if not href or href.startswith(("javascript:", "vbscript:", "data:")):
            a.unwrap()  # trafilatura would print "[words]" for a link it cannot follow
    return tokens


def _join_lines(m: re.Match[str]) -> str:
    text = m.string
    before, after = text[m.start() - 1], text[m.end()] if m.end() < len(text) else ""
    # Chinese has no spaces between words: a line break there is nothing
    return "" if _CJK.match(before) and _CJK.match(after) else " "


def _plain(markdown: str) -> str:
    return re.sub(r"!\[[^\]]*\]\([^)]*\)|[#*_>`\-|]", "", markdown)


def _drop_leading_title(body: str, title: str) -> str:
    # trafilatura keeps the page's <h1> as the first line; the title is already a field
    first, _, rest = body.partition("\n\n")
    if title and first.lstrip("# ").strip() == title:
        return rest.lstrip("\n")
    return body


def _meta(tree: LexborHTMLParser, names: tuple[str, ...]) -> str:
    wanted = {n.lower(): i for i, n in enumerate(names)}
    best: tuple[int, str] | None = None
    for node in tree.css("meta[content]"):
        attrs = node.attributes
        key = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").lower()
        if key in wanted:
            value = normalize_text(attrs.get("content") or "")
            if value and (best is None or wanted[key] < best[0]):
                best = (wanted[key], value)
    return best[1] if best else ""


def _published(tree: LexborHTMLParser, day: str | None) -> datetime | None:
    """The page's own timestamp (meta, JSON-LD), else a ``<time>`` on trafilatura's day, else that day."""
    for raw in (_meta(tree, PUBLISHED_META), *_json_ld_dates(tree)):
        dt = _to_datetime(raw)
        if dt is not None:
            return dt
    if day:
        # <time> elements also mark comments and related links: only one on the article's day counts
        for node in tree.css("time[datetime]"):
            raw = node.attributes.get("datetime") or ""
            m = _TIME_IN_TEXT.search(raw)
            if m and m.group(4) and (int(m.group(1)), int(m.group(2)), int(m.group(3))) == _ymd(day):
                return _to_datetime(raw)
        return _to_datetime(day)
    return None


def _ymd(day: str) -> tuple[int, int, int] | None:
    m = _TIME_IN_TEXT.search(day)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def _json_ld_dates(tree: LexborHTMLParser) -> list[str]:
    dates: list[str] = []
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            data: Any = json.loads(node.text())
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                if isinstance(item.get("datePublished"), str):
                    dates.append(item["datePublished"])
                stack.extend(v for k, v in item.items() if k == "@graph")
    return dates


def _to_datetime(raw: str) -> datetime | None:
    m = _TIME_IN_TEXT.search(raw or "")
    if not m:
        return None
    year, month, day, hour, minute, second, zone = m.groups()
    try:
        dt = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None
    if hour is None:
        # a bare date: midnight in Beijing, the zone of the news this tool collects
        return datetime.combine(dt.date(), time(), tzinfo=SHANGHAI)
    if zone:
        offset = "+00:00" if zone == "Z" else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
        return datetime.fromisoformat(dt.isoformat() + offset).astimezone(SHANGHAI)
    return dt.replace(tzinfo=SHANGHAI)
