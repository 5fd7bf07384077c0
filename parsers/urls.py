"""Canonical URLs: every shape of one article's link brought to one key.

WeChat long links carry tracking (``chksm``, ``scene``, ``srcid``, ``sharer_*``, ``#rd``); only
``__biz``, ``mid``, ``idx`` and ``sn`` identify the article. qq.com has served one article under half a
dozen hosts and path shapes; all of them that carry the article id become ``news.qq.com/rain/a/{id}``.
"""

from __future__ import annotations

import html
import re
from typing import TypedDict
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

from parsers.errors import InvalidURL

WECHAT_HOST = "mp.weixin.qq.com"
WECHAT_ID_PARAMS = ("__biz", "mid", "idx", "sn")
# old links name the same ids differently
_WECHAT_ALIASES = {"appmsgid": "mid", "itemidx": "idx", "sign": "sn"}
_WECHAT_ALBUM_PARAMS = ("__biz", "action", "album_id")

# qq article ids: 20250207A07NZC00 (16), 20190907A081B0 (14: the same id without its trailing 00),
# TWF2020041300303000 (prefixed video ids), and purely numeric cms ids
_QQ_ID = r"(?:[A-Z]{2,4}\d{8,16}[0-9A-Z]*|\d{8}[A-Z][0-9A-Z]{5}(?:\d{2})?|\d{8}[0-9A-Z]{6,10})"
_QQ_PATHS = (
    re.compile(rf"^/rain/a/({_QQ_ID})(?:\.html?)?/?$"),
    re.compile(rf"^/(?:a|k)/({_QQ_ID})/?$"),
    re.compile(rf"^/omn/(?:\d{{8}}/)?({_QQ_ID})(?:\.html?)?/?$"),
    re.compile(rf"^/omn/[A-Z]{{2,4}}\d+/({_QQ_ID})(?:\.html?)?/?$"),
    re.compile(rf"^/cmsid/(?:{_QQ_ID}/)?({_QQ_ID})/?$"),  # xw.qq.com/cmsid/ID or /cmsid/ID/ID00
)
_QQ_ARTICLE_HOSTS = ("news.qq.com", "new.qq.com", "view.inews.qq.com", "xw.qq.com", "inews.qq.com")
_QQ_CMS = re.compile(r"^/a/(\d{8})/(\d{6,})\.htm$")
_TRACKING = re.compile(r"^(utm_\w+|spm|from|adChannelId|scene|srcid|share_token|ref|fbclid|gclid)$", re.I)


def absolute_url(raw: str, base: str | None = None) -> str:
    """``//host/x`` as ``https://host/x`` (what a browser on an https page does), and a relative
    reference resolved against ``base``; anything else as given. Validation is :func:`split_url`'s job."""
    raw = raw.strip()
    if raw.startswith("//"):
        return "https:" + raw
    if base and not _SCHEME.match(raw):
        try:
            return urljoin(base, raw)
        except ValueError:
            return raw
    return raw


_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


def mask_userinfo(url: str) -> str:
    """``scheme://user:pass@host`` as ``scheme://***@host``: what may be printed or stored of a proxy URL."""
    return _USERINFO.sub("***@", url)


def split_url(url: str) -> SplitResult:
    """The one place a URL is taken apart: an http(s) URL with a usable host and port, else InvalidURL.

    Every error ``urllib.parse`` can raise (an unclosed ``[``, a port past 65535, a NUL) becomes an
    InvalidURL naming the input, so no caller meets a bare ValueError.
    """
    if not isinstance(url, str):
        raise InvalidURL("not a URL", url=repr(url))
    raw = absolute_url(html.unescape(url.strip()))
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise InvalidURL("control character in URL", url=ascii(url.strip()))
    name = url.strip() or repr(url)
    try:
        parts = urlsplit(raw)
        host = parts.hostname
        parts.port  # noqa: B018 - raises for a port out of range or not a number
    except ValueError as exc:
        raise InvalidURL(f"not a valid URL ({exc})", url=name) from exc
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise InvalidURL("not an http(s) URL with a host", url=name)
    if host.startswith("xn--") or ".xn--" in host:
        try:
            host.encode("ascii").decode("idna")
        except UnicodeError as exc:
            raise InvalidURL("not a valid internationalised host name", url=name) from exc
    return parts


_split = split_url


def _netloc(host: str, port: int | None, scheme: str) -> str:
    """host[:port] as it goes back into a URL: an IPv6 literal keeps its brackets."""
    shown = f"[{host}]" if ":" in host else host
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return shown
    return f"{shown}:{port}"


def host_of(url: str) -> str:
    """Lower-case host of an http(s) URL; InvalidURL otherwise."""
    return (_split(url).hostname or "").lower()


def site_of(url: str) -> str:
    """Which parser family owns this URL: ``wechat``, ``qq`` or ``web``."""
    host = host_of(url)
    if host == WECHAT_HOST or host.endswith(".weixin.qq.com"):
        return "wechat"
    if host == "qq.com" or host.endswith(".qq.com"):
        return "qq"
    return "web"


