"""What the database keeps about followed WeChat accounts (the ``wechat-account`` sources through WeRead).

The WeRead session itself is a secret and never comes here: it lives in a file beside config.toml
(:mod:`ingest.weread`). What is kept is public or the crawl's own bookkeeping:

Tables
------
``wechat_article_biz``  url PK (canonical article link named in config.toml) -> biz, read (ISO 8601):
                        the account an ``article = "…"`` source names, read from that page once.
``weread_accounts``     book_id PK (``MP_WXS_…``): biz, followed (when added to / found on the WeRead shelf),
                        reader (the account's WeRead reader page, the Referer of its list calls),
                        listed (last list answer), resume (the list offset an interrupted walk stopped at,
                        NULL when none is owed).
``weread_listed``       url PK (canonical ``/s/…`` link) -> book_id, title, published, cover, digest, listed:
                        what the account's list said of each article it named.

Daily counters (list calls, shelf additions) are ``daily_counts`` rows of :mod:`storage.hoststate`
(keys ``weread list`` and ``weread follow``); the ``-2041`` cool-down is ``host_state`` of ``weread.qq.com``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlite_utils

from storage.records import parse_time

if TYPE_CHECKING:
    from parsers.weread import WeReadArticle
    from storage.store import Store

LIST_COUNTER = "weread list"
FOLLOW_COUNTER = "weread follow"


@dataclass(frozen=True, slots=True)
class AccountState:
    book_id: str
    biz: str
    followed: datetime | None = None
    listed: datetime | None = None
    resume: int | None = None
    reader: str | None = None


def migrate_accounts(db: sqlite_utils.Database) -> None:
    from storage.schema import run_script

    run_script(
        db,
        """
        CREATE TABLE wechat_article_biz (
            url TEXT PRIMARY KEY,
            biz TEXT NOT NULL,
            read TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE weread_accounts (
            book_id TEXT PRIMARY KEY,
            biz TEXT NOT NULL,
            followed TEXT,
            reader TEXT,
            listed TEXT,
            resume INTEGER
        ) WITHOUT ROWID;
        CREATE TABLE weread_listed (
            url TEXT PRIMARY KEY,
            book_id TEXT NOT NULL,
            title TEXT,
            published TEXT,
            cover TEXT,
            digest TEXT,
            listed TEXT NOT NULL
        ) WITHOUT ROWID;
        """,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def biz_for_article(store: Store, url: str) -> str | None:
    row = store.db.conn.execute("SELECT biz FROM wechat_article_biz WHERE url = ?", (url,)).fetchone()
    return str(row[0]) if row else None


def save_article_biz(store: Store, url: str, biz: str, *, at: datetime) -> None:
    with store.transaction():
        store.db.conn.execute(
            "INSERT INTO wechat_article_biz (url, biz, read) VALUES (?, ?, ?)"
            " ON CONFLICT (url) DO UPDATE SET biz = excluded.biz, read = excluded.read",
            (url, biz, _iso(at)),
        )


_ACCOUNT_COLUMNS = "book_id, biz, followed, listed, resume, reader"


def _account(row: tuple[object, ...]) -> AccountState:
    resume = row[4]
    return AccountState(
        str(row[0]),
        str(row[1]),
        parse_time(row[2]),
        parse_time(row[3]),
        int(resume) if isinstance(resume, int) else None,
        row[5] if isinstance(row[5], str) else None,
    )


def load_account(store: Store, book_id: str) -> AccountState | None:
    row = store.db.conn.execute(
        f"SELECT {_ACCOUNT_COLUMNS} FROM weread_accounts WHERE book_id = ?", (book_id,)
    ).fetchone()
    return _account(tuple(row)) if row is not None else None


def accounts(store: Store) -> list[AccountState]:
    rows = store.db.conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM weread_accounts ORDER BY book_id")
    return [_account(tuple(r)) for r in rows]


def _upsert(store: Store, book_id: str, biz: str, column: str, value: object) -> None:
    # column comes from this module's callers only, never from input
    with store.transaction():
        store.db.conn.execute(
            f"INSERT INTO weread_accounts (book_id, biz, {column}) VALUES (?, ?, ?)"
            f" ON CONFLICT (book_id) DO UPDATE SET biz = excluded.biz, {column} = excluded.{column}",
            (book_id, biz, value),
        )


def save_followed(store: Store, book_id: str, biz: str, *, at: datetime, reader: str | None = None) -> None:
    """The account is on the user's WeRead shelf (added by the crawl, or found there), with its reader page."""
    with store.transaction():
        _upsert(store, book_id, biz, "followed", _iso(at))
        if reader:
            _upsert(store, book_id, biz, "reader", reader)


def save_resume(store: Store, book_id: str, biz: str, offset: int | None) -> None:
    """Where the next walk of this account's older pages picks up (None: nothing is owed)."""
    _upsert(store, book_id, biz, "resume", offset)


def save_listed(store: Store, book_id: str, biz: str, articles: Iterable[WeReadArticle], *, at: datetime) -> None:
    """A list answer: what it said of each article, and when the account was last listed."""
    rows = [(a.url, book_id, a.title, _iso(a.published), a.cover, a.digest, _iso(at)) for a in articles]
    with store.transaction():
        store.db.conn.executemany(
            "INSERT INTO weread_listed (url, book_id, title, published, cover, digest, listed)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET title = excluded.title,"
            " published = excluded.published, cover = excluded.cover, digest = excluded.digest,"
            " listed = excluded.listed",
            rows,
        )
        _upsert(store, book_id, biz, "listed", _iso(at))


def listed(store: Store, url: str) -> tuple[str | None, datetime | None, str | None, str | None] | None:
    """(title, published, cover, digest) the list gave for ``url``, or None."""
    row = store.db.conn.execute(
        "SELECT title, published, cover, digest FROM weread_listed WHERE url = ?", (url,)
    ).fetchone()
    return (row[0], parse_time(row[1]), row[2], row[3]) if row else None
