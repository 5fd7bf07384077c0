"""Where a saved page came from: the URL a browser or the page itself records."""

from __future__ import annotations

import re
from html import unescape

from parsers.errors import InvalidURL
from parsers.urls import canonical_url, qq_url

# In order of trust: a saved-page comment records the address bar; og:url and msg_link are the
# page's own claim; a canonical link is sometimes a site-wide default.
_ORIGIN_PATTERNS = (
    re.compile(r"<!--\s*saved from url=\(\d+\)\s*(\S+?)\s*-->", re.I),
    re.compile(r"<!--\s*(?:url|source|page saved with SingleFile)\s*:?\s*(https?://\S+?)\s*-->", re.I),
    re.compile(r"""<meta\s[^>]*property=["']og:url["'][^>]*content=["']([^"']+)["']""", re.I),
    re.compile(r"""<meta\s[^>]*content=["']([^"']+)["'][^>]*property=["']og:url["']""", re.I),
    re.compile(r"""var\s+msg_link\s*=\s*["']([^"']+)["']"""),
    re.compile(r"""<link\s[^>]*rel=["']canonical["'][^>]*href=["']([^"']+)["']""", re.I),
    re.compile(r"""<link\s[^>]*href=["']([^"']+)["'][^>]*rel=["']canonical["']""", re.I),
    re.compile(r"""\barticle_url\s*:\s*["'](https?://[^"']+)["']"""),  # qq CMS ARTICLE_INFO
)
_QQ_ARTICLE_ID = re.compile(r"""["']?article_id["']?\s*:\s*["']([0-9A-Z]{14,20})["']""")
# rendered WeChat pages blank og:url and msg_link but keep the ids, as `var biz = ""||"MjM5…=="`
_WECHAT_VAR = r"""var\s+{name}\s*=\s*(?:["'][^"']*["']\s*\|\|\s*)*["']([^"']+)["']"""
# the head and the first scripts are enough; 2025 WeChat pages are 3 MB of which we need the top
_SCAN_LIMIT = 600_000


def find_origin_url(html: str) -> str | None:
    """The page's own URL as recorded in it, canonicalised; None when the page does not say."""
    head = html[:_SCAN_LIMIT]
    for pattern in _ORIGIN_PATTERNS:
        for m in pattern.finditer(head):
            raw = unescape(m.group(1)).replace("\\x26", "&").replace("\\/", "/")
            if raw.startswith("//"):
                raw = "https:" + raw
            try:
                return canonical_url(raw)
            except InvalidURL:
                continue
    qq_id = _QQ_ARTICLE_ID.search(head)
    if qq_id:
        return qq_url(qq_id.group(1))
    ids = {}
    for name in ("biz", "mid", "idx", "sn"):
        v = re.search(_WECHAT_VAR.format(name=name), html)
        if v:
            ids["__biz" if name == "biz" else name] = v.group(1)
    if {"__biz", "mid", "idx"} <= ids.keys():
        query = "&".join(f"{k}={v}" for k, v in ids.items())
        return canonical_url(f"https://mp.weixin.qq.com/s?{query}")
    return None


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
