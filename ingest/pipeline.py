"""Joining the layers: fetch (or read) -> parse -> save, one input at a time.

Every function here returns an :class:`Outcome` instead of raising for a bad input, so one broken
URL never stops a batch; the CLI decides how to print it and which exit status it earns.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import os
import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from ingest.config import Config
from ingest.errors import Blocked, FetchError, PermanentFetchError
from ingest.fetch import Fetcher
from ingest.hosts import HostPolicy
from parsers import parse
from parsers.article import SHANGHAI, Article, Page
from parsers.dates import plausible
from parsers.decode import decode_html
from parsers.errors import InvalidURL, JianbaoError, NotAnArticle
from parsers.feedentry import archive_headers, parse_feed_entry
from parsers.listings import Entry
from parsers.markdown import is_placeholder
from parsers.saved import parse_saved
from parsers.urls import canonical_url, host_of
from storage import Store, hoststate

T = TypeVar("T")
OK_STATUSES = ("stored", "updated", "unchanged")
STOP_GRACE = 3.0  # seconds the inputs in hand get to finish after a stop request, then they are cancelled
STOP_POLL = 0.1  # how often a batch asks ``should_stop`` while its workers wait on the network


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
    error: BaseException | None = field(default=None, compare=False, repr=False)  # unforeseen: for -v
    warning: str = ""  # stored, but something in the page was not kept (an implausible date)

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    def line(self) -> str:
        """The one line a user reads for this input."""
        if self.ok:
            dup = f", duplicate of #{self.duplicate_of}" if self.duplicate_of else ""
            note = f" ({self.warning})" if self.warning else ""
            return f"{self.status}{note}: {self.input} -> #{self.article_id} {self.title or ''}{dup}".rstrip()
        if self.status == "not-article":
            return f"not an article ({self.reason}): {self.input}"
        return f"{self.status}: {self.input}: {self.reason}"


def settle_date(article: Article, *, now: datetime) -> tuple[Article, str]:
    """The article with an implausible publish time (before 1990, or more than two days after ``now``)
    dropped, and a note saying so; a year-1 date in the store would only break every reader later."""
    if article.published is None or plausible(article.published, now=now):
        return article, ""
    try:
        shown = article.published.astimezone(SHANGHAI).date().isoformat()
    except (OverflowError, ValueError):
        shown = article.published.date().isoformat()  # 0001-01-01: strftime would print 1-01-01
    return dataclasses.replace(article, published=None), f"date {shown} ignored"


def _save(
    store: Store,
    article: Article,
    *,
    input_name: str,
    aliases: Iterable[str],
    page: Page | None = None,
    now: datetime,
) -> Outcome:
    """Page, article and fetch record in one transaction: all of them, or none."""
    article, warning = settle_date(article, now=now)
    with store.transaction():
        if page is not None:
            store.save_page(
                page.url,
                content=page.content,
                final_url=page.final_url,
                status=page.status,
                headers=page.headers,
                fetched_at=page.fetched_at,
            )
        saved = store.save_article(article, aliases=[a for a in aliases if a])
        store.save_fetch(
            page.url if page else article.url, saved.outcome, status=page.status if page else None,
            article_id=saved.id, source=article.source, exit=page.exit if page else None,
        )  # fmt: skip
    return Outcome(
        input_name,
        saved.outcome,
        article_id=saved.id,
        title=article.title,
        url=article.url,
        duplicate_of=saved.duplicate_of,
        warning=warning,
    )


def _record(store: Store, url: str, outcome: Outcome, *, status: int | None = None, exit: str | None = None) -> Outcome:
    store.save_fetch(
        url,
        outcome.status,
        reason=outcome.reason if outcome.status == "not-article" else None,
        error=outcome.reason if outcome.status in ("failed", "blocked") else None,
        status=status,
        exit=exit,
    )
    return outcome


class StoreState:
    """The host policy's memory across runs, kept in the store and used on the store's own thread."""

    def __init__(self, store: Store, run: Callable[..., Awaitable[Any]]) -> None:
        self._store = store
        self._run = run

    async def load(self, host: str, exit: str) -> tuple[datetime | None, int, str | None]:
        state = await self._run(hoststate.load_host_state, self._store, host, exit)
        return state.until, state.strikes, state.reason

    async def save(self, host: str, exit: str, *, until: datetime | None, strikes: int, reason: str | None) -> None:
        await self._run(hoststate.save_host_state, self._store, host, exit, until=until, strikes=strikes, reason=reason)

    async def take(self, key: str, *, day: str, limit: int | None) -> bool:
        return await self._run(hoststate.add_today, self._store, key, day=day, limit=limit) is not None


class Importer:
    """Imports URLs and files into one store, sharing a fetcher (and its politeness) across inputs.

    While URLs are imported, every store call runs on one dedicated thread (:meth:`run_store`): zstd
    and SQLite release the GIL there, so the event loop keeps fetching while a page is compressed and
    written, and the store is still used by one thread at a time. The fetcher's host policy keeps its
    cool-downs and daily counts in the same store.
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
        self.clock = clock or (lambda: datetime.now(UTC))
        self._store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jianbao-store")
        self.fetcher = fetcher or Fetcher(config, policy=HostPolicy(config, now=self.clock))
        self.policy = self.fetcher.policy
        if self.policy.state is None:
            self.policy.state = StoreState(store, self.run_store)

    async def aclose(self) -> None:
        await self.fetcher.aclose()
        self._store_thread.shutdown(wait=True)

    async def run_store(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._store_thread, functools.partial(fn, *args, **kwargs))

    async def _record(
        self, key: str, outcome: Outcome, *, status: int | None = None, exit: str | None = None
    ) -> Outcome:
        return await self.run_store(_record, self.store, key, outcome, status=status, exit=exit)

    # --- inputs ---------------------------------------------------------------------------------

    async def import_url(self, url: str, *, name: str | None = None) -> Outcome:
        """Fetch, parse and save one URL given in any shape (it is made canonical here)."""
        name = name or url
        try:
            key = canonical_url(url)
        except InvalidURL as exc:
            return Outcome(name, "failed", exc.reason)
        return await self.import_canonical(key, name=name)

    async def import_canonical(self, key: str, *, name: str | None = None) -> Outcome:
        """:meth:`import_url` for a URL that is canonical already (what discovery hands over)."""
        name = name or key
        host = host_of(key)
        for _ in range(len(self.fetcher.exits)):
            try:
                # the canonical form: one address per article, no tracking parameters sent back
                page = await self.fetcher.fetch(key)
            except Blocked as exc:
                return await self._record(key, Outcome(name, "blocked", exc.reason), status=exc.status)
            except PermanentFetchError as exc:
                outcome = (
                    Outcome(name, "not-article", "deleted")
                    if exc.reason == "deleted"
                    else Outcome(name, "failed", exc.reason)
                )
                return await self._record(key, outcome, status=exc.status)
            except FetchError as exc:
                return await self._record(key, Outcome(name, "failed", exc.reason), status=exc.status)
            # parsing is CPU-bound: off the event loop, so other hosts' fetches keep flowing
            try:
                budget = self.config.parse.budget
                article = await asyncio.to_thread(
                    parse,
                    page.content,
                    page.final_url,
                    content_type=page.content_type,
                    max_elements=budget.max_elements,
                    max_depth=budget.max_depth,
                    max_attributes=budget.max_attributes,
                )
            except NotAnArticle as exc:
                if exc.reason != "verification":
                    outcome = Outcome(name, "not-article", exc.reason)
                    return await self._record(key, outcome, status=page.status, exit=page.exit)
                # a verification page is about this exit's address: cool it down, try the next exit
                await self.fetcher.exit_blocked(host, page.exit)
                await self._record(
                    key, Outcome(name, "blocked", "verification page"), status=page.status, exit=page.exit
                )
                continue
            except JianbaoError as exc:
                outcome = Outcome(name, "failed", exc.reason)
                return await self._record(key, outcome, status=page.status, exit=page.exit)
            await self.policy.answered(host, page.exit)
            return await self.run_store(
                _save,
                self.store,
                article,
                input_name=name,
                aliases=(key, page.final_url),
                page=page,
                now=page.fetched_at,
            )
        return Outcome(name, "blocked", "verification page")

    async def import_isolated(self, key: str, *, name: str | None = None) -> Outcome:
        """:meth:`import_canonical`, where even an unforeseen error is this input's failure alone.

        The article's transaction has rolled back by then; the failure is logged in ``fetches`` so the
        URL is not retried as if never seen, and the batch (or crawl source) goes on.
        """
        try:
            return await self.import_canonical(key, name=name)
        except Exception as exc:  # the one place a bug in one input is kept from stopping the rest
            outcome = Outcome(name or key, "failed", f"unexpected {type(exc).__name__}: {exc}", error=exc)
            with contextlib.suppress(Exception):
                await self._record(key, outcome)
            return outcome

    async def import_entry(self, entry: Entry, *, feed_url: str, name: str | None = None) -> Outcome:
        """Store a feed entry from its own text (a ``feed`` source with ``use_content``), without
        fetching its page: the entry's HTML is archived as the page, with the feed's URL and the
        entry's fields in its headers, so ``reparse`` rebuilds it. When that text holds no article
        (all of it hidden), the page is fetched as for any entry. As in :meth:`import_isolated`, even
        an unforeseen error is this entry's failure alone."""
        try:
            return await self._import_entry(entry, feed_url=feed_url, name=name or entry.url)
        except Exception as exc:
            outcome = Outcome(name or entry.url, "failed", f"unexpected {type(exc).__name__}: {exc}", error=exc)
            with contextlib.suppress(Exception):
                await self._record(entry.url, outcome)
            return outcome

    async def _import_entry(self, entry: Entry, *, feed_url: str, name: str) -> Outcome:
        try:
            key = canonical_url(entry.url)
        except InvalidURL as exc:
            return await self._refused(entry.url, Outcome(name, "failed", exc.reason))
        if not entry.content:
            return await self.import_canonical(key, name=name)
        try:
            article = await asyncio.to_thread(parse_feed_entry, entry, budget=self.config.parse.budget)
        except NotAnArticle:
            return await self.import_canonical(key, name=name)
        except JianbaoError as exc:
            return await self._record(key, Outcome(name, "failed", f"feed entry: {exc.reason}"))
        now = self.clock()
        page = Page(
            url=key,
            final_url=key,
            status=200,
            headers=archive_headers(dataclasses.replace(entry, url=key), feed_url),
            content=entry.content.encode("utf-8"),
            fetched_at=now,
        )
        return await self.run_store(
            _save, self.store, article, input_name=name, aliases=(key, article.url), page=page, now=now
        )

    async def _refused(self, url: str, outcome: Outcome) -> Outcome:
        """Log a URL refused before any fetch, as given (it has no canonical form), so ``show`` and
        ``stats`` can tell why it is missing."""
        with contextlib.suppress(Exception):
            await self._record(url, outcome)
        return outcome

    def paused_hosts(self) -> dict[str, str]:
        """Hosts this run stopped asking, and why (for the summary)."""
        return self.fetcher.paused_hosts()

    def import_file(self, path: str | Path, *, url: str | None = None, name: str | None = None) -> Outcome:
        """One saved page or clipping; ``url`` is the address it was saved from, when the user knows it."""
        try:
            return self._import_file(path, url=url, name=name)
        except Exception as exc:  # as in import_isolated: one file's surprise is that file's failure
            return Outcome(name or str(path), "failed", f"unexpected {type(exc).__name__}: {exc}", error=exc)

    def _import_file(self, path: str | Path, *, url: str | None = None, name: str | None = None) -> Outcome:
        p = Path(path)
        name = name or str(path)
        limit = self.config.http.max_bytes
        try:
            if p.is_file() and p.stat().st_size > limit:
                return Outcome(name, "failed", f"file over max_bytes {limit}")
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
        saved = parse_saved(data, name, suffix=suffix, url=url)
        now = self.clock()
        if saved.origin is None:
            outcome = _save(self.store, saved.article, input_name=name, aliases=(), now=now)
            note = placeholder_note(data, saved.article)
            if note and outcome.ok:
                outcome = dataclasses.replace(outcome, warning="; ".join(filter(None, (outcome.warning, note))))
            return outcome
        page = Page(
            url=saved.origin,
            final_url=saved.origin,
            status=200,
            headers={"x-jianbao-file": Path(name).name},
            content=data,
            fetched_at=now,
        )
        return _save(self.store, saved.article, input_name=name, aliases=(saved.origin,), page=page, now=now)

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

        urls: list[tuple[str, str]] = []
        for item in inputs:
            if should_stop():
                break
            what = parse_input(item)
            if what.path is not None:
                done(self.import_file(what.path, url=what.url or url, name=what.name))
            elif what.url is not None:
                urls.append((what.name, what.url))
            else:
                done(Outcome(item, "failed", "not an http(s) URL with a host"))
        await self.import_urls(urls, on_outcome=done, should_stop=should_stop)
        return outcomes

    async def import_urls(
        self,
        urls: Iterable[str | tuple[str, str]],
        *,
        on_outcome: Callable[[Outcome], None],
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        """Each host gets its own queue, so qq.com never waits behind WeChat's interval.

        Two workers per host: one fetches while the other parses and saves (the fetcher allows one
        request in flight per host anyway). A bounded number of hosts run at once, so a page is held
        in memory only between its fetch and its save: memory stays flat however long the list.
        An item is a URL, or (name, URL) when the user typed it otherwise (without its scheme).

        Once ``should_stop`` says so, no input is started, and those still in flight ``STOP_GRACE``
        seconds later are cancelled (no outcome, nothing written): a server trickling its answer must
        not hold a stop until ``max_time``.
        """
        queues: dict[str, deque[tuple[str, str]]] = {}
        for entry in urls:
            item, address = entry if isinstance(entry, tuple) else (entry, entry)
            try:
                key = canonical_url(address)
                host = host_of(key)
            except InvalidURL as exc:
                on_outcome(await self._refused(item, Outcome(item, "failed", exc.reason)))
                continue
            except Exception as exc:  # as in import_isolated: this input's failure alone
                failed = Outcome(item, "failed", f"unexpected {type(exc).__name__}: {exc}", error=exc)
                on_outcome(await self._refused(item, failed))
                continue
            queues.setdefault(host, deque()).append((key, item))
        host_slots = asyncio.Semaphore(max(8, 2 * self.config.http.concurrency))
        # one fetching per exit while another parses and saves
        workers = len(self.fetcher.exits) + 1

        async def worker(queue: deque[tuple[str, str]]) -> None:
            while queue and not should_stop():
                key, name = queue.popleft()
                on_outcome(await self.import_isolated(key, name=name))

        async def drain(queue: deque[tuple[str, str]]) -> None:
            async with host_slots:
                await asyncio.gather(*(worker(queue) for _ in range(workers)))

        tasks = [asyncio.ensure_future(drain(q)) for q in queues.values()]
        if not tasks:
            return
        watch = asyncio.ensure_future(_cancel_when_stopped(tasks, should_stop))
        try:
            await asyncio.wait(tasks)
        finally:
            watch.cancel()
            for task in tasks:
                task.cancel()  # only if the batch itself was cancelled: they are done otherwise
        for task in tasks:
            error = None if task.cancelled() else task.exception()
            if error is not None:
                raise error  # a bug in on_outcome, not in an input


async def _cancel_when_stopped(tasks: Sequence[asyncio.Future[None]], should_stop: Callable[[], bool]) -> None:
    while not should_stop():
        await asyncio.sleep(STOP_POLL)
    await asyncio.sleep(STOP_GRACE)
    for task in tasks:
        task.cancel()


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


# host/path typed without a scheme (mp.weixin.qq.com/s/…, new.qq.com/rain/a/…, www.163.com/…): a URL
# when no such file exists; a top-level domain of letters keeps "notes.v2/x" a path
_SCHEMELESS = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}(?::\d{1,5})?/\S*$", re.I)


