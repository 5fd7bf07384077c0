"""The records a :class:`storage.Store` returns, and the conversions between them and table rows."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from parsers.article import SHANGHAI, Article, Page
from parsers.errors import InvalidURL
from parsers.urls import canonical_url

FETCH_OUTCOMES = ("stored", "updated", "unchanged", "not-article", "blocked", "failed")

ARTICLE_FIELDS = tuple(f.name for f in fields(Article))
ARTICLE_COLUMNS = ", ".join(ARTICLE_FIELDS)
ROW_COLUMNS = f"id, {ARTICLE_COLUMNS}, content_hash, previous_hash, duplicate_of, first_seen, last_seen, updated"


@dataclass(frozen=True, slots=True)
class Saved:
    id: int
    outcome: str  # stored | updated | unchanged
    duplicate_of: int | None


@dataclass(frozen=True, slots=True)
class Deleted:
    id: int
    url: str
    urls: tuple[str, ...]  # the URLs that led to it (now unknown)
    copies: tuple[int, ...]  # copies that were its duplicates, now linked to the first of them
    pages: int  # raw pages purged from the archive


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    article: Article
    content_hash: str
    previous_hash: str | None
    first_seen: datetime
    last_seen: datetime
    updated: datetime | None
    duplicate_of: int | None


@dataclass(frozen=True, slots=True)
class SearchHit:
    article: StoredArticle
    snippet: str  # one line of plain text, matches between the marks asked for (default [brackets])
    rank: float  # lower is better (SQLite's bm25 convention)


# a page read back from the archive is the same record the fetcher made (parsers.article.Page)
ArchivedPage = Page


@dataclass(frozen=True, slots=True)
class CrawlRecord:
    source: str
    started: datetime
    finished: datetime
    counts: dict[str, int]
    ok: bool
    error: str | None


@dataclass(frozen=True, slots=True)
class FetchRecord:
    url: str
    at: datetime
    outcome: str
    reason: str | None
    status: int | None
    error: str | None
    article_id: int | None
    source: str | None


@dataclass(frozen=True, slots=True)
class Stats:
    articles: int
    duplicates: int
    by_source: dict[str, int]
    by_account: dict[str, int]  # most articles first; "" for articles without an account
    by_day: dict[str, int]  # YYYY-MM-DD of publication (Asia/Shanghai), newest first
    last_crawls: dict[str, CrawlRecord]  # per source
    recent_failures: list[FetchRecord]  # failed or blocked, newest first, at most 20
    pages: int = 0
    pages_size: int = 0  # raw bytes archived
    pages_stored: int = 0  # bytes after compression, dictionaries included
    fetch_outcomes: dict[str, int] = field(default_factory=dict)


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


# what a NOT NULL bookkeeping time reads as when the stored text is no usable time
UNKNOWN_TIME = datetime(1970, 1, 1, tzinfo=UTC)


def parse_time(value: object) -> datetime | None:
    """A stored ISO 8601 time, or None when there is none or it is unusable: garbage, no offset where
    one is always written, or so near year 1 or 9999 that showing it in another zone overflows (a
    value stored by an older jianbao must not break every reader)."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            return None
        parsed.astimezone(UTC)
        parsed.astimezone(SHANGHAI)
    except (ValueError, OverflowError):
        return None
    return parsed


def canonical_or_none(url: str) -> str | None:
    try:
        return canonical_url(url)
    except (InvalidURL, ValueError):
        return None


def bound(value: date | datetime, *, end: bool) -> tuple[str, str]:
    """(operator, ISO string) comparing against ``published``, which is always stored at +08:00.

    A date means the whole Shanghai day: ``until=date`` includes that day."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
        return ("<=" if end else ">="), aware.astimezone(SHANGHAI).isoformat()
    day = value + timedelta(days=1) if end else value
    return ("<" if end else ">="), datetime.combine(day, time(), SHANGHAI).isoformat()


def filters(
    alias: str,
    *,
    fts_first: bool = False,
    source: str | None,
    account: str | None,
    account_part: bool = False,
    since: date | datetime | None,
    until: date | datetime | None,
) -> tuple[str, list[Any]]:
    """SQL conditions (each after `` AND ``) and their parameters; ``account_part``: the account's
    name contains ``account`` rather than equals it."""
    sql: list[str] = []
    params: list[Any] = []
    # under a MATCH, a unary plus keeps the planner from walking a column index and probing FTS per row
    alias = f"+{alias}" if fts_first else alias
    if source is not None:
        sql.append(f"{alias}.source = ?")
        params.append(source)
    if account is not None:
        sql.append(f"instr({alias}.account, ?) > 0" if account_part else f"{alias}.account = ?")
        params.append(account)
    for value, end in ((since, False), (until, True)):
        if value is not None:
            op, when = bound(value, end=end)
            sql.append(f"{alias}.published {op} ?")
            params.append(when)
    return "".join(f" AND {s}" for s in sql), params


def article_values(article: Article) -> list[Any]:
    values: list[Any] = []
    for name in ARTICLE_FIELDS:
        value = getattr(article, name)
        if name == "published" and value is not None:
            value = value.astimezone(SHANGHAI).isoformat()
        elif name in ("images", "tags"):
            value = json.dumps(list(value), ensure_ascii=False)
        values.append(value)
    return values


def article_from(row: sqlite3.Row) -> Article:
    data = {name: row[name] for name in ARTICLE_FIELDS}
    for name in ("images", "tags"):
        try:
            listed = json.loads(data[name] or "[]")
        except ValueError:
            listed = []
        data[name] = [str(v) for v in listed] if isinstance(listed, list) else []
    data["published"] = parse_time(data["published"])
    return Article.from_dict(data)


def stored_from(row: sqlite3.Row) -> StoredArticle:
    first_seen = parse_time(row["first_seen"]) or UNKNOWN_TIME
    last_seen = parse_time(row["last_seen"]) or UNKNOWN_TIME
    return StoredArticle(
        id=row["id"],
        article=article_from(row),
        content_hash=row["content_hash"],
        previous_hash=row["previous_hash"],
        first_seen=first_seen,
        last_seen=last_seen,
        updated=parse_time(row["updated"]),
        duplicate_of=row["duplicate_of"],
    )


def fetch_from(r: sqlite3.Row) -> FetchRecord:
    at = parse_time(r["at"]) or UNKNOWN_TIME
    return FetchRecord(r["url"], at, r["outcome"], r["reason"], r["status"], r["error"], r["article_id"], r["source"])
