"""Discovery for scheduled crawls: which article URLs does each configured source name now?

One small ``fetch_*`` per source kind fetches its listing pages and pages on until a page brings
nothing new (everything on it already stored, or already listed earlier in this run) or until
``source.max_pages`` listings were fetched. Newest-first listings make that rule cheap: a crawl every
hour reads one page per source. Entries come out with canonical URLs, once per run, and only when
new. The parsing itself is pure and lives in :mod:`parsers.listings`; the endpoints below change
often, so each one is a constant next to the one function that uses it.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from ingest.config import SourceConfig
from ingest.errors import ConfigError
from parsers.errors import InvalidURL, ParseError
from parsers.listings import (
    Entry,
    Listing,
    parse_album,
    parse_feed,
    parse_qq_channel,
    parse_qq_hot,
    parse_sitemap,
    parse_url_list,
)
from parsers.urls import canonical_url

QQ_CHANNEL_URL = "https://i.news.qq.com/web_feed/getPCList"
QQ_HOT_URL = "https://r.inews.qq.com/gw/event/hot_ranking_list?page_size=50"
QQ_REFERER = "https://news.qq.com/"
QQ_PAGE_SIZE = 20
WECHAT_ALBUM_URL = "https://mp.weixin.qq.com/mp/appmsgalbum"
JSON_ACCEPT = "application/json, text/plain, */*"

IsNew = Callable[[list[str]], set[str]]


class ListingPage(Protocol):
    """What discovery reads of a fetched page (``ingest.fetch.Page`` has all of it)."""

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


class Seen:
    """One run's memory: every URL listed so far, and the store's verdict on which are new."""

    def __init__(self, is_new: IsNew | None = None) -> None:
        self._is_new = is_new
        self._listed: set[str] = set()

    def fresh(self, entries: Iterable[Entry]) -> list[Entry]:
        """The entries not listed before in this run and new to the store, URLs made canonical."""
        candidates: dict[str, Entry] = {}
        for entry in entries:
            try:
                url = canonical_url(entry.url)
            except InvalidURL:
                continue
            if url in self._listed or url in candidates:
                continue
            candidates[url] = dataclasses.replace(entry, url=url)
        self._listed.update(candidates)
        if not candidates:
            return []
        if self._is_new is None:
            return list(candidates.values())
        new = self._is_new(list(candidates))
        return [entry for url, entry in candidates.items() if url in new]


def _required(source: SourceConfig, key: str) -> str:
    value = getattr(source, key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"source {source.name!r} of kind {source.kind!r} needs {key}", key=key)
    return value


def _pages(source: SourceConfig) -> int:
    return max(1, source.max_pages)


async def _listing(
    fetcher: ListingFetcher,
    url: str,
    parse: Callable[[bytes, str], Listing],
    *,
    method: str = "GET",
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    referer: str | None = None,
    label: str | None = None,
) -> Listing:
    """Fetch one listing page and parse it; a ParseError names the listing URL (FetchErrors already do)."""
    page = await fetcher.fetch(url, method=method, json=json, headers=headers, referer=referer)
    try:
        return parse(page.content, page.final_url or url)
    except ParseError as exc:
        if exc.url and not label:
            raise
        reason = f"{exc.reason} ({label})" if label else exc.reason
        raise ParseError(reason, url=url) from exc


# --- one function per kind -------------------------------------------------------------------------


async def fetch_feed(source: SourceConfig, fetcher: ListingFetcher, seen: Seen) -> AsyncIterator[Entry]:
    """RSS / Atom / JSON Feed at ``source.url``, following the feed's own next-page link."""
    url = _required(source, "url")
    for _ in range(_pages(source)):
        listing = await _listing(fetcher, url, parse_feed)
        fresh = seen.fresh(listing.entries)
        for entry in fresh:
            yield entry
        following = listing.next.get("url") if listing.next else None
        if not fresh or not isinstance(following, str) or not following:
            return
        url = following


def album_api_url(cursor: Mapping[str, Any]) -> str:
    """The JSON continuation of an album from a :func:`parse_album` cursor."""
    params = {"action": "getalbum"}
    for key in ("__biz", "album_id", "count", "begin_msgid", "begin_itemidx", "is_reverse"):
        if cursor.get(key) not in (None, ""):
            params[key] = str(cursor[key])
    params["f"] = "json"
    # `__biz` ends in base64 padding; WeChat's own pages send the `=` unescaped
    return f"{WECHAT_ALBUM_URL}?{urlencode(params, quote_via=quote, safe='=')}"


def _album_parser(url: str) -> Callable[[bytes, str], Listing]:
    # the album's own URL, not a redirect target, carries the album_id / __biz / order to continue with
    return lambda data, _final: parse_album(data, url)


