"""Joining the layers: fetch (or read) -> parse -> save, one input at a time.

Every function here returns an :class:`Outcome` instead of raising for a bad input, so one broken
URL never stops a batch; the CLI decides how to print it and which exit status it earns.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from ingest.config import Config
from ingest.errors import Blocked, FetchError, PermanentFetchError
from ingest.fetch import Fetcher, Page
from parsers import parse, parse_markdown
from parsers.article import Article
from parsers.decode import decode_html, looks_binary
from parsers.errors import InvalidURL, JianbaoError, NotAnArticle, ParseError
from parsers.origin import PLACEHOLDER_URLS, find_origin_url, guess_site_url
from parsers.urls import canonical_url, host_of
from storage import Store

T = TypeVar("T")
OK_STATUSES = ("stored", "updated", "unchanged")
# reasons after which a URL is settled: re-fetching a deleted article only annoys the host
FINAL_REASONS = ("deleted", "removed")
HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".mhtml")
MARKDOWN_SUFFIXES = (".md", ".markdown")
COOLDOWN_MAX = 6 * 3600.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one input: ``status`` is stored, updated, unchanged, not-article, blocked or failed."""

    input: str
    status: str
    reason: str = ""
    article_id: int | None = None
    title: str | None = None
    url: str | None = None
    duplicate_of: int | None = None

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    def line(self) -> str:
        """The one line a user reads for this input."""
        if self.ok:
            dup = f", duplicate of #{self.duplicate_of}" if self.duplicate_of else ""
            return f"{self.status}: {self.input} -> #{self.article_id} {self.title or ''}{dup}".rstrip()
        if self.status == "not-article":
            return f"not an article ({self.reason}): {self.input}"
        return f"{self.status}: {self.input}: {self.reason}"


def _save(
    store: Store,
    article: Article,
    *,
    input_name: str,
    aliases: Iterable[str],
    page: Page | None = None,
    page_key: str | None = None,
) -> Outcome:
    """Page, article and fetch record in one transaction: all of them, or none."""
    with store.transaction():
        if page is not None:
            store.save_page(
                page_key or article.url,
                content=page.content,
                final_url=page.final_url,
                status=page.status,
                headers=page.headers,
                fetched_at=page.fetched_at,
            )
        saved = store.save_article(article, aliases=[a for a in aliases if a])
        store.save_fetch(
            page_key or article.url, saved.outcome, status=page.status if page else None, article_id=saved.id,
            source=article.source,
        )  # fmt: skip
    return Outcome(
        input_name,
        saved.outcome,
        article_id=saved.id,
        title=article.title,
        url=article.url,
        duplicate_of=saved.duplicate_of,
    )


def _record(store: Store, url: str, outcome: Outcome, *, status: int | None = None) -> Outcome:
    store.save_fetch(
        url,
        outcome.status,
        reason=outcome.reason if outcome.status == "not-article" else None,
        error=outcome.reason if outcome.status in ("failed", "blocked") else None,
        status=status,
    )
    return outcome


