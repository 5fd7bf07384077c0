"""Atom 1.0, JSON Feed 1.1 and OPML 2.0 documents from prepared items; no database, no HTTP.

Entry ids are ``tag:`` URIs over the article's key (WeChat ``biz:mid:idx``, the qq article id, else the
canonical URL), so they survive restarts, re-crawls, a rebuilt database and a changed ``--base-url``.
Times are written at +08:00, as they are stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from xml.etree import ElementTree as ET

from parsers.article import SHANGHAI

ATOM = "http://www.w3.org/2005/Atom"
MEDIA = "http://search.yahoo.com/mrss/"
JSON_FEED = "https://jsonfeed.org/version/1.1"
TAG_PREFIX = "tag:jianbao.invalid,2025:"
GENERATOR = "jianbao"

ET.register_namespace("", ATOM)
ET.register_namespace("media", MEDIA)

# XML 1.0 has no way to carry these, not even escaped: a title holding one would break the whole feed
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class FeedItem:
    key: str  # Article.key
    title: str
    url: str  # the original article
    page: str  # its page on this server (absolute)
    published: datetime | None
    updated: datetime
    author: str | None
    account: str | None
    source: str
    summary: str
    content_html: str
    cover: str | None  # absolute, through the image proxy


@dataclass(frozen=True, slots=True)
class FeedMeta:
    title: str
    self_url: str  # this feed (absolute)
    home_url: str  # the HTML page it mirrors (absolute)
    json_url: str
    atom_url: str
    updated: datetime


def entry_id(key: str) -> str:
    # a tag URI's specific part takes pchar, "/" and "?": everything else is percent-encoded
    return TAG_PREFIX + quote(key, safe=":/?@!$&'()*+,;=-._~")


def _clean(text: str | None) -> str:
    return _NOT_XML.sub("", text or "")


def _time(value: datetime) -> str:
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds")


def _sub(parent: ET.Element, tag: str, inner: str | None = None, /, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: _clean(v) for k, v in attrs.items()})
    if inner is not None:
        el.text = _clean(inner)
    return el


def atom(meta: FeedMeta, items: Sequence[FeedItem]) -> bytes:
    a = f"{{{ATOM}}}"
    feed = ET.Element(f"{a}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "zh-CN"})
    _sub(feed, f"{a}id", meta.self_url)
    _sub(feed, f"{a}title", meta.title)
    _sub(feed, f"{a}updated", _time(meta.updated))
    _sub(feed, f"{a}link", rel="self", type="application/atom+xml", href=meta.self_url)
    _sub(feed, f"{a}link", rel="alternate", type="text/html", href=meta.home_url)
    author = _sub(feed, f"{a}author")
    _sub(author, f"{a}name", GENERATOR)
    _sub(feed, f"{a}generator", GENERATOR)
    for item in items:
        entry = _sub(feed, f"{a}entry")
        _sub(entry, f"{a}id", entry_id(item.key))
        _sub(entry, f"{a}title", item.title or item.url, type="text")
        _sub(entry, f"{a}updated", _time(item.updated))
        if item.published is not None:
            _sub(entry, f"{a}published", _time(item.published))
        if item.author or item.account:
            who = _sub(entry, f"{a}author")
            _sub(who, f"{a}name", item.author or item.account)
        _sub(entry, f"{a}link", rel="alternate", type="text/html", href=item.url)
        _sub(entry, f"{a}link", rel="related", type="text/html", href=item.page)
        if item.account:
            _sub(entry, f"{a}category", term=item.account, label=item.account)
        _sub(entry, f"{a}category", term=item.source, scheme="https://jianbao.invalid/source")
        if item.summary:
            _sub(entry, f"{a}summary", item.summary, type="text")
        _sub(entry, f"{a}content", item.content_html, type="html")
        if item.cover:
            _sub(entry, f"{{{MEDIA}}}thumbnail", url=item.cover)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8", xml_declaration=False)


def json_feed(meta: FeedMeta, items: Sequence[FeedItem]) -> bytes:
    out = {
        "version": JSON_FEED,
        "title": meta.title,
        "home_page_url": meta.home_url,
        "feed_url": meta.json_url,
        "language": "zh-CN",
        "authors": [{"name": GENERATOR}],
        "items": [
            {
                k: v
                for k, v in {
                    "id": entry_id(item.key),
                    "url": item.url,
                    "external_url": item.page,
                    "title": item.title,
                    "content_html": item.content_html,
                    "summary": item.summary or None,
                    "image": item.cover,
                    "date_published": _time(item.published) if item.published else None,
                    "date_modified": _time(item.updated),
                    "authors": [{"name": item.author or item.account}] if (item.author or item.account) else None,
                    "tags": [t for t in (item.account, item.source) if t],
                }.items()
                if v is not None
            }
            for item in items
        ],
    }
    return json.dumps(out, ensure_ascii=False, indent=1).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Outline:
    text: str
    xml_url: str
    html_url: str


def opml(title: str, created: datetime, groups: Sequence[tuple[str, Sequence[Outline]]]) -> bytes:
    root = ET.Element("opml", {"version": "2.0"})
    head = _sub(root, "head")
    _sub(head, "title", title)
    _sub(head, "dateCreated", created.astimezone(SHANGHAI).strftime("%a, %d %b %Y %H:%M:%S %z"))
    body = _sub(root, "body")
    for name, outlines in groups:
        folder = _sub(body, "outline", text=name, title=name)
        for o in outlines:
            _sub(folder, "outline", type="rss", text=o.text, title=o.text, xmlUrl=o.xml_url, htmlUrl=o.html_url)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
