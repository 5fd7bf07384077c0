"""Listings: the pages that name articles (feeds, albums, channel APIs, sitemaps, URL lists).

Pure like every parser: bytes or text in, a :class:`Listing` out, :class:`ParseError` for garbage.
A listing never decides what is new; it only reads entries, the cursor for the following page
(``next``) and, for sitemap indexes, the child sitemaps. URLs come out entity-decoded (``&amp;`` is
common in WeChat data), protocol-relative ones made https and relative ones resolved against the
listing; anything that is not http(s) with a host is dropped.
"""

from __future__ import annotations

import html
import io
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.etree import ElementTree as ET

import feedparser
from selectolax.lexbor import LexborHTMLParser

from parsers import check_budget
from parsers.dates import parse_datetime
from parsers.decode import decode_html
from parsers.errors import ParseError
from parsers.urls import absolute_url, qq_url

# --- selectors and names, kept as data -------------------------------------------------------------

NS_ATOM = "http://www.w3.org/2005/Atom"
NS_RSS1 = "http://purl.org/rss/1.0/"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_NEWS = "http://www.google.com/schemas/sitemap-news/0.9"

ALBUM_ITEM = "li.album__list-item"  # one per article on the album's first screen
ALBUM_ITEM_TITLE = ".album__item-title-wrp"
ALBUM_ITEM_TIME = ".js_article_create_time"  # unix seconds as text
ALBUM_MARKERS = (".js_album_list", ".album__list")  # present even when the album is empty
ALBUM_PAGE_SIZE = 10  # what WeChat's own album script asks for
# window.cgiData on the album page: `continue_flag: '1' * 1,`, `is_reverse: '1' * 1,`, `albumId: '…',`
_CGI_FIELD = r"\b{name}\s*:\s*['\"]([^'\"]*)['\"]"

QQ_AGGREGATE = "525"  # a card that bundles articles in sub_item[]
QQ_HOT_HEADER = "560"  # the hot list's first row: a banner, not an article
QQ_TIME_FIELDS = ("publish_time", "pubtime", "timestamp", "time", "update_time")
QQ_URL_FIELDS = ("url", "surl", "vurl")

# a feed's own article text counts as the whole article from this many visible characters on, unless
# it ends like a teaser; shorter content is a summary and the page is fetched
FULL_CONTENT_MIN_CHARS = 300
_TEASER_END = re.compile(
    r"(?:\.\.\.|…|阅读全文|阅读原文|查看全文|继续阅读|全文完?|read more|continue reading)\W*$", re.I
)

# a description written as an article's HTML (paragraphs, images), not a line of text
_ARTICLE_MARKUP = re.compile(r"<(?:p|img|section|div|br|h[1-6]|figure)\b", re.I)

_RSS091_DOCTYPE = re.compile(r"^\s*<!DOCTYPE\s+rss\s+PUBLIC\s+\"-//[^\"<>\[\]]*RSS 0\.91//EN\"[^<>\[\]]*>", re.I)
# gzip'd sitemaps are common; a bomb must not take the crawl's memory
MAX_INFLATED = 50_000_000

_ANY_TAG = re.compile(r"<[^<>]*>")  # stops at the next "<": linear on runs of "<"
_AMP = re.compile(r"&(?:amp|#0*38|#x0*26);", re.I)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([\w.:-]+)[\"']", re.I)


# --- the result ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One article a listing names. ``published`` is aware (Asia/Shanghai when the listing gave a
    naive or unix time)."""

    url: str
    title: str | None = None
    published: datetime | None = None
    # the article as the feed carries it (HTML), and whether that looks like all of it, not a teaser
    content: str | None = None
    content_is_full: bool = False
    # what a feed says besides (plain text): the entry's summary when it has one apart from its
    # content, its author, and the feed's own title (for wewe-rss and RSSHub, the account's name)
    summary: str | None = None
    author: str | None = None
    feed_title: str | None = None


# --- cursors: what a listing page says about the page after it ------------------------------------


@dataclass(frozen=True, slots=True)
class NextURL:
    """A feed's own link to its following page (Atom ``rel="next"``, JSON Feed ``next_url``)."""

    url: str