@dataclass(frozen=True, slots=True)
class Input:
    """One thing to import, as typed (``name``): a URL to fetch (``url`` alone), a local file (``path``,
    with ``url`` the address it was saved from when given as ``FILE=URL``), or neither (refused)."""

    name: str
    url: str | None = None
    path: str | None = None


def _as_url(text: str) -> str | None:
    text = text.strip()
    if is_url(text):
        return text
    return "https://" + text if _SCHEMELESS.match(text) else None


def parse_input(item: str, *, exists: Callable[[str], bool] = os.path.exists) -> Input:
    """What an input names: a URL (with or without its scheme), a file, or ``FILE=URL``.

    An existing file always wins, so a file whose name looks like a host or holds ``=`` still imports.
    """
    item = item.strip()
    if is_url(item):
        return Input(item, url=item)
    if exists(item):
        return Input(item, path=item)
    for m in re.finditer("=", item):
        path, url = item[: m.start()].strip(), _as_url(item[m.end() :])
        if path and url:
            return Input(item, url=url, path=path)
    url = _as_url(item)
    if url:
        return Input(item, url=url)
    if "://" in item or item.lower().startswith(("javascript:", "mailto:", "data:")):
        return Input(item)
    return Input(item, path=item)


_IMAGE_TARGETS = (
    re.compile(r"!\[[^\]\n]{0,200}\]\(\s*<?([^)\s>]*)"),
    re.compile(r"""<img\b[^>]{0,500}?\bsrc\s*=\s*["']?([^"'\s>]*)""", re.I),
)


def placeholder_note(data: bytes, article: Article) -> str:
    """For a clipping kept without a single image although it had some: every one was a placeholder (a
    clipper that saved a WeChat page before its images scrolled into view). Says so, and what helps."""
    if article.images:
        return ""
    text = decode_html(data)
    targets = [m.group(1) for pattern in _IMAGE_TARGETS for m in pattern.finditer(text)]
    if not targets or not all(is_placeholder(t) for t in targets):
        return ""
    where = article.url if is_url(article.url) else "the article's URL"
    return f"all {len(targets)} images were placeholders; import {where} to get them"
