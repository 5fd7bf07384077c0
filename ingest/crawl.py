"""Scheduled crawls: discover what is new in each source, then import it.

Sources run concurrently (the fetcher keeps each host's pace), and within one source one article per
exit at a time (each exit keeps its own pace; with one exit, one after another). A stop request (Ctrl-C,
SIGTERM) lets the articles in hand finish and leaves the rest for the next run, which finds them still
new. What is still in flight :data:`STOP_GRACE` seconds after the request (a server trickling its answer)
is cancelled, so a stop never waits for ``max_time``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from ingest.config import Config, SourceConfig
from ingest.errors import Blocked, FetchError
from ingest.fetch import Fetcher
from ingest.pipeline import Importer, Outcome
from ingest.seen import SeenURLs
from ingest.sources import discover
from ingest.weread import KIND as WECHAT_ACCOUNT
from ingest.weread import WeReadAccounts
from parsers.errors import JianbaoError
from parsers.listings import Entry
from storage import Store, hoststate

SUMMARY_KEYS = ("stored", "updated", "unchanged", "not-article", "blocked", "failed")
STOP_GRACE = 3.0  # seconds the article in hand gets to finish after a stop request


@dataclass
class SourceResult:
    name: str
    counts: Counter[str] = field(default_factory=Counter)
    error: str | None = None  # discovery failed
    stopped: bool = False
    capped: bool = False  # reached the per-source limit; what is left stays new for the next run

    @property
    def ok(self) -> bool:
        return self.error is None and not self.counts["failed"]


@dataclass
class CrawlSummary:
    sources: list[SourceResult]
    elapsed: float
    blocked_hosts: set[str]
    stopped: bool
    dry_run: bool = False
    pause_reasons: dict[str, str] = field(default_factory=dict)  # host -> why it was paused

    @property
    def ok(self) -> bool:
        """Every source ran to the end and nothing failed (a stop request leaves work undone)."""
        return not self.stopped and all(s.ok for s in self.sources)

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for s in self.sources:
            total.update(s.counts)
        return total

    def line(self) -> str:
        t = self.totals()
        if self.dry_run:
            parts = [f"{t['new']} new (dry run: no article fetched, nothing written)"]
        else:
            parts = [f"{t[k]} {k.replace('-', ' ')}" for k in SUMMARY_KEYS]
        failed_sources = [s.name for s in self.sources if s.error]
        if failed_sources:
            # what went wrong first: a cron mail that starts with "0 failed" reads as good news
            noun = "source" if len(self.sources) == 1 else "sources"
            line = (
                f"crawl: {len(failed_sources)} of {len(self.sources)} {noun} failed ({', '.join(failed_sources)}); "
                "articles: " + ", ".join(parts) + f"; {self.elapsed:.1f}s"
            )
        else:
            line = f"crawl: {len(self.sources)} sources, " + ", ".join(parts) + f", {self.elapsed:.1f}s"
        if self.blocked_hosts:
            # said as what it is: a verification page, a long Retry-After, a daily cap
            paused = [f"{h} ({self.pause_reasons.get(h) or 'verification'})" for h in sorted(self.blocked_hosts)]
            line += f"; paused: {', '.join(paused)}"
        if self.stopped:
            line += "; stopped early, the rest is left for the next run"
        capped = [s.name for s in self.sources if s.capped]
        if capped:
            line += f"; limit reached in {', '.join(capped)}, the rest is left for the next run"
        return line


def record_unusable(store: Store, unusable: dict[str, str]) -> None:
    """Log each malformed URL a listing named, once: ``stats`` and ``show`` can tell of it, while the
    source goes on with its other entries and later runs stay quiet about it."""
    for url, reason in unusable.items():
        if not store.fetches(url):
            store.save_fetch(url, "failed", error=f"unusable URL in a listing: {reason}")


class Crawler:
    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        fetcher: Fetcher | None = None,
        on_outcome: Callable[[str, Outcome], None] | None = None,
        on_error: Callable[[str, str], None] | None = None,
        on_new: Callable[[str, Entry], None] | None = None,
        dry_run: bool = False,
        limit: int | None = None,
    ) -> None:
        """``dry_run``: discover only, reporting each new entry to ``on_new``; ``limit``: at most this
        many new articles per source in this run (a first crawl of a long backlog can be spread out)."""
        self.store = store
        self.config = config
        self.importer = Importer(store, config, fetcher=fetcher)
        # wechat-account sources list through WeRead: one client and session for the run, made when first used
        self.weread = (
            WeReadAccounts(
                config, store=store, run_store=self.importer.run_store, policy=self.importer.policy, dry_run=dry_run
            )
            if any(s.kind == WECHAT_ACCOUNT for s in config.sources)
            else None
        )
        # discovery asks "is this new?" between writes that run on the importer's store thread: a
        # connection of its own (WAL readers never wait for the writer) keeps the two apart
        self.reader = Store(store.path) if store.path != ":memory:" else store
        # one memory for the whole run: a URL two sources list is fetched once
        self.seen = SeenURLs(self.reader.seen_urls, on_unusable=self._unusable)
        self.unusable: dict[str, str] = {}  # listed URLs that cannot be fetched, and why
        self.on_outcome = on_outcome
        self.on_error = on_error
        self.on_new = on_new
        self.dry_run = dry_run
        self.limit = limit
        self.grace = STOP_GRACE
        self._stop = False
        self._inflight: set[asyncio.Future[None]] = set()

    def stop(self) -> None:
        """Finish the article in hand, start no other; cancel what is still in flight ``grace``
        seconds later (a trickling download must not hold the run, and its lock, until ``max_time``),
        or at once when asked a second time."""
        if self._stop:
            self._cancel_inflight()
            return
        self._stop = True
        with contextlib.suppress(RuntimeError):  # no running loop: nothing is in flight either
            asyncio.get_running_loop().call_later(self.grace, self._cancel_inflight)

    def _cancel_inflight(self) -> None:
        for work in self._inflight:
            work.cancel()

    def _unusable(self, url: str, reason: str) -> None:
        self.unusable.setdefault(url, reason)

    async def _walk(self, source: SourceConfig, result: SourceResult) -> None:
        # one article per exit: N exits fetch a source's WeChat backlog N times as fast, each at its pace
        width = len(self.importer.fetcher.exits)
        running: set[asyncio.Future[None]] = set()
        taken = 0

        async def one(entry: Entry) -> None:
            # entries come canonical from discovery; an unforeseen error stays this entry's
            if source.use_content and source.url and entry.content_is_full:
                # the feed carries the whole article: stored from there, its page not fetched
                outcome = await self.importer.import_entry(entry, feed_url=source.url)
            else:
                outcome = await self.importer.import_isolated(entry.url)
            result.counts[outcome.status] += 1
            if self.on_outcome:
                self.on_outcome(source.name, outcome)

        async def wait(until: int) -> None:
            nonlocal running
            while len(running) > until:
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # a bug in on_outcome, not in an entry

        try:
            async for entry in discover(
                source, self.importer.fetcher, seen=self.seen, base_dir=self.config.base_dir, weread=self.weread
            ):
                if self._stop:
                    result.stopped = True
                    break
                if self.limit is not None and taken >= self.limit:
                    result.capped = True
                    break
                taken += 1
                if self.dry_run:
                    result.counts["new"] += 1
                    if self.on_new:
                        self.on_new(source.name, entry)
                    continue
                await wait(width - 1)
                running.add(asyncio.ensure_future(one(entry)))
            await wait(0)
        finally:
            for task in running:
                task.cancel()  # only when this walk was cancelled (the stop's grace ran out)

    async def run_source(self, source: SourceConfig) -> SourceResult:
        result = SourceResult(source.name)
        started = datetime.now(UTC)
        work = asyncio.ensure_future(self._walk(source, result))
        self._inflight.add(work)
        try:
            await work
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not self._stop or (task is not None and task.cancelling()):
                raise  # not our stop's doing
            # cancelled after the grace: the download in hand is left for the next run, unrecorded
            result.stopped = True
        except Blocked as exc:
            result.error = f"listing blocked: {exc.reason}"
        except (FetchError, JianbaoError) as exc:
            result.error = str(exc)
        except Exception as exc:  # one broken source must not stop the others; the summary names it
            result.error = f"{type(exc).__name__}: {exc}"
        if result.error and self.on_error:
            self.on_error(source.name, result.error)
        self._inflight.discard(work)
        if self.dry_run:
            return result
        await self.importer.run_store(
            self.store.save_crawl,
            source.name,
            started=started,
            finished=datetime.now(UTC),
            counts=dict(result.counts),
            ok=result.ok,
            error=result.error,
        )
        return result

    async def run(self, names: Sequence[str] = ()) -> CrawlSummary:
        start = time.monotonic()
        sources = [self.config.source(n) for n in names] if names else [s for s in self.config.sources if s.enabled]
        try:
            results = await asyncio.gather(*(self.run_source(s) for s in sources))
            if self.unusable and not self.dry_run:
                await self.importer.run_store(record_unusable, self.store, self.unusable)
            if not self.dry_run:
                # yesterday's counters still answer "how much today" for a run that began before midnight;
                # older ones answer nothing
                week_ago = (date.fromisoformat(self.importer.policy.today()) - timedelta(days=7)).isoformat()
                await self.importer.run_store(hoststate.forget_days_before, self.store, week_ago)
        finally:
            if self.weread is not None:
                await self.weread.aclose()
            await self.importer.aclose()
            if self.reader is not self.store:
                self.reader.close()
        return CrawlSummary(
            sources=list(results),
            elapsed=time.monotonic() - start,
            blocked_hosts=set(self.importer.paused_hosts()),
            stopped=self._stop,
            dry_run=self.dry_run,
            pause_reasons=self.importer.paused_hosts(),
        )