@dataclass(frozen=True, slots=True)
class AlbumCursor:
    """A WeChat album continues after its LAST listed item (``begin_msgid``/``begin_itemidx``)."""

    biz: str
    album_id: str
    begin_msgid: str
    begin_itemidx: str
    count: int
    is_reverse: str | None = None


@dataclass(frozen=True, slots=True)
class PageNumber:
    """Numbered pages (qq.com's ``flush_num``, WeRead's ``offset``): ``number`` is the page to ask next."""

    number: int


Cursor = NextURL | AlbumCursor | PageNumber


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of a listing: its entries, the cursor for the following page, sub-sitemaps."""

    entries: tuple[Entry, ...]
    next: Cursor | None = None
    children: tuple[str, ...] = ()


# --- shared helpers --------------------------------------------------------------------------------


def clean_url(raw: Any, base: str | None = None) -> str | None:
    """An absolute http(s) URL from a listing's raw value, or None when there is none."""
    if not isinstance(raw, str):
        return None
    url = raw.strip()
    # WeChat data is often escaped twice (`&amp;amp;`); decode only ampersands, never other entities,
    # because `&lt=` style query strings are real in URLs
    while True:
        decoded = _AMP.sub("&", url)
        if decoded == url:
            break
        url = decoded
    if not url:
        return None
    try:
        url = absolute_url(url, base)
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def _title(value: Any) -> str | None:
    """A title from WeChat data, where entities arrive escaped once or twice (`&amp;amp;`)."""
    text = _text(value)
    for _ in range(3):
        if text is None or "&" not in text:
            break
        text = html.unescape(text)
    return text


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text or None


def parse_time(value: Any) -> datetime | None:
    """Unix seconds or milliseconds, ISO 8601 / RFC 3339, RFC 822, or a naive local time -> aware.

    Naive and unix times are Asia/Shanghai, the zone every listing here is written in (one reader
    for every parser: parsers.dates).
    """
    return parse_datetime(value)


def _dedup(entries: Iterable[Entry]) -> tuple[Entry, ...]:
    seen: set[str] = set()
    out: list[Entry] = []
    for e in entries:
        if e.url not in seen:
            seen.add(e.url)
            out.append(e)
    return tuple(out)


def _load_json(data: bytes | str, url: str | None, what: str) -> Any:
    text = decode_html(data, name=url) if isinstance(data, bytes) else data
    if not text.strip():
        raise ParseError(f"empty {what}", url=url)
    try:
        return json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise ParseError(f"{what} is not JSON ({exc.msg} at line {exc.lineno})", url=url) from exc


# --- XML, safely -----------------------------------------------------------------------------------


def _xml_text(data: bytes | str, url: str | None) -> str:
    """Decode XML bytes by BOM, then declared encoding, then UTF-8 / GB18030, without the declaration.

    Expat cannot read multi-byte encodings such as GBK by itself, and Chinese feeds use them; so the
    decoding happens here and the parser gets text.
    """
    if isinstance(data, bytes):
        if data[:2] == b"\x1f\x8b":
            data = _gunzip(data, url)
        if not data.strip():
            raise ParseError("empty document", url=url)
        declared = _XML_ENCODING.match(data)
        # decode_html maps gb2312/gbk to gb18030 and ignores names Python does not know
        content_type = f"charset={declared.group(1).decode('ascii')}" if declared else None
        text = decode_html(data, content_type=content_type, name=url)
    else:
        text = data
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ParseError("empty document", url=url)
    return _XML_DECL.sub("", text, count=1)