async def fetch_album(source: SourceConfig, fetcher: ListingFetcher, seen: Seen) -> AsyncIterator[Entry]:
    """A WeChat album: its HTML page first, then the JSON continuation from the last item listed."""
    album_url = _required(source, "url")
    listing = await _listing(fetcher, album_url, _album_parser(album_url))
    for page in range(1, _pages(source) + 1):
        fresh = seen.fresh(listing.entries)
        for entry in fresh:
            yield entry
        if not fresh or listing.next is None or page >= _pages(source):
            return
        if not listing.next.get("album_id"):
            raise ParseError("album page names no album_id to continue from", url=album_url)
        api = album_api_url(listing.next)
        listing = await _listing(
            fetcher,
            api,
            _album_parser(api),
            headers={"Accept": JSON_ACCEPT},
            referer=album_url,
        )


def qq_channel_body(channel: str, flush_num: int) -> dict[str, Any]:
    """The JSON body of one ``getPCList`` request: ``forward`` "2" asks for the first page."""
    return {
        "base_req": {"from": "pc"},
        "forward": "2" if flush_num == 1 else "1",
        "channel_id": channel,
        "flush_num": flush_num,
        "item_count": QQ_PAGE_SIZE,
    }


def _qq_channel_parser(flush_num: int) -> Callable[[bytes, str], Listing]:
    return lambda data, _final: parse_qq_channel(data, flush_num=flush_num)


async def fetch_qq_channel(source: SourceConfig, fetcher: ListingFetcher, seen: Seen) -> AsyncIterator[Entry]:
    """A qq.com channel feed, ``flush_num`` 1, 2, … until a page brings nothing new."""
    channel = _required(source, "channel")
    flush_num = 1
    for _ in range(_pages(source)):
        page_no = flush_num
        listing = await _listing(
            fetcher,
            QQ_CHANNEL_URL,
            _qq_channel_parser(page_no),
            method="POST",
            json=qq_channel_body(channel, page_no),
            referer=QQ_REFERER,
            label=f"channel {channel}, flush_num {page_no}",
        )
        fresh = seen.fresh(listing.entries)
        for entry in fresh:
            yield entry
        if not fresh or listing.next is None:
            return
        flush_num = int(listing.next.get("flush_num", page_no + 1))


async def fetch_qq_hot(source: SourceConfig, fetcher: ListingFetcher, seen: Seen) -> AsyncIterator[Entry]:
    """qq.com's hot list: one page of up to 50 articles."""
    listing = await _listing(
        fetcher,
        QQ_HOT_URL,
        lambda data, _final: parse_qq_hot(data),
        headers={"Accept": JSON_ACCEPT},
        referer=QQ_REFERER,
        label="hot list",
    )
    for entry in seen.fresh(listing.entries):
        yield entry


async def fetch_sitemap(source: SourceConfig, fetcher: ListingFetcher, seen: Seen) -> AsyncIterator[Entry]:
    """A sitemap or sitemap index, children read breadth-first (freshest first when dated).

    Every fetched sitemap counts against ``max_pages``; a urlset that brings nothing new ends the walk.
    """
    queue: deque[str] = deque([_required(source, "url")])
    visited: set[str] = set()
    budget = _pages(source)
    while queue and budget > 0:
        url = queue.popleft()
        if url in visited:
            continue
        visited.add(url)
        budget -= 1
        listing = await _listing(fetcher, url, parse_sitemap)
        queue.extend(child for child in listing.children if child not in visited)
        if not listing.entries:
            continue
        fresh = seen.fresh(listing.entries)
        for entry in fresh:
            yield entry
        if not fresh:
            return


async def fetch_url_list(source: SourceConfig, seen: Seen, *, base_dir: Path) -> AsyncIterator[Entry]:
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


async def discover(
    source: SourceConfig,
    fetcher: ListingFetcher,
    *,
    is_new: IsNew | None,
    base_dir: Path,
) -> AsyncIterator[Entry]:
    """The new article entries ``source`` lists now, each once, newest listing pages first.

    ``is_new(urls)`` returns the subset the store does not hold yet (None: everything is new).
    Raises FetchError / ParseError naming the listing URL, ConfigError for a missing URL list.
    """
    seen = Seen(is_new)
    match source.kind:
        case "feed":
            entries = fetch_feed(source, fetcher, seen)
        case "wechat-album":
            entries = fetch_album(source, fetcher, seen)
        case "qq-channel":
            entries = fetch_qq_channel(source, fetcher, seen)
        case "qq-hot":
            entries = fetch_qq_hot(source, fetcher, seen)
        case "sitemap":
            entries = fetch_sitemap(source, fetcher, seen)
        case "urls":
            entries = fetch_url_list(source, seen, base_dir=base_dir)
        case _:
            raise ConfigError(f"source {source.name!r}: unknown kind {source.kind!r}", key="kind")
    async for entry in entries:
        yield entry
