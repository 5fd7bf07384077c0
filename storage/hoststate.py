"""What the database remembers about hosts across runs: cool-downs per host and exit, daily counters.

A cron crawl is one short process among many; what a host told the last one (a verification page, a
``Retry-After`` of an hour) and how much was asked of it today must outlive the process, and two
overlapping runs must share it. That is all this module keeps; the policy that reads and writes it
(intervals, doubling, which exit goes next) lives in :mod:`ingest.hosts`.

Tables
------
``host_state``    (host, exit) PK: until (ISO 8601, cool-down end or NULL), strikes (verification pages in a
                  row), reason (why it is cooling down), updated.
``fetches.exit``   the exit (a short label, never a proxy's credentials) each attempt went out through.
``daily_counts``  (day, key) PK: count. ``day`` is the Asia/Shanghai date the caller passes; ``key`` names
                  what is counted (:func:`daily_key`), e.g. ``pages mp.weixin.qq.com via socks5://10.0.0.2:1080``
                  (requests), ``verification mp.weixin.qq.com`` (verification pages; no ``via``: the only
                  exit) or ``weread list``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

import sqlite_utils

from storage.records import parse_time

if TYPE_CHECKING:
    # any part of the Store will do: these functions use its connection and transactions only
    from storage.core import StoreCore as Store


@dataclass(frozen=True, slots=True)
class HostState:
    host: str
    exit: str
    until: datetime | None
    strikes: int
    reason: str | None = None


COUNTED = ("pages", "verification")  # what is counted per host and exit


def daily_key(host: str, exit: str, what: str = "pages") -> str:
    """The ``daily_counts`` key of ``what`` (one of :data:`COUNTED`) for a host through an exit."""
    return f"{what} {host.lower().rstrip('.')}" + (f" via {exit}" if exit else "")


def split_daily_key(key: str) -> tuple[str, str, str] | None:
    """(what, host, exit) of a :func:`daily_key`; None for other counters (``weread list``)."""
    what, _, rest = key.partition(" ")
    if what not in COUNTED or not rest:
        return None
    host, _, exit = rest.partition(" via ")
    return what, host, exit


@dataclass(frozen=True, slots=True)
class ExitUse:
    """One host through one exit, for ``jianbao stats``: today's requests and verification pages, and
    the cool-down remembered across runs (``until`` None when it is not cooling down)."""

    exit: str
    host: str
    requests: int = 0
    verification: int = 0
    until: datetime | None = None
    strikes: int = 0
    reason: str | None = None


def exit_uses(store: Store, *, day: str, now: datetime) -> list[ExitUse]:
    """Every host and exit with requests on ``day`` or a remembered cool-down, by exit then host."""
    found: dict[tuple[str, str], ExitUse] = {}
    for key, n in counts_on(store, day).items():
        parts = split_daily_key(key)
        if parts is not None:
            what, host, exit = parts
            use = found.get((exit, host)) or ExitUse(exit, host)
            found[exit, host] = replace(use, requests=n) if what == "pages" else replace(use, verification=n)
    for state in host_states(store):
        cooling = state.until is not None and state.until > now
        if cooling or state.strikes:
            use = found.get((state.exit, state.host)) or ExitUse(state.exit, state.host)
            until = state.until if cooling else None
            found[state.exit, state.host] = replace(use, until=until, strikes=state.strikes, reason=state.reason)
    return [found[k] for k in sorted(found)]


def migrate_host_state(db: sqlite_utils.Database) -> None:
    """The v1 ``hosts`` table becomes ``host_state`` keyed by host and exit ('' = the only exit)."""
    from storage.schema import run_script

    run_script(
        db,
        """
        CREATE TABLE host_state (
            host TEXT NOT NULL,
            exit TEXT NOT NULL DEFAULT '',
            until TEXT,
            strikes INTEGER NOT NULL DEFAULT 0,
            reason TEXT,
            PRIMARY KEY (host, exit)
        ) WITHOUT ROWID;
        INSERT INTO host_state (host, exit, until, strikes) SELECT host, '', until, strikes FROM hosts;
        DROP TABLE hosts;
        CREATE TABLE daily_counts (
            day TEXT NOT NULL,
            key TEXT NOT NULL,
            count INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, key)
        ) WITHOUT ROWID;
        ALTER TABLE fetches ADD COLUMN exit TEXT;
        """,
    )


def load_host_state(store: Store, host: str, exit: str = "") -> HostState:
    """The remembered state of ``host`` through ``exit``; a clean state when nothing is remembered."""
    host = host.lower()
    row = store.db.conn.execute(
        "SELECT until, strikes, reason FROM host_state WHERE host = ? AND exit = ?", (host, exit)
    ).fetchone()
    if row is None:
        return HostState(host, exit, None, 0)
    return HostState(host, exit, parse_time(row[0]), int(row[1]), row[2])


def save_host_state(
    store: Store, host: str, exit: str = "", *, until: datetime | None, strikes: int, reason: str | None = None
) -> None:
    """Remember a cool-down (or its end: ``until`` None and no strikes forgets the host)."""
    host = host.lower()
    with store.transaction():
        if until is None and strikes == 0:
            store.db.conn.execute("DELETE FROM host_state WHERE host = ? AND exit = ?", (host, exit))
            return
        store.db.conn.execute(
            "INSERT INTO host_state (host, exit, until, strikes, reason) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (host, exit) DO UPDATE SET until = excluded.until, strikes = excluded.strikes,"
            " reason = excluded.reason",
            (host, exit, until.isoformat(timespec="seconds") if until else None, strikes, reason),
        )


def host_states(store: Store) -> list[HostState]:
    """Every remembered host and exit, for ``jianbao stats``."""
    rows = store.db.conn.execute("SELECT host, exit, until, strikes, reason FROM host_state ORDER BY host, exit")
    return [HostState(r[0], r[1], parse_time(r[2]), int(r[3]), r[4]) for r in rows]


def count_today(store: Store, key: str, *, day: str) -> int:
    row = store.db.conn.execute("SELECT count FROM daily_counts WHERE day = ? AND key = ?", (day, key)).fetchone()
    return int(row[0]) if row else 0


def add_today(store: Store, key: str, *, day: str, n: int = 1, limit: int | None = None) -> int | None:
    """Add ``n`` to today's ``key`` and return the new count; with ``limit``, add only while the sum stays
    within it and return None when it would not (one statement, so two processes cannot both take the last)."""
    conn = store.db.conn
    with store.transaction():
        if limit is not None:
            cur = conn.execute(
                "INSERT INTO daily_counts (day, key, count) SELECT ?, ?, ? WHERE ? <= ?"
                " ON CONFLICT (day, key) DO UPDATE SET count = count + excluded.count"
                " WHERE daily_counts.count + excluded.count <= ?",
                (day, key, n, n, limit, limit),
            )
            if cur.rowcount == 0:
                return None
        else:
            conn.execute(
                "INSERT INTO daily_counts (day, key, count) VALUES (?, ?, ?)"
                " ON CONFLICT (day, key) DO UPDATE SET count = count + excluded.count",
                (day, key, n),
            )
        return count_today(store, key, day=day)


def counts_on(store: Store, day: str) -> dict[str, int]:
    """Every counter of ``day``, for ``jianbao stats``."""
    rows = store.db.conn.execute("SELECT key, count FROM daily_counts WHERE day = ? ORDER BY key", (day,))
    return {r[0]: int(r[1]) for r in rows}


def forget_days_before(store: Store, day: str) -> None:
    """Counters of earlier days are history nobody reads; keep the table small."""
    with store.transaction():
        store.db.conn.execute("DELETE FROM daily_counts WHERE day < ?", (day,))
