"""Where a saved page came from: the URL a browser or the page itself records."""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterator
from html import unescape
from typing import Any

from parsers.errors import InvalidURL
from parsers.urls import absolute_url, canonical_url, qq_url, split_url

# In order of trust: a saved-page comment records the address bar; og:url, msg_link and JSON-LD are
# the page's own claim; a canonical link is sometimes a site-wide default. Each is (name, pattern).
_SAVED_FROM = (
    re.compile(r"<!--\s*saved from url=\(\d+\)\s*(\S+?)\s*-->", re.I),  # Chrome, Internet Explorer (MHTML too)
    re.compile(r"<!--\s*Page saved with SingleFile\s+url:\s*(\S+)", re.I),  # SingleFile's header comment
    re.compile(r"<!--\s*(?:url|source)\s*:?\s*(https?://\S+?)\s*-->", re.I),
    re.compile(r"""<html\s[^<>]*data-scrapbook-source=["']([^"']+)["']""", re.I),  # WebScrapBook
)
_PAGE_CLAIMS = (
    re.compile(r"""<meta\s[^<>]*(?:property|name)=["']og:url["'][^<>]*content=["']([^"']+)["']""", re.I),
    re.compile(r"""<meta\s[^<>]*content=["']([^"']+)["'][^<>]*(?:property|name)=["']og:url["']""", re.I),
    re.compile(r"""var\s+msg_link\s*=\s*["']([^"']+)["']"""),
)
_CANONICAL = (
    re.compile(r"""<link\s[^<>]*rel=["']canonical["'][^<>]*href=["']([^"']+)["']""", re.I),
    re.compile(r"""<link\s[^<>]*href=["']([^"']+)["'][^<>]*rel=["']canonical["']""", re.I),
    re.compile(r"""\barticle_url\s*:\s*["'](https?://[^"']+)["']"""),  # qq CMS ARTICLE_INFO
)
# a tag's attributes never hold "<": a run of "<meta " (or "<link ", "<script ") with no ">" is then
# read once, not once per tag (600 KB of "<meta " took half an hour)
_JSON_LD = re.compile(r"""<script[^<>]*type=["']application/ld\+json["'][^<>]*>""", re.I)
_SCRIPT_END = re.compile(r"</script>", re.I)
_JSON_LD_MAX = 200_000  # one block; real ones are a few KB
# JSON-LD types whose url is the page's own (a WebSite's or Organization's is the home page)
_ARTICLE_TYPES = ("Article", "NewsArticle", "ReportageNewsArticle", "BlogPosting", "WebPage", "AnalysisNewsArticle")
_QQ_ARTICLE_ID = re.compile(r"""["']?article_id["']?\s*:\s*["']([0-9A-Z]{14,20})["']""")
# rendered WeChat pages blank og:url and msg_link but keep the ids, as `var biz = ""||"MjM5…=="`
_WECHAT_VAR = r"""var\s+{name}\s*=\s*(?:["'][^"']*["']\s*\|\|\s*)*["']([^"']+)["']"""
# the head and the first scripts are enough; 2025 WeChat pages are 3 MB of which we need the top
_SCAN_LIMIT = 600_000


def _article_address(raw: str) -> str | None:
    """``raw`` as a canonical article URL; None for anything malformed, relative or a site's home page
    (some sites put their home page in og:url on every page: it must not become every page's key)."""
    raw = unescape(raw).replace("\\x26", "&").replace("\\/", "/").strip()
    try:
        url = canonical_url(absolute_url(raw))
        path = split_url(url).path
    except InvalidURL:
        return None
    if path in ("", "/") and "?" not in url:
        return None
    return url


def _json_ld_blocks(head: str) -> Iterator[str]:
    """The text of each JSON-LD script; one that is never closed ends the search (no later one can close)."""
    pos = 0
    for m in _JSON_LD.finditer(head):
        if m.start() < pos:
            continue  # inside the block just read
        end = _SCRIPT_END.search(head, m.end())
        if end is None:
            return
        yield head[m.end() : end.start()]
        pos = end.end()


