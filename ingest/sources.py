"""Discovery for scheduled crawls: which article URLs does each configured source name now?

Each source kind says how to ask for its first listing page and how a page's typed cursor
(:mod:`parsers.listings`) leads to the next; one loop, :func:`page_through`, pages on until a page brings
nothing new (everything on it already stored, or already listed earlier in this run) or until
``source.max_pages`` listings were fetched. Newest-first listings make that rule cheap: a crawl every
hour reads one page per source. Entries come out with canonical URLs, once per run, and only when
new. The parsing itself is pure and lives in :mod:`parsers.listings`; the endpoints below change
often, so each one is a constant next to the one function that uses it.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from ingest.config import SourceConfig
from ingest.errors import ConfigError, PermanentFetchError
from ingest.seen import SeenURLs
from parsers.errors import InvalidURL, ParseError
from parsers.listings import (
    AlbumCursor,
    Cursor,
    Entry,
    Listing,
    NextURL,
    PageNumber,
    parse_album,
    parse_feed,
    parse_qq_channel,
    parse_qq_hot,
    parse_sitemap,
    parse_url_list,
)
from parsers.urls import split_url

QQ_CHANNEL_URL = "https://i.news.qq.com/web_feed/getPCList"
QQ_HOT_URL = "https://r.inews.qq.com/gw/event/hot_ranking_list?page_size=50"
QQ_REFERER = "https://news.qq.com/"
QQ_PAGE_SIZE = 20
WECHAT_ALBUM_URL = "https://mp.weixin.qq.com/mp/appmsgalbum"
JSON_ACCEPT = "application/json, text/plain, */*"


class ListingPage(Protocol):
    """What discovery reads of a fetched page (``parsers.article.Page`` has all of it)."""

    @property
    def url(self) -> str: ...
    @property
    def final_url(self) -> str: ...
    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def content(self) -> bytes: ...


class ListingFetcher(Protocol):
    """The one method discovery needs of ``ingest.fetch.Fetcher``."""

    async def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        referer: str | None = None,
    ) -> ListingPage: ...


@dataclass(frozen=True, slots=True)
class ListingRequest:
    """How to ask for one listing page and how to read the answer."""

    url: str
    parse: Callable[[bytes, str], Listing]
    method: str = "GET"
    json: Any = None
    headers: Mapping[str, str] | None = None
    referer: str | None = None
    label: str | None = None  # named in errors where the URL alone does not say which page


# what follows a listing page, given its cursor (None: the cursor kind does not belong to this source)
Follow = Callable[[Cursor], ListingRequest | None]


def _required(source: SourceConfig, key: str) -> str:
    value = getattr(source, key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"source {source.name!r} of kind {source.kind!r} needs {key}", key=key)
    return value


async def fetch_listing(fetcher: ListingFetcher, request: ListingRequest) -> Listing:
    """Fetch one listing page and parse it; a ParseError names the listing URL (FetchErrors already do)."""
    page = await fetcher.fetch(
        request.url, method=request.method, json=request.json, headers=request.headers, referer=request.referer
    )
    try:
        return request.parse(page.content, page.final_url or request.url)
    except ParseError as exc:
        if exc.url and not request.label:
            raise
        reason = f"{exc.reason} ({request.label})" if request.label else exc.reason
        raise ParseError(reason, url=request.url) from exc


async def page_through(
    fetcher: ListingFetcher,
    first: ListingRequest,
    seen: SeenURLs,
    *,
    pages: int,
    follow: Follow = lambda cursor: None,
) -> AsyncIterator[Entry]:
    """The one paging loop: fetch, hand out what is new, go on while a page brings something new.

    Child listings (a sitemap index's sitemaps) are queued breadth-first; every fetched listing counts
    against ``pages``. A page of children only (an index) is no reason to stop; a page whose entries are
    all known is: newest-first listings have nothing new beyond it.
    """
    queue: deque[ListingRequest] = deque([first])
    visited: set[str] = set()
    children: set[str] = set()
    budget = max(1, pages)
    while queue and budget > 0:
        request = queue.popleft()
        key = f"{request.method} {request.url} {request.json!r}"
        if key in visited:
            continue
        visited.add(key)
        budget -= 1
        try:
            listing = await fetch_listing(fetcher, request)
        except (PermanentFetchError, ParseError) as exc:
            if request.url not in children:
                raise
            # one dead sitemap of an index is that sitemap's problem: its siblings still count
            if seen.on_unusable is not None:
                seen.on_unusable(request.url, f"child listing skipped: {exc.reason}")
            continue
        for child in listing.children:
            if _usable(child, seen):
                children.add(child)
                queue.append(dataclasses.replace(first, url=child, label=None))
        if not listing.entries:
            continue  # an index of sitemaps, or an empty page: whatever is queued still counts
        fresh = seen.fresh(listing.entries)
        for entry in fresh:
            yield entry
        if not fresh:
            return
        if listing.next is not None:
            following = follow(listing.next)
            if following is not None and _usable(following.url, seen):
                queue.append(following)


def _usable(url: str, seen: SeenURLs) -> bool:
    """A child listing or next page no fetch can take (port 99999) is passed over and reported like an
    unusable entry: the listing's other pages still count, the source does not fail on every run."""
    try:
        split_url(url)
    except InvalidURL as exc:
        if seen.on_unusable is not None:
            seen.on_unusable(url, exc.reason)
        return False
    return True


# --- one request builder per kind ------------------------------------------------------------------


def _feed_follow(cursor: Cursor) -> ListingRequest | None:
    return ListingRequest(cursor.url, parse_feed) if isinstance(cursor, NextURL) else None


def album_api_url(cursor: AlbumCursor) -> str:
    """The JSON continuation of an album from a :func:`parse_album` cursor."""
    params = {"action": "getalbum", "__biz": cursor.biz, "album_id": cursor.album_id, "count": str(cursor.count)}
    params |= {"begin_msgid": cursor.begin_msgid, "begin_itemidx": cursor.begin_itemidx}
    if cursor.is_reverse:
        params["is_reverse"] = cursor.is_reverse
    params = {k: v for k, v in params.items() if v not in (None, "")}
    params["f"] = "json"
    # `__biz` ends in base64 padding; WeChat's own pages send the `=` unescaped
    return f"{WECHAT_ALBUM_URL}?{urlencode(params, quote_via=quote, safe='=')}"


def _album_parser(url: str) -> Callable[[bytes, str], Listing]:
    # the album's own URL, not a redirect target, carries the album_id / __biz / order to continue with
    return lambda data, _final: parse_album(data, url)


def _album_follow(album_url: str) -> Follow:
    def follow(cursor: Cursor) -> ListingRequest | None:
        if not isinstance(cursor, AlbumCursor):
            return None
        if not cursor.album_id:
            raise ParseError("album page names no album_id to continue from", url=album_url)
        api = album_api_url(cursor)
        return ListingRequest(api, _album_parser(api), headers={"Accept": JSON_ACCEPT}, referer=album_url)

    return follow


def qq_channel_body(channel: str, flush_num: int) -> dict[str, Any]:
    """The JSON body of one ``getPCList`` request: ``forward`` "2" asks for the first page."""
    return {
        "base_req": {"from": "pc"},
        "forward": "2" if flush_num == 1 else "1",
        "channel_id": channel,
        "flush_num": flush_num,
        "item_count": QQ_PAGE_SIZE,
    }


def qq_channel_request(channel: str, flush_num: int) -> ListingRequest:
    return ListingRequest(
        QQ_CHANNEL_URL,
        lambda data, _final: parse_qq_channel(data, flush_num=flush_num),
        method="POST",
        json=qq_channel_body(channel, flush_num),
        referer=QQ_REFERER,
        label=f"channel {channel}, flush_num {flush_num}",
    )


def _qq_channel_follow(channel: str) -> Follow:
    return lambda cursor: qq_channel_request(channel, cursor.number) if isinstance(cursor, PageNumber) else None


QQ_HOT = ListingRequest(
    QQ_HOT_URL,
    lambda data, _final: parse_qq_hot(data),
    headers={"Accept": JSON_ACCEPT},
    referer=QQ_REFERER,
    label="hot list",
)


async def fetch_url_list(source: SourceConfig, seen: SeenURLs, *, base_dir: Path) -> AsyncIterator[Entry]:
    """A local text file of URLs, ``source.path`` relative to the config's folder."""
    path = base_dir / _required(source, "path")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"URL list of source {source.name!r} not found", path=str(path), key="path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read URL list of source {source.name!r}: {exc}", path=str(path)) from exc
    try:
        listing = parse_url_list(text)
    except ParseError as exc:
        raise ParseError(exc.reason, url=str(path)) from exc
    for entry in seen.fresh(listing.entries):
        yield entry


