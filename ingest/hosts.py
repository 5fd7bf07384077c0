"""The one owner of "may I ask this host now?": intervals, pauses, cool-downs and daily caps.

Everything is kept per host *and exit* (an exit is one way out to the internet: the machine's own
address, or a proxy), because what a site tolerates is counted per IP address: two exits fetch the
same host side by side, each at the host's interval, and a verification page cools down only the exit
that received it.

- **Interval**: a request to a host through an exit starts at least ``config.interval_for(host)`` after
  the previous one started; one request per host and exit is in flight at a time (:meth:`HostPolicy.turn`).
  A request *starts* when it goes on the wire (:meth:`HostPolicy.sending`), so the time a new connection
  takes to set up (a proxy's CONNECT, TLS) does not shorten the gap the server sees.
- **Defer**: a short ``Retry-After`` holds the next request back for that long (in memory).
- **Cool-down**: a verification page or a long ``Retry-After`` pauses the host for that exit, persisted
  so the next cron run leaves it alone too; verification doubles the pause per strike in a row
  (``http.cooldown`` up to ``http.cooldown_max``); an answered page forgets the strikes.
- **Run pause**: :meth:`HostPolicy.pause_for_run` stops a host for the rest of this process only.
- **Daily cap**: ``config.daily_limit_for(host)`` pages a day per exit, counted in the database so
  overlapping and successive runs share it; the day is Asia/Shanghai's.

Persisted state goes through a :class:`StateBackend` (the store, on its own thread); without one
(``jianbao parse``, the web server's image proxy) everything is kept in memory for the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ingest.config import Config
from parsers.article import SHANGHAI
from storage.hoststate import daily_key


class StateBackend(Protocol):
    """What the policy persists; :class:`ingest.pipeline.StoreState` implements it over the store."""

    async def load(self, host: str, exit: str) -> tuple[datetime | None, int, str | None]: ...
    async def save(self, host: str, exit: str, *, until: datetime | None, strikes: int, reason: str | None) -> None: ...
    async def take(self, key: str, *, day: str, limit: int | None) -> bool: ...


@dataclass(slots=True)
class _Slot:
    """One host through one exit, for this process."""

    lock: asyncio.Lock
    last_start: float = -math.inf
    not_before: float = -math.inf  # monotonic: Retry-After
    paused_until: float = -math.inf  # monotonic: this run's pause (inf: the rest of the run)
    reason: str = ""
    loaded: bool = False  # the persisted cool-down has been read
    loading: asyncio.Lock | None = None  # held while it is read: a concurrent asker must wait for it
    strikes: int = 0
    over_limit: bool = False  # the daily cap was reached in this run


def norm_host(host: str) -> str:
    return host.lower().rstrip(".")


class HostPolicy:
    """Per host and exit: when the next request may start, and whether one may start at all."""

    state: StateBackend | None  # set once by the importer when it brings a database

    def __init__(
        self,
        config: Config,
        *,
        state: StateBackend | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._config = config
        self.state = state
        self._clock = clock
        self._now = now
        self._sleep = sleep
        self._slots: dict[tuple[str, str], _Slot] = {}

    def _slot(self, host: str, exit: str) -> _Slot:
        key = (norm_host(host), exit)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot(asyncio.Lock())
        return slot

    def interval(self, host: str) -> float:
        return self._config.interval_for(norm_host(host))

    # -- asking ------------------------------------------------------------------------------------------

    async def paused(self, host: str, exit: str = "") -> str | None:
        """Why ``host`` through ``exit`` may not be asked now (a run pause or a persisted cool-down), or None."""
        slot = self._slot(host, exit)
        if not slot.loaded and self.state is not None:
            # the read suspends: without the lock a second request would pass while the first reads
            slot.loading = slot.loading or asyncio.Lock()
            async with slot.loading:
                if not slot.loaded:
                    until, strikes, why = await self.state.load(norm_host(host), exit)
                    slot.strikes = strikes
                    slot.loaded = True
                    if until is not None:
                        left = (until - self._now()).total_seconds()
                        if left > 0:
                            self._extend(slot, self._clock() + left, f"cooling down: {why or 'verification page'}")
        if slot.paused_until > self._clock():
            return slot.reason or "paused"
        if slot.over_limit:
            return slot.reason or "daily limit reached"
        return None

    def paused_now(self, host: str, exit: str = "") -> bool:
        """The in-memory part of :meth:`paused`, for synchronous callers (what this run already knows)."""
        slot = self._slots.get((norm_host(host), exit))
        return slot is not None and (slot.paused_until > self._clock() or slot.over_limit)

    def next_free(self, host: str, exit: str = "") -> float:
        """Monotonic time at which ``host`` through ``exit`` may next start a request (interval, Retry-After)."""
        slot = self._slot(host, exit)
        return max(slot.last_start + self.interval(host), slot.not_before)

    @contextlib.asynccontextmanager
    async def turn(self, host: str, exit: str = "") -> AsyncIterator[None]:
        """Hold the host (through this exit) for one request, started no earlier than its interval allows.

        Raises :class:`HostPaused` when the host is paused before or while waiting for its turn.
        """
        slot = self._slot(host, exit)
        reason = await self.paused(host, exit)
        if reason:
            raise HostPaused(reason)
        async with slot.lock:
            delay = self.next_free(host, exit) - self._clock()
            if delay > 0:
                await self._sleep(delay)
            # another request may have paused the host while this one waited
            reason = await self.paused(host, exit)
            if reason:
                raise HostPaused(reason)
            await self._take_daily(host, exit, slot)
            slot.last_start = self._clock()
            yield

    async def _take_daily(self, host: str, exit: str, slot: _Slot) -> None:
        if self.state is None:
            return  # nothing to count in without a database; `jianbao parse` fetches one page
        # every host is counted (``jianbao stats`` shows requests per exit), only some are capped
        limit = self._config.daily_limit_for(norm_host(host))
        if not await self.state.take(daily_key(host, exit), day=self.today(), limit=limit):
            slot.over_limit = True
            slot.reason = f"daily limit of {limit} reached"
            raise HostPaused(slot.reason)

    def today(self) -> str:
        return self._now().astimezone(SHANGHAI).date().isoformat()

    # -- being told --------------------------------------------------------------------------------------

    def sending(self, host: str, exit: str = "") -> None:
        """The request in hand is being written to the connection now: its start, for the interval."""
        slot = self._slot(host, exit)
        slot.last_start = max(slot.last_start, self._clock())

    def defer(self, host: str, exit: str, seconds: float) -> None:
        """No request to the host through this exit for ``seconds`` (a short Retry-After)."""
        slot = self._slot(host, exit)
        slot.not_before = max(slot.not_before, self._clock() + max(0.0, seconds))

    def pause_for_run(self, host: str, exit: str = "", reason: str = "paused for this run") -> None:
        self._extend(self._slot(host, exit), math.inf, reason)

    async def cool_down(
        self, host: str, exit: str = "", *, seconds: float | None = None, reason: str, rest_of_run: bool = False
    ) -> float:
        """Pause the host through this exit across runs; returns the seconds chosen.

        With ``seconds`` (a server's own Retry-After) that long, capped at ``cooldown_max``; without,
        ``cooldown`` doubled per strike in a row. ``rest_of_run`` also keeps it paused until this process
        ends (a verification page: asking again minutes later in the same run only earns another).
        """
        http = self._config.http
        slot = self._slot(host, exit)
        await self.paused(host, exit)  # strikes from earlier runs count
        if rest_of_run and slot.paused_until == math.inf and seconds is None:
            # a second verification page for a request already in flight: one strike per run, not two
            return 0.0
        slot.strikes += 1
        if seconds is None:
            seconds = http.cooldown * 2.0 ** min(slot.strikes - 1, 60)
        seconds = min(max(0.0, seconds), http.cooldown_max)
        self._extend(slot, math.inf if rest_of_run else self._clock() + seconds, reason)
        if self.state is not None:
            until = self._now() + timedelta(seconds=seconds)
            await self.state.save(norm_host(host), exit, until=until, strikes=slot.strikes, reason=reason)
        return seconds

    async def count(self, what: str, host: str, exit: str = "") -> None:
        """Add one to today's ``what`` counter of the host through this exit (``verification``: pages)."""
        if self.state is not None:
            await self.state.take(daily_key(host, exit, what), day=self.today(), limit=None)

    async def answered(self, host: str, exit: str = "") -> None:
        """The host gave a real page through this exit: earlier strikes are forgiven."""
        slot = self._slot(host, exit)
        if slot.strikes and self.state is not None:
            await self.state.save(norm_host(host), exit, until=None, strikes=0, reason=None)
        slot.strikes = 0

    def _extend(self, slot: _Slot, until: float, reason: str) -> None:
        # pauses only extend: a short Retry-After never cuts a cool-down
        if until > slot.paused_until:
            slot.paused_until = until
            slot.reason = reason

    # -- reporting ---------------------------------------------------------------------------------------

    def paused_hosts(self, exits: Sequence[str] | None = None, benched: Collection[str] = ()) -> dict[str, str]:
        """Hosts this run can no longer ask and why, for the run's summary (said once, not per URL).

        With ``exits`` (every exit of the fetcher), a host counts only when each of them is paused for
        it or ``benched``: while one exit still fetches, the host's URLs are not left pending.
        """
        now = self._clock()
        why: dict[str, dict[str, str]] = {}
        for (host, exit), slot in self._slots.items():
            if slot.over_limit:
                why.setdefault(host, {})[exit] = slot.reason or "daily limit reached"
            elif slot.paused_until > now:
                why.setdefault(host, {})[exit] = slot.reason or "paused"
        out: dict[str, str] = {}
        for host, by_exit in why.items():
            if exits is None:
                out[host] = next(iter(by_exit.values()))
                continue
            reasons = [by_exit.get(e) or ("exit benched" if e in benched else "") for e in exits]
            if all(reasons):
                distinct = list(dict.fromkeys(reasons))
                every = "every exit: " if len(exits) > 1 else ""
                out[host] = every + "; ".join(distinct)
        return out


class HostPaused(Exception):
    """Internal to ingest: the host may not be asked now; the fetcher turns it into ``Blocked``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