def _json_ld_urls(head: str) -> Iterator[str]:
    """``url`` (or ``mainEntityOfPage``) of each article-like JSON-LD object, in page order."""
    for block in _json_ld_blocks(head):
        text = block.strip()
        if not text or len(text) > _JSON_LD_MAX:
            continue
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            continue
        stack: deque[Any] = deque([data])  # breadth first; popleft, as a 100k-item array made pop(0) quadratic
        while stack:
            item = stack.popleft()
            if isinstance(item, list):
                stack.extend(item)
                continue
            if not isinstance(item, dict):
                continue
            if "@graph" in item:
                stack.extend(item["@graph"] if isinstance(item["@graph"], list) else [item["@graph"]])
            kinds = item.get("@type")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            if not any(isinstance(k, str) and k in _ARTICLE_TYPES for k in kinds):
                continue
            for key in ("url", "mainEntityOfPage", "@id"):
                value = item.get(key)
                if isinstance(value, dict):
                    value = value.get("@id") or value.get("url")
                if isinstance(value, str):
                    yield value


def origin_candidates(html: str) -> Iterator[tuple[str, str]]:
    """Every address the page records, as (where, raw value), most trusted first."""
    head = html[:_SCAN_LIMIT]
    for where, patterns in (("saved-page comment", _SAVED_FROM), ("og:url", _PAGE_CLAIMS)):
        for pattern in patterns:
            for m in pattern.finditer(head):
                yield where, m.group(1)
    for url in _json_ld_urls(head):
        yield "JSON-LD", url
    for pattern in _CANONICAL:
        for m in pattern.finditer(head):
            yield "canonical link", m.group(1)


def find_origin_url(html: str) -> str | None:
    """The page's own URL as recorded in it, canonicalised; None when the page does not say.

    Never raises for what a page holds: a malformed or relative address is passed over for the next one.
    """
    for _, raw in origin_candidates(html):
        url = _article_address(raw)
        if url:
            return url
    head = html[:_SCAN_LIMIT]
    qq_id = _QQ_ARTICLE_ID.search(head)
    if qq_id:
        return qq_url(qq_id.group(1))
    ids = {}
    for name in ("biz", "mid", "idx", "sn"):
        v = re.search(_WECHAT_VAR.format(name=name), html)
        if v:
            ids["__biz" if name == "biz" else name] = v.group(1)
    if {"__biz", "mid", "idx"} <= ids.keys():
        try:
            return wechat_canonical(ids)
        except InvalidURL:
            return None
    return None


def wechat_canonical(ids: dict[str, str]) -> str:
    query = "&".join(f"{k}={v}" for k, v in ids.items())
    return canonical_url(f"https://mp.weixin.qq.com/s?{query}")


# Which parser a page needs when nothing records its address. WeChat pages mention qq.com too, so
# their markers are tried first; each list is structure the README describes, not article wording.
SITE_MARKERS = (
    (
        "wechat",
        (
            "rich_media",
            "js_content",
            "PAGE_MID",
            "mmbizwap",
            "msg_title",
            "weui-msg",
            "mp.weixin.qq.com",
            "mmbiz.qpic.cn",
        ),
    ),
    ("qq", ("Cnt-Main-Article-QQ", "content-article", "ARTICLE_INFO", "window.DATA", "inews.gtimg.com", ".qq.com")),
)
PLACEHOLDER_URLS = {
    "wechat": "https://mp.weixin.qq.com/s",
    "qq": "https://news.qq.com/",
    "web": "https://example.invalid/",
}


def guess_site_url(html: str) -> str:
    """A stand-in URL of the site family whose structure the page has (for choosing a parser only)."""
    head = html[:_SCAN_LIMIT]
    for site, markers in SITE_MARKERS:
        if any(m in head for m in markers):
            return PLACEHOLDER_URLS[site]
    return PLACEHOLDER_URLS["web"]