def discover(
    source: SourceConfig,
    fetcher: ListingFetcher,
    *,
    seen: SeenURLs,
    base_dir: Path,
    weread: Any = None,
) -> AsyncIterator[Entry]:
    """The new article entries ``source`` lists now, each once, newest listing pages first.

    ``seen`` decides what is new (and remembers what this run listed); ``weread`` is the run's
    :class:`ingest.weread.WeReadAccounts` (``wechat-account`` sources list through it, with its own
    client and cookies). Raises FetchError / ParseError naming the listing URL, ConfigError for a
    missing URL list.
    """
    pages = source.max_pages
    match source.kind:
        case "feed":
            url = _required(source, "url")
            return page_through(fetcher, ListingRequest(url, parse_feed), seen, pages=pages, follow=_feed_follow)
        case "wechat-album":
            url = _required(source, "url")
            first = ListingRequest(url, _album_parser(url))
            return page_through(fetcher, first, seen, pages=pages, follow=_album_follow(url))
        case "qq-channel":
            channel = _required(source, "channel")
            first = qq_channel_request(channel, 1)
            return page_through(fetcher, first, seen, pages=pages, follow=_qq_channel_follow(channel))
        case "qq-hot":
            return page_through(fetcher, QQ_HOT, seen, pages=1)
        case "sitemap":
            return page_through(fetcher, ListingRequest(_required(source, "url"), parse_sitemap), seen, pages=pages)
        case "urls":
            return fetch_url_list(source, seen, base_dir=base_dir)
        case "wechat-account":
            from ingest.weread import fetch_account  # it pages through this module's loop

            if weread is None:
                raise ConfigError(f"source {source.name!r}: wechat-account sources need the crawl's WeRead client")
            return fetch_account(source, weread, seen, fetcher=fetcher, pages=pages)
    raise ConfigError(f"source {source.name!r}: unknown kind {source.kind!r}", key="kind")