class Importer:
    """Imports URLs and files into one store, sharing a fetcher (and its politeness) across inputs.

    While URLs are imported, every store call runs on one dedicated thread (:meth:`run_store`): zstd
    and SQLite release the GIL there, so the event loop keeps fetching while a page is compressed and
    written, and the store is still used by one thread at a time.
    """

    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        fetcher: Fetcher | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.fetcher = fetcher or Fetcher(config)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.blocked_hosts: set[str] = set()
        self._store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jianbao-store")

    async def aclose(self) -> None:
        await self.fetcher.aclose()
        self._store_thread.shutdown(wait=True)

    async def run_store(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._store_thread, functools.partial(fn, *args, **kwargs))

    # --- host cool-down: persisted, so the next cron run also leaves a blocking host alone -------

    async def host_paused(self, host: str) -> bool:
        if host in self.blocked_hosts or self.fetcher.is_paused(host):
            return True
        until, _ = await self.run_store(self.store.host_cooldown, host)
        return until is not None and until > self.clock()

    def _save_cool_down(self, host: str) -> None:
        _, strikes = self.store.host_cooldown(host)
        strikes += 1
        seconds = min(self.config.http.cooldown * 2 ** (strikes - 1), COOLDOWN_MAX)
        self.store.save_host_cooldown(host, until=self.clock() + timedelta(seconds=seconds), strikes=strikes)

    async def _blocked(self, host: str, key: str, outcome: Outcome, *, status: int | None) -> Outcome:
        self.blocked_hosts.add(host)
        self.fetcher.pause_host(host)
        await self.run_store(self._save_cool_down, host)
        return await self.run_store(_record, self.store, key, outcome, status=status)

    def _save_answered(self, host: str, article: Article, *, name: str, key: str, page: Page) -> Outcome:
        until, strikes = self.store.host_cooldown(host)
        if strikes or until:
            self.store.save_host_cooldown(host, until=None, strikes=0)
        return _save(self.store, article, input_name=name, aliases=(key, page.final_url), page=page, page_key=key)

    # --- inputs ---------------------------------------------------------------------------------

    async def import_url(self, url: str, *, name: str | None = None) -> Outcome:
        name = name or url
        try:
            key = canonical_url(url)
            host = host_of(url)
        except InvalidURL as exc:
            return Outcome(name, "failed", exc.reason)
        if await self.host_paused(host):
            outcome = Outcome(name, "blocked", f"{host} cooling down after a verification page")
            return await self.run_store(_record, self.store, key, outcome)
        try:
            # the canonical form: one address per article, no tracking parameters sent back
            page = await self.fetcher.fetch(key)
        except Blocked as exc:
            return await self._blocked(host, key, Outcome(name, "blocked", exc.reason), status=exc.status)
        except PermanentFetchError as exc:
            outcome = (
                Outcome(name, "not-article", "deleted")
                if exc.reason == "deleted"
                else Outcome(name, "failed", exc.reason)
            )
            return await self.run_store(_record, self.store, key, outcome, status=exc.status)
        except FetchError as exc:
            return await self.run_store(
                _record, self.store, key, Outcome(name, "failed", exc.reason), status=exc.status
            )
        # parsing is CPU-bound: off the event loop, so other hosts' fetches keep flowing
        try:
            article = await asyncio.to_thread(parse, page.content, page.final_url, content_type=page.content_type)
        except NotAnArticle as exc:
            if exc.reason == "verification":
                return await self._blocked(host, key, Outcome(name, "blocked", "verification page"), status=page.status)
            outcome = Outcome(name, "not-article", exc.reason)
            return await self.run_store(_record, self.store, key, outcome, status=page.status)
        except JianbaoError as exc:
            return await self.run_store(
                _record, self.store, key, Outcome(name, "failed", exc.reason), status=page.status
            )
        return await self.run_store(self._save_answered, host, article, name=name, key=key, page=page)

    def import_file(self, path: str | Path, *, url: str | None = None) -> Outcome:
        p = Path(path)
        name = str(path)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            return Outcome(name, "failed", "no such file")
        except IsADirectoryError:
            return Outcome(name, "failed", "is a directory")
        except OSError as exc:
            return Outcome(name, "failed", exc.strerror or str(exc))
        try:
            return self._import_bytes(data, name=name, suffix=p.suffix.lower(), url=url)
        except NotAnArticle as exc:
            return Outcome(name, "not-article", exc.reason)
        except JianbaoError as exc:
            return Outcome(name, "failed", exc.reason)

    def _import_bytes(self, data: bytes, *, name: str, suffix: str, url: str | None) -> Outcome:
        if not data[:4096].strip() and not data.strip():
            raise ParseError("empty file")
        if looks_binary(data):
            raise ParseError("binary data, not HTML or Markdown")
        text = decode_html(data, name=name)
        is_markdown = suffix in MARKDOWN_SUFFIXES or (
            suffix not in HTML_SUFFIXES and text[:200].lstrip().startswith("---")
        )
        if is_markdown:
            article = parse_markdown(text, name)
            return _save(self.store, article, input_name=name, aliases=())
        if suffix not in HTML_SUFFIXES and "<" not in text[:2000]:
            raise ParseError("neither HTML nor Markdown")
        origin = canonical_url(url) if url else find_origin_url(text)
        if origin:
            article = parse(data, origin)
        else:
            # with no recorded address the page's own ids can still identify it; a stand-in URL can not
            article = parse(data, guess_site_url(text))
            if article.key == article.url or article.url in PLACEHOLDER_URLS.values():
                raise ParseError("cannot tell which URL the page came from; pass --url")
            origin = article.url
        page = Page(
            url=origin,
            final_url=origin,
            status=200,
            headers={"x-jianbao-file": Path(name).name},
            content=data,
            fetched_at=self.clock(),
        )
        return _save(self.store, article, input_name=name, aliases=(origin,), page=page, page_key=origin)

    async def import_inputs(
        self,
        inputs: Iterable[str],
        *,
        url: str | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> list[Outcome]:
        """Files are read in order; URLs are fetched by a few workers per host (see :meth:`import_urls`)."""
        outcomes: list[Outcome] = []

        def done(o: Outcome) -> None:
            outcomes.append(o)
            if on_outcome:
                on_outcome(o)

        urls: list[str] = []
        for item in inputs:
            if should_stop():
                break
            if is_url(item):
                urls.append(item)
            elif "://" in item or item.startswith(("javascript:", "mailto:", "data:")):
                done(Outcome(item, "failed", "not an http(s) URL with a host"))
            else:
                done(self.import_file(item, url=url))
        await self.import_urls(urls, on_outcome=done, should_stop=should_stop)
        return outcomes

    async def import_urls(
        self,
        urls: Iterable[str],
        *,
        on_outcome: Callable[[Outcome], None],
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        """Each host gets its own queue, so qq.com never waits behind WeChat's interval.

        Two workers per host: one fetches while the other parses and saves (the fetcher allows one
        request in flight per host anyway). A bounded number of hosts run at once, so a page is held
        in memory only between its fetch and its save: memory stays flat however long the list.
        """
        queues: dict[str, deque[str]] = {}
        for item in urls:
            try:
                host = host_of(item)
            except InvalidURL:
                host = ""
            queues.setdefault(host, deque()).append(item)
        host_slots = asyncio.Semaphore(max(8, 2 * self.config.http.concurrency))

        async def worker(queue: deque[str]) -> None:
            while queue and not should_stop():
                on_outcome(await self.import_url(queue.popleft()))

        async def drain(queue: deque[str]) -> None:
            async with host_slots:
                await asyncio.gather(worker(queue), worker(queue))

        await asyncio.gather(*(drain(q) for q in queues.values()))


def is_url(item: str) -> bool:
    low = item.strip().lower()
    return low.startswith(("http://", "https://", "//"))


def read_list(lines: Iterable[str]) -> list[str]:
    """Inputs from a list file: one per line, blank lines and ``#`` comments skipped."""
    out = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def elapsed_since(start: float) -> float:
    return time.monotonic() - start