def _gunzip(data: bytes, url: str | None) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, MAX_INFLATED)
    except zlib.error as exc:
        raise ParseError(f"broken gzip data ({exc})", url=url) from exc
    if inflater.unconsumed_tail:
        raise ParseError(f"gzip data inflates past {MAX_INFLATED} bytes", url=url)
    return out


def _refuse_dtd(text: str, url: str | None) -> None:
    """No DTD at all: entities are declared only there, so refusing it refuses entity bombs and
    external entities, and no listing we read needs one."""
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if text.startswith("<!--", pos):
            end = text.find("-->", pos + 4)
            if end < 0:
                raise ParseError("unterminated comment before the root element", url=url)
            pos = end + 3
        elif text.startswith("<?", pos):
            end = text.find("?>", pos + 2)
            if end < 0:
                raise ParseError("unterminated processing instruction", url=url)
            pos = end + 2
        elif text[pos : pos + 9].upper() == "<!DOCTYPE" or text[pos : pos + 8].upper() == "<!ENTITY":
            raise ParseError("XML with a DTD or entity declarations is refused", url=url)
        else:
            return


def _parse_xml(data: bytes | str, url: str | None) -> ET.Element:
    text = _xml_text(data, url)
    _refuse_dtd(text, url)
    if not text.lstrip().startswith("<"):
        raise ParseError("not XML", url=url)
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise ParseError(f"malformed XML ({exc})", url=url) from exc


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(el: ET.Element, *names: str) -> ET.Element | None:
    for name in names:
        found = el.find(name)
        if found is not None:
            return found
    return None


def _child_text(el: ET.Element, *names: str) -> str | None:
    found = _child(el, *names)
    return _text("".join(found.itertext())) if found is not None else None


# --- feeds -----------------------------------------------------------------------------------------


def parse_feed(data: bytes | str, url: str) -> Listing:
    """RSS 0.9x / 1.0 / 2.0 and Atom 0.3 / 1.0 (through feedparser, which reads what browsers' feed
    readers read: undefined HTML entities, a raw ``&``, a BOM), or JSON Feed 1.0 / 1.1.

    ``next`` is ``{"url": …}`` when the feed links its following page (Atom ``rel="next"``,
    JSON Feed ``next_url``). Entries carry the feed's own article text in ``content`` when it has
    one (``content:encoded``, Atom ``content``, JSON Feed ``content_html``).
    """
    head = data[:64].lstrip() if isinstance(data, str) else data[:64].lstrip(b" \t\r\n\xef\xbb\xbf")
    if head[:1] in ("{", b"{"):
        return _parse_json_feed(_load_json(data, url, "JSON feed"), url)
    text = _xml_text(data, url)
    if not text.lstrip().startswith("<"):
        raise ParseError("not XML", url=url)
    # RSS 0.91's public DOCTYPE is harmless and common; any other DTD (entity declarations, external
    # files) is refused as for every XML listing
    text = _RSS091_DOCTYPE.sub("", text, count=1)
    _refuse_dtd(text, url)
    # feedparser is given bytes it cannot mistake for a URL or a file name, decoded and declared here
    doc = feedparser.parse(
        io.BytesIO(b'<?xml version="1.0" encoding="utf-8"?>' + text.encode("utf-8", "replace")),
        resolve_relative_uris=False,
        sanitize_html=False,
    )
    problem = doc.get("bozo_exception")
    if not doc.get("entries") and (problem or not doc.get("version")):
        # a broken feed is read for what it holds; one that yields nothing is an error
        raise ParseError(f"not a feed{f' ({problem})' if problem else ''}", url=url)
    base = clean_url(doc.feed.get("link"), url) or url
    feed_title = _text(doc.feed.get("title"))
    entries = []
    for item in doc.entries:
        href = _feed_entry_url(item, base)
        if not href:
            continue
        content = _feed_content(item)
        summary = item.get("summary")
        if not isinstance(summary, str) or (content is not None and summary.strip() == content):
            summary = None  # feedparser gives an Atom entry without a summary its content as one
        elif content is None and _ARTICLE_MARKUP.search(summary) and looks_full(summary):
            # RSSHub's RSS 2.0 (its default) carries the whole article as the <description>'s HTML
            content, summary = summary.strip(), None
        entries.append(
            Entry(
                url=href,
                title=_text(item.get("title")),
                published=_feed_time(item),
                content=content,
                content_is_full=content is not None and looks_full(content, summary),
                summary=(_visible_text(summary) or None) if summary else None,
                author=_text(item.get("author")),
                feed_title=feed_title,
            )
        )
    if problem and not entries:
        raise ParseError(f"malformed feed with no readable entry ({problem})", url=url)
    next_url = None
    for link in doc.feed.get("links") or []:
        if link.get("rel") == "next":
            next_url = clean_url(link.get("href"), url)
            if next_url:
                break
    return Listing(entries=_dedup(entries), next=NextURL(next_url) if next_url else None)


