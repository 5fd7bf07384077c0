"""Read-only queries for the web layer: a read-only store, newest stories, accounts, change markers.

Functions over a :class:`storage.Store`; they know SQLite, nothing about HTTP. ``serve`` reads through
them and through the Store's public methods (``get_article``, ``search``, ``copies_of``).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlite_utils

from parsers.article import SHANGHAI

# the package's public names: the Store surface stays while its modules are reorganised
from storage import SCHEMA_VERSION, StorageError, Store

# a reader page or feed needs a few thousand rows at most; the writer's 64 MB would multiply per reader
READER_CACHE_KIB = 16384
WALK_FROM = 2000  # a source with more articles than this is found by walking the newest first


@dataclass(frozen=True, slots=True)
class Entry:
    """An article as a feed's validator sees it: enough to know whether the feed changed."""

    id: int
    changed: str  # ISO 8601: the last update, else when it was first stored


@dataclass(frozen=True, slots=True)
class AccountCount:
    account: str
    articles: int


def open_readonly(path: str | os.PathLike[str]) -> Store:
    """A Store on an existing database that can never write to it.

    The file is opened with SQLite's ``mode=ro`` (WAL readers see each writer's last commit while
    ``crawl`` or ``import`` keep writing). A database whose schema is older than this jianbao would
    need a migration, which a read-only connection refuses: that is reported, not worked around.
    """
    file = Path(path)
    if not file.is_file():
        raise StorageError("no database here (run `jianbao import` or `jianbao crawl` first)", url=str(path))
    uri = "file:" + quote(str(file.resolve()), safe="/") + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open read-only: {exc}", url=str(path)) from exc
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version < SCHEMA_VERSION:
            raise StorageError(
                f"database schema {version} is older than this jianbao ({SCHEMA_VERSION}); a read-only reader"
                " cannot migrate it: run `jianbao crawl` or `jianbao import` once (they migrate on open)",
                url=str(path),
            )
        store = Store(sqlite_utils.Database(conn))
    except sqlite3.Error as exc:
        conn.close()
        raise StorageError(f"not a usable SQLite database: {exc}", url=str(path)) from exc
    except StorageError as exc:
        conn.close()
        if exc.url == "<sqlite_utils.Database>" or not exc.url:
            exc.url = str(path)
        raise
    conn.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB:d}")
    return store


def _bound(value: date | datetime, *, end: bool) -> tuple[str, str]:
    # published is stored as ISO 8601 at +08:00, so bounds are compared as strings at the same offset
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
        return ("<=" if end else ">="), aware.astimezone(SHANGHAI).isoformat()
    if end:
        return "<", datetime.combine(date.fromordinal(value.toordinal() + 1), time(), SHANGHAI).isoformat()
    return ">=", datetime.combine(value, time(), SHANGHAI).isoformat()


def _where(
    alias: str, *, source: str | None, account: str | None, since: date | datetime | None, walk: bool = False
) -> tuple[str, list[Any]]:
    sql: list[str] = []
    params: list[Any] = []
    if source is not None:
        # the unary plus keeps SQLite off the source index: for a common source, walking the published
        # index newest first stops after a page, where the source index means sorting half the table
        sql.append(f"{'+' if walk else ''}{alias}.source = ?")
        params.append(source)
    if account is not None:
        sql.append(f"{alias}.account = ?")
        params.append(account)
    if since is not None:
        op, iso = _bound(since, end=False)
        sql.append(f"{alias}.published {op} ?")
        params.append(iso)
    return "".join(f" AND {s}" for s in sql), params


def newest_entries(
    store: Store,
    *,
    source: str | None = None,
    account: str | None = None,
    since: date | datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Entry]:
    """The newest stories (published first, undated last), each once, as ``Store.list_articles`` folds
    them: a duplicate shows only when no earlier member of its group passes the same filters.

    One query over the ``published`` index that reads no bodies, so a feed can compare it with what a
    reader already has before loading anything."""
    walk = False
    if source is not None and account is None:
        (count,) = store.db.conn.execute("SELECT count(*) FROM articles WHERE source = ?", (source,)).fetchone()
        walk = count > WALK_FROM
    where, params = _where("a", source=source, account=account, since=since, walk=walk)
    other, other_params = _where("o", source=source, account=account, since=since)
    sql = (
        "SELECT a.id, coalesce(a.updated, a.first_seen) FROM articles a WHERE 1" + where + " AND"
        " (a.duplicate_of IS NULL OR NOT EXISTS (SELECT 1 FROM articles o"
        " WHERE (o.id = a.duplicate_of OR o.duplicate_of = a.duplicate_of) AND o.id < a.id" + other + "))"
        " ORDER BY a.published DESC, a.id DESC LIMIT ? OFFSET ?"
    )
    rows = store.db.conn.execute(sql, [*params, *other_params, limit, offset]).fetchall()
    return [Entry(int(r[0]), str(r[1])) for r in rows]


def entries_of(store: Store, ids: list[int]) -> list[Entry]:
    """Change markers of the given articles, in the given order (for feeds built from search hits)."""
    if not ids:
        return []
    rows = store.db.conn.execute(
        "SELECT id, coalesce(updated, first_seen) FROM articles WHERE id IN (SELECT value FROM json_each(?))",
        ("[" + ",".join(str(int(i)) for i in ids) + "]",),
    ).fetchall()
    changed = {int(r[0]): str(r[1]) for r in rows}
    return [Entry(i, changed[i]) for i in ids if i in changed]


def accounts(store: Store) -> list[AccountCount]:
    """Every account with its article count (copies included), most articles first.

    Only the ``account`` index is read (20 ms at 100,000 articles); anything more per account (its
    sources, its newest date) would read every row (0.7 s)."""
    rows = store.db.conn.execute(
        "SELECT account, count(*) AS n FROM articles WHERE account IS NOT NULL AND account != ''"
        " GROUP BY account ORDER BY n DESC, account"
    ).fetchall()
    return [AccountCount(r[0], int(r[1])) for r in rows]


def sources(store: Store) -> dict[str, int]:
    """Article counts by source (wechat, qq, web), those present only."""
    rows = store.db.conn.execute("SELECT source, count(*) FROM articles GROUP BY source ORDER BY source")
    return {str(r[0]): int(r[1]) for r in rows}


def archive_marker(store: Store) -> tuple[int, int, str | None]:
    """(newest id, article count, when the newest article was stored): changes whenever an article is
    added or removed, which is what the account list and the OPML file depend on."""
    row = store.db.conn.execute(
        "SELECT max(id), count(*), (SELECT first_seen FROM articles ORDER BY id DESC LIMIT 1) FROM articles"
    ).fetchone()
    return int(row[0] or 0), int(row[1]), row[2]