def normalize_qq_id(article_id: str) -> str:
    """The 16-character form of a 14-character id (``20190907A081B0`` -> ``20190907A081B000``)."""
    if re.fullmatch(r"\d{8}[A-Z][0-9A-Z]{5}", article_id):
        return article_id + "00"
    return article_id


def qq_article_id(url: str) -> str | None:
    """The article id a qq.com URL carries, or None (CMS ``.htm`` pages and channel pages carry none)."""
    parts = _split(url)
    host = (parts.hostname or "").lower()
    if not (host == "qq.com" or host.endswith(".qq.com")):
        return None
    path = unquote(parts.path)
    for pattern in _QQ_PATHS:
        m = pattern.match(path)
        if m:
            return normalize_qq_id(m.group(1))
    query = dict(parse_qsl(parts.query))
    for key in ("id", "cmsid", "articleId"):
        if key in query and re.fullmatch(_QQ_ID, query[key]):
            return normalize_qq_id(query[key])
    return None


def wechat_url(biz: str, mid: str, idx: str, sn: str) -> str:
    """The canonical long link of a WeChat article from the page's own ids."""
    query = urlencode({"__biz": biz, "mid": mid, "idx": idx, "sn": sn}, quote_via=quote, safe="=")
    return f"https://{WECHAT_HOST}/s?{query}"


def qq_url(article_id: str) -> str:
    return f"https://news.qq.com/rain/a/{normalize_qq_id(article_id)}"


class UrlIds(TypedDict):
    biz: str | None
    mid: str | None
    idx: str | None
    sn: str | None
    article_id: str | None


def url_ids(url: str) -> UrlIds:
    """The ids an article's own address carries, as the Article's fields: ``biz``/``mid``/``idx``/``sn``
    of a long WeChat link, ``article_id`` of a qq.com one (None where absent); for articles read from a
    file or a feed, whose page never told them."""
    site = site_of(url)
    ids = wechat_ids(url) if site == "wechat" else {}
    return UrlIds(
        biz=ids.get("__biz"),
        mid=ids.get("mid"),
        idx=ids.get("idx"),
        sn=ids.get("sn"),
        article_id=qq_article_id(url) if site == "qq" else None,
    )


def wechat_ids(url: str) -> dict[str, str]:
    """``__biz``/``mid``/``idx``/``sn`` from a long WeChat link (old names mapped), as far as present."""
    parts = _split(url)
    ids: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        key = _WECHAT_ALIASES.get(key, key)
        if key in WECHAT_ID_PARAMS and key not in ids:
            ids[key] = value
    return ids


def _canonical_wechat(parts: SplitResult) -> str:
    path = re.sub(r"/+$", "", parts.path) or "/"
    m = re.match(r"^/s/([\w-]+)$", path)
    if m:
        return f"https://{WECHAT_HOST}/s/{m.group(1)}"
    query = parse_qsl(parts.query, keep_blank_values=False)
    if path in ("/s", "/mp/appmsg/show", "/mp/rumor"):
        ids: dict[str, str] = {}
        for key, value in query:
            key = _WECHAT_ALIASES.get(key, key)
            if key in WECHAT_ID_PARAMS and key not in ids:
                ids[key] = value
        if all(k in ids for k in WECHAT_ID_PARAMS):
            return wechat_url(ids["__biz"], ids["mid"], ids["idx"], ids["sn"])
        keep = [(k, v) for k, v in query if _WECHAT_ALIASES.get(k, k) in WECHAT_ID_PARAMS]
        return urlunsplit(("https", WECHAT_HOST, "/s", urlencode(keep, quote_via=quote, safe="="), ""))
    if path == "/mp/appmsgalbum":
        keep = [(k, v) for k, v in query if k in _WECHAT_ALBUM_PARAMS]
        return urlunsplit(("https", WECHAT_HOST, path, urlencode(keep, quote_via=quote, safe="="), ""))
    return urlunsplit(("https", WECHAT_HOST, path, parts.query, ""))


def canonical_url(url: str) -> str:
    """One key per article: tracking dropped, scheme https for the two platforms, ids in a fixed order.

    Raises InvalidURL for anything but http(s) with a host.
    """
    parts = _split(url)
    host = (parts.hostname or "").lower()
    if host == WECHAT_HOST or host == "weixin.qq.com":
        return _canonical_wechat(parts)
    if host == "qq.com" or host.endswith(".qq.com"):
        article_id = qq_article_id(url)
        if article_id and (host in _QQ_ARTICLE_HOSTS or host.endswith(".qq.com")):
            return qq_url(article_id)
        if _QQ_CMS.match(parts.path):
            return urlunsplit(("https", host, parts.path, "", ""))
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
        return urlunsplit(("https", _netloc(host, parts.port, "https"), parts.path or "/", urlencode(query), ""))
    # the open web: keep the scheme (some sites have no https), drop fragments, tracking and default ports
    scheme = parts.scheme.lower()
    netloc = _netloc(host, parts.port, scheme)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))