def _feed_entry_url(item: Any, base: str) -> str | None:
    for link in item.get("links") or []:
        if (link.get("rel") or "alternate") == "alternate":
            href = clean_url(link.get("href"), base)
            if href:
                return href
    href = clean_url(item.get("link"), base)
    if href:
        return href
    # an RSS guid or Atom id is often the permalink when no link is given (not when isPermaLink="false")
    if item.get("guidislink", True) is not False or "id" in item:
        return clean_url(item.get("id"), None)
    return None


def _feed_time(item: Any) -> datetime | None:
    # feedparser's *_parsed are UTC struct_times that drop a naive time's zone; the raw text is kept
    # and read here, so a naive time is Asia/Shanghai as everywhere else
    for key in ("published", "updated", "created", "issued", "modified", "date"):
        when = parse_time(item.get(key))
        if when is not None:
            return when
    return None


def _feed_content(item: Any) -> str | None:
    for block in item.get("content") or []:
        value = block.get("value") if isinstance(block, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def looks_full(content: str, summary: str | None = None) -> bool:
    """Whether a feed's content is the whole article rather than a teaser: enough visible text, more
    than the summary, and no "read more" ending."""
    text = _visible_text(content)
    if len(text) < FULL_CONTENT_MIN_CHARS:
        return False
    if summary and len(text) <= len(_visible_text(summary)) + 20:
        return False
    return not _TEASER_END.search(text[-40:])


def _visible_text(fragment: str) -> str:
    if "<" not in fragment:
        return _text(html.unescape(fragment)) or ""
    try:
        check_budget(fragment, "")
    except ParseError:
        # past the parse budget a tree takes seconds an entry (lexbor is quadratic in depth): the
        # text between tags, read in one pass, is enough to judge the length
        return _text(html.unescape(_ANY_TAG.sub(" ", fragment))) or ""
    body = LexborHTMLParser(fragment).body
    return _text(body.text(deep=True, separator=" ")) or "" if body is not None else ""


def _parse_json_feed(doc: Any, url: str) -> Listing:
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise ParseError("JSON feed without items[]", url=url)
    version = str(doc.get("version") or "")
    if version and "jsonfeed.org" not in version:
        raise ParseError(f"unknown JSON feed version {version!r}", url=url)
    feed_title = _text(doc.get("title"))
    entries = []
    for item in doc["items"]:
        if not isinstance(item, dict):
            continue
        href = clean_url(item.get("url"), url) or clean_url(item.get("id"), None)
        if not href:
            continue
        raw = item.get("content_html") or item.get("content_text")
        content = raw.strip() or None if isinstance(raw, str) else None
        if content is not None and not item.get("content_html"):
            content = "".join(f"<p>{html.escape(p)}</p>" for p in content.split("\n\n") if p.strip())
        summary = item.get("summary") if isinstance(item.get("summary"), str) else None
        entries.append(
            Entry(
                url=href,
                title=_text(item.get("title")),
                published=parse_time(item.get("date_published") or item.get("date_modified")),
                content=content,
                content_is_full=content is not None and looks_full(content, summary),
                summary=_text(summary),
                author=_json_feed_author(item),
                feed_title=feed_title,
            )
        )
    next_url = clean_url(doc.get("next_url"), url)
    return Listing(entries=_dedup(entries), next=NextURL(next_url) if next_url else None)


def _json_feed_author(item: dict[str, Any]) -> str | None:
    """JSON Feed 1.1 ``authors[]`` (names joined), or 1.0's single ``author``."""
    people = item.get("authors")
    if not isinstance(people, list):
        people = [item.get("author")]
    names = [_text(p.get("name")) for p in people if isinstance(p, dict)]
    return "、".join(n for n in names if n) or None


# --- WeChat albums ---------------------------------------------------------------------------------


def parse_album(data: bytes | str, url: str) -> Listing:
    """A WeChat album: its HTML page (``/mp/appmsgalbum?action=getalbum…``) or a JSON continuation.

    ``next`` is an :class:`AlbumCursor`: ``__biz``, ``album_id``, ``begin_msgid`` and ``begin_itemidx``
    of the LAST item, ``count``, and ``is_reverse`` when the page or URL gives the order. It is None
    when ``continue_flag`` says the album ends here.
    """
    text = decode_html(data, name=url) if isinstance(data, bytes) else data
    if not text.strip():
        raise ParseError("empty album page", url=url)
    if text.lstrip("\ufeff \t\r\n")[:1] == "{":
        return _album_json(_load_json(text, url, "album answer"), url)
    return _album_html(text, url)


def _url_params(url: str) -> dict[str, str]:
    try:
        return {k: v for k, v in parse_qsl(urlsplit(url).query) if v}
    except ValueError:
        return {}


def _album_cursor(
    url: str, last: tuple[str, str] | None, *, biz: str | None, album_id: str | None, reverse: str | None
) -> AlbumCursor | None:
    if last is None:
        return None
    params = _url_params(url)
    return AlbumCursor(
        biz=params.get("__biz") or biz or "",
        album_id=params.get("album_id") or album_id or "",
        begin_msgid=last[0],
        begin_itemidx=last[1],
        count=ALBUM_PAGE_SIZE,
        is_reverse=params.get("is_reverse") or reverse or None,
    )


def _album_html(text: str, url: str) -> Listing:
    tree = LexborHTMLParser(text)
    items = tree.css(ALBUM_ITEM)
    is_album = any(tree.css_first(sel) for sel in ALBUM_MARKERS) or re.search(_CGI_FIELD.format(name="albumId"), text)
    if not items and not is_album:
        raise ParseError("not a WeChat album page (no album list)", url=url)
    entries: list[Entry] = []
    last: tuple[str, str] | None = None
    biz: str | None = None
    for li in items:
        attrs = li.attributes
        href = clean_url(attrs.get("data-link"), url)
        if not href:
            continue
        title = _title(attrs.get("data-title"))
        if title is None:
            node = li.css_first(ALBUM_ITEM_TITLE)
            title = _title(node.text()) if node is not None else None
        time_node = li.css_first(ALBUM_ITEM_TIME)
        entries.append(Entry(url=href, title=title, published=parse_time(time_node.text() if time_node else None)))
        msgid, itemidx = attrs.get("data-msgid"), attrs.get("data-itemidx")
        link = _url_params(href)
        biz = biz or link.get("__biz")
        msgid = msgid or link.get("mid")
        itemidx = itemidx or link.get("idx")
        if msgid and itemidx:
            last = (msgid, itemidx)

    def cgi(name: str) -> str | None:
        m = re.search(_CGI_FIELD.format(name=name), text)
        return m.group(1) if m else None

    # a page without continue_flag (older templates) is asked once more; the JSON answer will tell
    more = cgi("continue_flag") != "0"
    cursor = _album_cursor(url, last, biz=biz, album_id=cgi("albumId"), reverse=cgi("is_reverse"))
    return Listing(entries=_dedup(entries), next=cursor if more else None)


def _album_json(doc: Any, url: str) -> Listing:
    if not isinstance(doc, dict):
        raise ParseError("album answer is not a JSON object", url=url)
    base = doc.get("base_resp")
    if isinstance(base, dict) and str(base.get("ret", 0)) != "0":
        raise ParseError(f"album API refused the request (ret={base.get('ret')})", url=url)
    resp = doc.get("getalbum_resp")
    if not isinstance(resp, dict):
        raise ParseError("album answer without getalbum_resp", url=url)
    raw = resp.get("article_list") or []
    if isinstance(raw, dict):  # the API sends a lone article as an object, not a one-item list
        raw = [raw]
    if not isinstance(raw, list):
        raise ParseError("album article_list is neither a list nor an object", url=url)
    entries: list[Entry] = []
    last: tuple[str, str] | None = None
    biz: str | None = None
    for item in raw:
        if not isinstance(item, dict):
            continue
        href = clean_url(item.get("url"), url)
        if not href:
            continue
        entries.append(Entry(url=href, title=_title(item.get("title")), published=parse_time(item.get("create_time"))))
        link = _url_params(href)
        biz = biz or link.get("__biz")
        msgid = str(item.get("msgid") or link.get("mid") or "")
        itemidx = str(item.get("itemidx") or link.get("idx") or "")
        if msgid and itemidx:
            last = (msgid, itemidx)
    more = str(resp.get("continue_flag", "0")) == "1"
    cursor = _album_cursor(url, last, biz=biz, album_id=None, reverse=None)
    return Listing(entries=_dedup(entries), next=cursor if more else None)


# --- qq.com ----------------------------------------------------------------------------------------


def _qq_entry(item: dict[str, Any]) -> Entry | None:
    link_info = item.get("link_info")
    href = clean_url(link_info.get("url"), None) if isinstance(link_info, dict) else None
    for field in QQ_URL_FIELDS:
        href = href or clean_url(item.get(field), None)
    if href is None:
        article_id = _text(item.get("id") or item.get("article_id") or item.get("cms_id"))
        if article_id and re.fullmatch(r"[0-9A-Z]{14,20}", article_id) and not article_id.startswith("TIP"):
            href = qq_url(article_id)
    if href is None:
        return None
    published = None
    for field in QQ_TIME_FIELDS:
        published = parse_time(item.get(field))
        if published:
            break
    return Entry(url=href, title=_text(item.get("title")), published=published)


def _qq_items(items: Iterable[Any]) -> Iterator[Entry]:
    for item in items:
        if not isinstance(item, dict):
            continue
        if str(item.get("articletype", "")) == QQ_AGGREGATE:
            yield from _qq_items(item.get("sub_item") or [])
            continue
        entry = _qq_entry(item)
        if entry is not None:
            yield entry


def _qq_status(doc: dict[str, Any], what: str) -> None:
    for key in ("code", "ret"):
        if key in doc and str(doc[key]) != "0":
            msg = doc.get("msg") or doc.get("message") or ""
            raise ParseError(f"{what} answered {key}={doc[key]} {msg}".strip())


def parse_qq_channel(data: bytes | str, *, flush_num: int = 1) -> Listing:
    """A ``getPCList`` answer (``{"code":0,"data":[…]}``); aggregate cards (articletype 525) are
    expanded into their ``sub_item[]``. ``flush_num`` is the page this answer is for: ``next`` asks
    for the following one, and is None once a page comes back empty."""
    doc = _load_json(data, None, "qq channel answer")
    if not isinstance(doc, dict):
        raise ParseError("qq channel answer is not a JSON object")
    _qq_status(doc, "qq channel feed")
    items = doc.get("data")
    if isinstance(items, dict):  # some list APIs wrap the list once more
        items = items.get("list") or items.get("data")
    if not isinstance(items, list):
        raise ParseError("qq channel answer without a data[] list")
    entries = _dedup(_qq_items(items))
    return Listing(entries=entries, next=PageNumber(flush_num + 1) if items else None)


def parse_qq_hot(data: bytes | str) -> Listing:
    """The hot list (``hot_ranking_list``): ``idlist[0].newslist[]`` without its header row."""
    doc = _load_json(data, None, "qq hot list")
    if not isinstance(doc, dict):
        raise ParseError("qq hot list is not a JSON object")
    _qq_status(doc, "qq hot list")
    idlist = doc.get("idlist")
    if not isinstance(idlist, list) or not idlist or not isinstance(idlist[0], dict):
        raise ParseError("qq hot list without idlist[0]")
    news = idlist[0].get("newslist")
    if not isinstance(news, list):
        raise ParseError("qq hot list without newslist[]")
    rows = [n for n in news if isinstance(n, dict) and str(n.get("articletype", "")) != QQ_HOT_HEADER]
    return Listing(entries=_dedup(_qq_items(rows)))


# --- sitemaps --------------------------------------------------------------------------------------


def parse_sitemap(data: bytes | str, url: str) -> Listing:
    """A ``urlset`` (entries; Google News title and publication date, else ``lastmod``) or a
    ``sitemapindex`` (children, newest ``lastmod`` first when every child has one). Gzip is undone."""
    root = _parse_xml(data, url)
    kind = _local(root.tag)
    ns = root.tag[: -len(kind)]  # "{…sitemap/0.9}" or "" for sitemaps written without a namespace
    if kind == "urlset":
        entries = []
        for node in root.findall(f"{ns}url"):
            href = clean_url(_child_text(node, f"{ns}loc"), url)
            if not href:
                continue
            news = node.find(f"{{{NS_NEWS}}}news")
            title = _child_text(news, f"{{{NS_NEWS}}}title") if news is not None else None
            when = _child_text(news, f"{{{NS_NEWS}}}publication_date") if news is not None else None
            entries.append(
                Entry(url=href, title=title, published=parse_time(when or _child_text(node, f"{ns}lastmod")))
            )
        return Listing(entries=_dedup(entries))
    if kind == "sitemapindex":
        children: list[tuple[str, datetime | None]] = []
        for node in root.findall(f"{ns}sitemap"):
            href = clean_url(_child_text(node, f"{ns}loc"), url)
            if href and href not in (c for c, _ in children):
                children.append((href, parse_time(_child_text(node, f"{ns}lastmod"))))
        dated = [(href, when) for href, when in children if when is not None]
        order = [href for href, _ in children]
        if children and len(dated) == len(children):
            # a bounded crawl should read the freshest sitemaps first; the sort is stable for ties
            order = [href for href, _ in sorted(dated, key=lambda c: c[1], reverse=True)]
        return Listing(entries=(), children=tuple(order))
    raise ParseError(f"not a sitemap (root element <{kind}>)", url=url)


# --- URL lists -------------------------------------------------------------------------------------


def parse_url_list(text: str) -> Listing:
    """One URL per line; blank lines and lines starting with ``#`` are skipped. A line that is not an
    http(s) URL is refused with its number, so a typo never silently drops an article."""
    if not isinstance(text, str):
        raise ParseError("a URL list must be text")
    entries = []
    for n, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        raw = line.split()[0]
        href = absolute_url(raw)
        try:
            parts = urlsplit(href)
            ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        except ValueError:
            ok = False
        if not ok:
            raise ParseError(f"line {n}: not an http(s) URL: {raw[:80]!r}")
        entries.append(Entry(url=href))
    return Listing(entries=_dedup(entries))
