"""The SQLite store: articles, their URLs, the raw page archive, the fetch log, crawls and host cooldowns.

The schema is drawn in :mod:`storage.schema`; duplicate detection is explained in :mod:`storage.text`,
page compression in :mod:`storage.archive`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from types import TracebackType
from typing import Any

import sqlite_utils

from parsers.article import SHANGHAI, Article, Page
from parsers.errors import InvalidURL
from parsers.urls import canonical_url, host_of, site_of
from storage import archive, hoststate
from storage.errors import NoArticle, StorageError
from storage.schema import SCHEMA_VERSION, dumps, grams_of, migrate
from storage.text import (
    MAX_DISTANCE,
    MIN_TEXT,
    band_keys,
    fts_phrase,
    hamming,
    make_snippet,
    normalize_text,
    short_term,
    simhash,
    to_signed,
    to_unsigned,
)

FETCH_OUTCOMES = ("stored", "updated", "unchanged", "not-article", "blocked", "failed")
GONE_REASONS = ("deleted", "removed")  # a URL whose last fetch said this is never worth fetching again
CHUNK = 5000  # URLs per seen_urls / pages query (one JSON parameter each)
SNIPPET_TOKENS = 24
SHORT_CANDIDATES = 2000  # newest matches ranked for a query of 1–2 character words only
LONG_CANDIDATES = 5000  # newest matches ranked by bm25 for a query with a word of 3+ characters
MARK = ("[", "]")

_ARTICLE_FIELDS = tuple(f.name for f in fields(Article))
_ARTICLE_COLUMNS = ", ".join(_ARTICLE_FIELDS)
_ROW_COLUMNS = f"id, {_ARTICLE_COLUMNS}, content_hash, previous_hash, duplicate_of, first_seen, last_seen, updated"
_INSERT_ARTICLE = (
    f"INSERT INTO articles (key, {_ARTICLE_COLUMNS}, content_hash, simhash, first_seen, last_seen)"
    f" VALUES (?, {', '.join('?' for _ in _ARTICLE_FIELDS)}, ?, ?, ?, ?)"
)
_UPDATE_ARTICLE = (
    f"UPDATE articles SET {', '.join(f'{n} = ?' for n in _ARTICLE_FIELDS)},"
    " content_hash = ?, simhash = ?, previous_hash = ?, last_seen = ?, updated = ? WHERE id = ?"
)


@dataclass(frozen=True, slots=True)
class Saved:
    id: int
    outcome: str  # stored | updated | unchanged
    duplicate_of: int | None


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
    snippet: str  # matches in [brackets]
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


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _canonical(url: str) -> str | None:
    try:
        return canonical_url(url)
    except (InvalidURL, ValueError):
        return None


def _bound(value: date | datetime, *, end: bool) -> tuple[str, str]:
    """(operator, ISO string) comparing against ``published``, which is always stored at +08:00.

    A date means the whole Shanghai day: ``until=date`` includes that day."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
        return ("<=" if end else ">="), aware.astimezone(SHANGHAI).isoformat()
    day = value + timedelta(days=1) if end else value
    return ("<" if end else ">="), datetime.combine(day, time(), SHANGHAI).isoformat()


def _filters(
    alias: str,
    *,
    fts_first: bool = False,
    source: str | None,
    account: str | None,
    since: date | datetime | None,
    until: date | datetime | None,
) -> tuple[str, list[Any]]:
    sql: list[str] = []
    params: list[Any] = []
    # under a MATCH, a unary plus keeps the planner from walking a column index and probing FTS per row
    alias = f"+{alias}" if fts_first else alias
    if source is not None:
        sql.append(f"{alias}.source = ?")
        params.append(source)
    if account is not None:
        sql.append(f"{alias}.account = ?")
        params.append(account)
    for value, end in ((since, False), (until, True)):
        if value is not None:
            op, iso = _bound(value, end=end)
            sql.append(f"{alias}.published {op} ?")
            params.append(iso)
    return "".join(f" AND {s}" for s in sql), params


def _article_values(article: Article) -> list[Any]:
    values: list[Any] = []
    for name in _ARTICLE_FIELDS:
        value = getattr(article, name)
        if name == "published" and value is not None:
            value = value.astimezone(SHANGHAI).isoformat()
        elif name in ("images", "tags"):
            value = json.dumps(list(value), ensure_ascii=False)
        values.append(value)
    return values


def _article_from(row: sqlite3.Row) -> Article:
    data = {name: row[name] for name in _ARTICLE_FIELDS}
    for name in ("images", "tags"):
        data[name] = json.loads(data[name] or "[]")
    return Article.from_dict(data)


def _stored_from(row: sqlite3.Row) -> StoredArticle:
    first_seen, last_seen = _dt(row["first_seen"]), _dt(row["last_seen"])
    assert first_seen is not None and last_seen is not None  # NOT NULL columns
    return StoredArticle(
        id=row["id"],
        article=_article_from(row),
        content_hash=row["content_hash"],
        previous_hash=row["previous_hash"],
        first_seen=first_seen,
        last_seen=last_seen,
        updated=_dt(row["updated"]),
        duplicate_of=row["duplicate_of"],
    )


def _family(url: str) -> tuple[str, str]:
    """(source, compression family) of a page URL: web pages share boilerplate per host only."""
    try:
        site = site_of(url)
        return site, site if site in ("wechat", "qq") else host_of(url)
    except (InvalidURL, ValueError):
        return "web", ""


class Store:
    """One jianbao database. ``Store(path)`` creates the file and brings its schema up to date."""

    def __init__(
        self,
        path: str | os.PathLike[str] | sqlite_utils.Database,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._clock = clock or _utc_now
        self._codec = archive.Codec()
        self._savepoints = itertools.count()
        self._depth = 0  # transaction() blocks open
        self._pending_index: dict[int, tuple[str, str]] = {}  # article id -> (title, body), see transaction()
        self._index_log: list[tuple[int, tuple[str, str] | None]] = []  # (id, queued before), for rollbacks
        try:
            if isinstance(path, sqlite_utils.Database):
                self.db = path
                listed = path.conn.execute("PRAGMA database_list").fetchone()
                self.path = (listed[2] if listed else "") or ":memory:"
            else:
                self.path = os.fspath(path)
                # check_same_thread=False: the importer hands all writes to one dedicated thread so
                # compression and SQLite (both GIL-free) overlap its network I/O; one thread at a time
                # uses a Store, never two at once (transaction() keys on conn.in_transaction)
                if self.path == ":memory:":
                    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
                else:
                    # sqlite3.connect creates missing files but not missing folders
                    conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                self.db = sqlite_utils.Database(conn)
            conn = self.db.conn
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA foreign_keys = ON")
            # the FTS and band b-trees take random inserts: the 2 MB default cache thrashes past ~10k articles
            conn.execute("PRAGMA cache_size = -65536")
            if self.path != ":memory:" and not conn.in_transaction:
                conn.execute("PRAGMA journal_mode = WAL")
                # with WAL, NORMAL never corrupts the file; a power cut may lose the last commits only
                conn.execute("PRAGMA synchronous = NORMAL")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"database schema {version} is newer than this jianbao ({SCHEMA_VERSION})", url=self.path
                )
            migrate(self.db)
        except sqlite3.Error as exc:
            self._close_quietly(path)
            raise StorageError(f"not a usable SQLite database: {exc}", url=os.fspath(self._describe(path))) from exc
        except StorageError:
            self._close_quietly(path)
            raise

    def _close_quietly(self, given: object) -> None:
        # a connection we opened ourselves must not outlive a failed open; the caller's stays theirs
        db = getattr(self, "db", None)
        if db is not None and db is not given:
            db.close()

    @staticmethod
    def _describe(path: str | os.PathLike[str] | sqlite_utils.Database) -> str | os.PathLike[str]:
        return "<sqlite_utils.Database>" if isinstance(path, sqlite_utils.Database) else path

    @property
    def _conn(self) -> sqlite3.Connection:
        return self.db.conn

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _now(self) -> str:
        return _iso(self._clock())

    # -- transactions ---------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits or rolls back together; nested blocks are savepoints.

        The search rows of the articles saved inside are written when the outermost block ends, just
        before it commits: FTS5 writes its pending terms out as a new segment at every savepoint, so
        indexing article by article inside ``save_article``'s savepoint made each article a segment of
        its own (and the merges that follow) — a 500-article batch ran at half the speed. Search
        inside a still-open transaction therefore does not see the articles saved in it."""
        conn = self._conn
        outermost = self._depth == 0
        mark = len(self._index_log)
        savepoint = f"jianbao_{next(self._savepoints)}" if conn.in_transaction else None
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads first and then
        # writes can fail with SQLITE_BUSY without waiting, when another writer got in between
        conn.execute(f"SAVEPOINT {savepoint}" if savepoint else "BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield
            if outermost:
                self._flush_index()
            conn.execute(f"RELEASE {savepoint}" if savepoint else "COMMIT")
        except BaseException:
            if conn.in_transaction:
                if savepoint:
                    conn.execute(f"ROLLBACK TO {savepoint}")
                    conn.execute(f"RELEASE {savepoint}")
                else:
                    conn.execute("ROLLBACK")
            self._undo_index(mark)
            raise
        finally:
            self._depth -= 1

    def _defer_index(self, article_id: int, text: tuple[str, str]) -> None:
        """Queue (title, body) for the search tables at commit, replacing what was queued for the id."""
        self._index_log.append((article_id, self._pending_index.get(article_id)))
        self._pending_index[article_id] = text

    def _undo_index(self, mark: int) -> None:
        # a rolled-back savepoint takes its queued search rows with it
        while len(self._index_log) > mark:
            article_id, before = self._index_log.pop()
            if before is None:
                self._pending_index.pop(article_id, None)
            else:
                self._pending_index[article_id] = before

    def _flush_index(self) -> None:
        if self._pending_index:
            rows = sorted(self._pending_index.items())
            conn = self._conn
            conn.executemany(
                "INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)",
                ((rowid, title, body) for rowid, (title, body) in rows),
            )
            conn.executemany(
                "INSERT INTO articles_grams (rowid, text) VALUES (?, ?)",
                ((rowid, grams_of(title, body)) for rowid, (title, body) in rows),
            )
        self._pending_index.clear()
        self._index_log.clear()

    # -- articles -------------------------------------------------------------------------------------

    def save_article(self, article: Article, *, aliases: Iterable[str] = ()) -> Saved:
        """Insert or update the row for ``article.key``, with its URLs, search rows and duplicate link."""
        text = normalize_text(article.body)
        digest = _sha256(text)
        fingerprint = simhash(text) if len(text) >= MIN_TEXT else None
        values = _article_values(article)
        now = self._now()
        conn = self._conn
        with self.transaction():
            row = conn.execute(f"SELECT {_ROW_COLUMNS}, simhash FROM articles WHERE key = ?", (article.key,)).fetchone()
            if row is None:
                cursor = conn.execute(
                    _INSERT_ARTICLE,
                    (article.key, *values, digest, _signed(fingerprint), now, now),
                )
                article_id = int(cursor.lastrowid or 0)
                self._index(article_id, article.title, article.body, fingerprint)
                duplicate_of = self._link(article_id, digest, fingerprint, len(text), None)
                outcome = "stored"
            elif _article_from(row) == article:
                article_id = row["id"]
                conn.execute("UPDATE articles SET last_seen = ? WHERE id = ?", (now, article_id))
                duplicate_of = row["duplicate_of"]
                outcome = "unchanged"
            else:
                article_id = row["id"]
                old_fp = None if row["simhash"] is None else to_unsigned(row["simhash"])
                self._unindex(article_id, row["title"], row["body"], old_fp)
                conn.execute(
                    _UPDATE_ARTICLE,
                    (*values, digest, _signed(fingerprint), row["content_hash"], now, now, article_id),
                )
                self._index(article_id, article.title, article.body, fingerprint)
                duplicate_of = self._link(article_id, digest, fingerprint, len(text), row["duplicate_of"])
                outcome = "updated"
            self._save_urls(article_id, [article.url, *aliases])
        return Saved(article_id, outcome, duplicate_of)

    def _save_urls(self, article_id: int, urls: Iterable[str]) -> None:
        known: set[str] = set()
        for url in urls:
            if not url:
                continue
            known.add(url)
            canonical = _canonical(url)
            if canonical:
                known.add(canonical)
        self._conn.executemany(
            "INSERT INTO article_urls (url, article_id) VALUES (?, ?)"
            " ON CONFLICT (url) DO UPDATE SET article_id = excluded.article_id",
            ((url, article_id) for url in sorted(known)),
        )

    def _index(self, article_id: int, title: str, body: str, fingerprint: int | None) -> None:
        self._defer_index(article_id, (title, body))
        if fingerprint is not None:
            signed = to_signed(fingerprint)
            self._conn.executemany(
                "INSERT OR IGNORE INTO article_bands (band_key, article_id, simhash) VALUES (?, ?, ?)",
                ((key, article_id, signed) for key in band_keys(fingerprint)),
            )

    def _unindex(self, article_id: int, title: str, body: str, fingerprint: int | None) -> None:
        conn = self._conn
        # a row queued in this transaction was never written, and the _index that follows replaces it;
        # external-content and contentless FTS5 tables forget a row only when told its old text exactly
        if article_id not in self._pending_index:
            conn.execute(
                "INSERT INTO articles_fts (articles_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)",
                (article_id, title, body),
            )
            conn.execute(
                "INSERT INTO articles_grams (articles_grams, rowid, text) VALUES ('delete', ?, ?)",
                (article_id, grams_of(title, body)),
            )
        if fingerprint is not None:
            conn.executemany(
                "DELETE FROM article_bands WHERE band_key = ? AND article_id = ?",
                ((key, article_id) for key in band_keys(fingerprint)),
            )

    def _link(
        self, article_id: int, digest: str, fingerprint: int | None, text_len: int, current: int | None
    ) -> int | None:
        """Point ``article_id`` (and its group) at the earliest article of the same story; returns it."""
        conn = self._conn
        roots: set[int] = set()
        if text_len >= MIN_TEXT:
            for other, dup in conn.execute(
                "SELECT id, duplicate_of FROM articles WHERE content_hash = ? AND id != ?", (digest, article_id)
            ):
                roots.add(dup or other)
        if fingerprint is not None:
            near = {
                other
                for other, fp in conn.execute(
                    "SELECT article_id, simhash FROM article_bands WHERE band_key IN (SELECT value FROM json_each(?))",
                    (json.dumps(band_keys(fingerprint)),),
                )
                if other != article_id and hamming(to_unsigned(fp), fingerprint) <= MAX_DISTANCE
            }
            if near:
                for other, dup in conn.execute(
                    "SELECT id, duplicate_of FROM articles WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps(sorted(near)),),
                ):
                    roots.add(dup or other)
        if not roots:
            if current is not None:
                conn.execute("UPDATE articles SET duplicate_of = NULL WHERE id = ?", (article_id,))
            return None
        root = min(roots | {article_id})
        for member in (roots | {article_id}) - {root}:
            # a flat union: every member of a merged group points straight at the earliest article
            conn.execute(
                "UPDATE articles SET duplicate_of = ? WHERE id = ? OR duplicate_of = ?", (root, member, member)
            )
        if root == article_id:
            conn.execute("UPDATE articles SET duplicate_of = NULL WHERE id = ?", (article_id,))
            return None
        return root

    def get_article(self, ref: int | str) -> StoredArticle:
        """By id, by any URL it was seen under (canonicalised when it parses), or by key."""
        conn = self._conn
        row = None
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            row = conn.execute(f"SELECT {_ROW_COLUMNS} FROM articles WHERE id = ?", (int(ref),)).fetchone()
        else:
            candidates = [ref]
            canonical = _canonical(ref)
            if canonical and canonical != ref:
                candidates.append(canonical)
            for url in candidates:
                row = conn.execute(
                    f"SELECT {_ROW_COLUMNS} FROM articles"
                    " WHERE id = (SELECT article_id FROM article_urls WHERE url = ?)",
                    (url,),
                ).fetchone()
                if row is not None:
                    break
            if row is None:
                row = conn.execute(f"SELECT {_ROW_COLUMNS} FROM articles WHERE key = ?", (ref,)).fetchone()
        if row is None:
            raise NoArticle(f"no article with id, URL or key {ref!r}", url=self.path)
        return _stored_from(row)

    def list_articles(
        self,
        *,
        source: str | None = None,
        account: str | None = None,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
        limit: int | None = None,
        include_duplicates: bool = False,
    ) -> list[StoredArticle]:
        """Newest published first (undated last). A duplicate shows only when no earlier member of its
        group passes the same filters, unless ``include_duplicates``."""
        where, params = _filters("a", source=source, account=account, since=since, until=until)
        if not include_duplicates:
            other, other_params = _filters("o", source=source, account=account, since=since, until=until)
            where += (
                " AND (a.duplicate_of IS NULL OR NOT EXISTS (SELECT 1 FROM articles o"
                " WHERE (o.id = a.duplicate_of OR o.duplicate_of = a.duplicate_of) AND o.id < a.id" + other + "))"
            )
            params += other_params
        sql = (
            f"SELECT {', '.join('a.' + c.strip() for c in _ROW_COLUMNS.split(','))} FROM articles a"
            # SQLite sorts NULL lowest: DESC puts undated articles last and can walk the published index
            f" WHERE 1{where} ORDER BY a.published DESC, a.id DESC"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_stored_from(row) for row in self._conn.execute(sql, params)]

    def copies_of(self, article_id: int) -> list[StoredArticle]:
        """The other articles of the same story (linked through ``duplicate_of`` either way), oldest first."""
        row = self._conn.execute("SELECT id, duplicate_of FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            raise NoArticle(f"no article with id {article_id}", url=self.path)
        root = row["duplicate_of"] or row["id"]
        rows = self._conn.execute(
            f"SELECT {_ROW_COLUMNS} FROM articles WHERE (id = ? OR duplicate_of = ?) AND id != ? ORDER BY id",
            (root, root, article_id),
        )
        return [_stored_from(r) for r in rows]

    # -- search ---------------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        source: str | None = None,
        account: str | None = None,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        """Articles containing every space-separated word of ``query`` (substring match, any length).

        Words of 3+ characters use the trigram index and bm25 over the ``LONG_CANDIDATES`` newest
        matches. A query of only 1–2 character words uses the bigram index and ranks the
        ``SHORT_CANDIDATES`` newest matches by how often the words occur (title counts five times).
        Either way a very common word costs about what a rare one does, and the filters apply before
        the cut. Each story appears once."""
        long_words: list[str] = []
        short_words: list[str] = []
        for word in dict.fromkeys(query.split()):
            if len(word) >= 3:
                long_words.append(word)
            else:
                term = short_term(word)
                if term and term not in short_words:
                    short_words.append(term)
        if not long_words and not short_words:
            return []
        where, params = _filters("a", fts_first=True, source=source, account=account, since=since, until=until)
        grams_match = " AND ".join(fts_phrase(t) if len(t) == 2 else fts_phrase(t) + "*" for t in short_words)
        if long_words:
            trigram_match = " AND ".join(fts_phrase(w) for w in long_words)
            hits = "SELECT a.id, a.duplicate_of, bm25(articles_fts) AS rank FROM articles_fts"
            hits += " JOIN articles a ON a.id = articles_fts.rowid WHERE articles_fts MATCH ?"
            hit_params: list[Any] = [trigram_match]
            for term in short_words:
                # checked on the trigram hits only: cheaper than intersecting with every row a common
                # character has in the bigram index
                hits += " AND (instr(lower(a.title), ?) OR instr(lower(a.body), ?))"
                hit_params += [term, term]
            # bm25 costs per matching row: a word in a third of 100,000 articles took 100–270 ms to rank
            # in full; walking the matches newest first and ranking the first LONG_CANDIDATES keeps it
            # near the cost of a rare word (FTS5 yields rowids in descending order without sorting)
            hits += f"{where} ORDER BY articles_fts.rowid DESC LIMIT ?"
            hit_params += [*params, LONG_CANDIDATES]
            where, params = "", []
        else:
            # detail=none keeps no positions, so no bm25: rank by occurrences (title five times), counted
            # in SQL over the SHORT_CANDIDATES newest matching articles, so a very common character costs
            # the same as a rare one
            score = " + ".join(
                "5.0 * (length(a.title) - length(replace(lower(a.title), ?, ''))) / ?"
                " + 1.0 * (length(a.body) - length(replace(lower(a.body), ?, ''))) / ?"
                for _ in short_words
            )
            hits = (
                f"SELECT a.id, a.duplicate_of, -({score}) / (1.0 + length(a.body) / 2000.0) AS rank"
                " FROM articles a WHERE a.id IN (SELECT g.rowid FROM articles_grams g JOIN articles a"
                f" ON a.id = g.rowid WHERE articles_grams MATCH ?{where} ORDER BY g.rowid DESC LIMIT ?)"
            )
            hit_params = [v for t in short_words for v in (t, len(t), t, len(t))]
            hit_params += [grams_match, *params, SHORT_CANDIDATES]
            where, params = "", []
        sql = (
            f"WITH hits AS ({hits}{where}),"
            " firsts AS (SELECT id, rank, row_number() OVER"
            " (PARTITION BY coalesce(duplicate_of, id) ORDER BY id) AS n FROM hits)"
            " SELECT id, rank FROM firsts WHERE n = 1 ORDER BY rank, id LIMIT ?"
        )
        try:
            found = self._conn.execute(sql, [*hit_params, *params, limit]).fetchall()
        except sqlite3.OperationalError as exc:
            # quoting keeps user text out of the query syntax; anything left is worth naming
            raise StorageError(f"search {query!r} failed: {exc}", url=self.path) from exc
        out: list[SearchHit] = []
        for article_id, rank in found:
            stored = self.get_article(int(article_id))
            if long_words:
                snip_row = self._conn.execute(
                    "SELECT snippet(articles_fts, -1, ?, ?, '…', ?) FROM articles_fts"
                    " WHERE articles_fts MATCH ? AND rowid = ?",
                    (MARK[0], MARK[1], SNIPPET_TOKENS, trigram_match, article_id),
                ).fetchone()
                snippet = snip_row[0] if snip_row else ""
            else:
                art = stored.article
                body_hit = any(t in art.body.casefold() for t in short_words)
                snippet = make_snippet(art.body if body_hit else art.title, short_words, mark=MARK)
            out.append(SearchHit(stored, snippet, float(rank)))
        return out

    # -- URLs, fetches, pages -------------------------------------------------------------------------

    def seen_urls(self, urls: Iterable[str]) -> set[str]:
        """Those of ``urls`` not worth fetching: stored (as URL or alias, also after canonicalising) or
        whose last fetch found the article deleted or removed."""
        by_form: dict[str, set[str]] = {}
        for url in urls:
            by_form.setdefault(url, set()).add(url)
            canonical = _canonical(url)
            if canonical and canonical != url:
                by_form.setdefault(canonical, set()).add(url)
        forms = list(by_form)
        seen: set[str] = set()
        sql = (
            "SELECT q.value FROM json_each(?) q WHERE"
            " EXISTS (SELECT 1 FROM article_urls u WHERE u.url = q.value)"
            " OR (SELECT f.outcome = 'not-article' AND f.reason IN (?, ?)"
            "     FROM fetches f WHERE f.url = q.value ORDER BY f.id DESC LIMIT 1)"
        )
        for start in range(0, len(forms), CHUNK):
            chunk = forms[start : start + CHUNK]
            for (form,) in self._conn.execute(sql, (json.dumps(chunk), *GONE_REASONS)):
                seen |= by_form[form]
        return seen

    def save_fetch(
        self,
        url: str,
        outcome: str,
        *,
        reason: str | None = None,
        status: int | None = None,
        error: str | None = None,
        article_id: int | None = None,
        source: str | None = None,
        exit: str | None = None,
    ) -> None:
        """Log one fetch attempt; ``outcome`` is one of :data:`FETCH_OUTCOMES`; ``exit`` the way out it took."""
        if outcome not in FETCH_OUTCOMES:
            raise ValueError(f"unknown fetch outcome {outcome!r}")
        with self.transaction():
            self._conn.execute(
                "INSERT INTO fetches (url, at, outcome, reason, status, error, article_id, source, exit)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (url, self._now(), outcome, reason, status, error, article_id, source, exit or None),
            )

    def fetches(self, url: str) -> list[FetchRecord]:
        """Every logged attempt for ``url`` (as given or in its canonical form), oldest first."""
        forms = list(dict.fromkeys(u for u in (url, _canonical(url)) if u))
        rows = self._conn.execute(
            "SELECT * FROM fetches WHERE url IN (SELECT value FROM json_each(?)) ORDER BY id", (json.dumps(forms),)
        )
        return [_fetch_from(r) for r in rows]

    def save_page(
        self,
        url: str,
        *,
        content: bytes,
        final_url: str,
        status: int,
        headers: Mapping[str, str],
        fetched_at: datetime | None = None,
    ) -> None:
        """Archive the raw bytes of ``url`` (the latest fetch replaces an earlier one), compressed."""
        source, family = _family(final_url or url)
        dict_id = self._page_dict(family, content, status)
        blob = self._codec.compress(content, dict_id)
        with self.transaction():
            self._conn.execute(
                "INSERT INTO pages (url, final_url, status, headers, content, dict_id, size, source, fetched_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET final_url = excluded.final_url,"
                " status = excluded.status, headers = excluded.headers, content = excluded.content,"
                " dict_id = excluded.dict_id, size = excluded.size, source = excluded.source,"
                " fetched_at = excluded.fetched_at",
                (
                    url,
                    final_url,
                    status,
                    dumps(dict(headers)),
                    blob,
                    dict_id,
                    len(content),
                    source,
                    _iso(fetched_at or self._clock()),
                ),
            )

    def _page_dict(self, family: str, content: bytes, status: int) -> int | None:
        """The family's dictionary id, making this page the dictionary when the family has none yet."""
        row = self._conn.execute("SELECT id FROM page_dicts WHERE family = ?", (family,)).fetchone()
        if row is None:
            if not (family and 200 <= status < 300 and archive.DICT_MIN <= len(content) <= archive.DICT_MAX):
                return None
            with self.transaction():
                self._conn.execute(
                    "INSERT INTO page_dicts (family, content, size, created) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (family) DO NOTHING",
                    (family, archive.compress_standalone(content), len(content), self._now()),
                )
            row = self._conn.execute("SELECT id FROM page_dicts WHERE family = ?", (family,)).fetchone()
        dict_id = int(row["id"])
        self._load_dict(dict_id)
        return dict_id

    def _load_dict(self, dict_id: int | None) -> None:
        if dict_id is None or self._codec.known(dict_id):
            return
        row = self._conn.execute("SELECT content FROM page_dicts WHERE id = ?", (dict_id,)).fetchone()
        if row is None:
            raise StorageError(f"page dictionary {dict_id} is missing", url=self.path)
        self._codec.add(dict_id, archive.decompress_standalone(row["content"]))

    def pages(self, *, urls: Iterable[str] | None = None, source: str | None = None) -> Iterator[ArchivedPage]:
        """Archived pages, decompressed: those of ``urls`` that are archived (in that order), or all
        (optionally of one ``source``) in fetch order."""
        conn = self._conn
        if urls is not None:
            wanted = list(dict.fromkeys(urls))
            chosen: list[str] = []
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                sql = "SELECT url FROM pages WHERE url IN (SELECT value FROM json_each(?))"
                params: list[Any] = [json.dumps(chunk)]
                if source is not None:
                    sql += " AND source = ?"
                    params.append(source)
                present = {r[0] for r in conn.execute(sql, params)}
                chosen += [u for u in chunk if u in present]
        elif source is not None:
            chosen = [
                r[0] for r in conn.execute("SELECT url FROM pages WHERE source = ? ORDER BY fetched_at, url", (source,))
            ]
        else:
            chosen = [r[0] for r in conn.execute("SELECT url FROM pages ORDER BY fetched_at, url")]
        # URLs first, rows one at a time: the caller may write (re-parse and save) between two pages
        for url in chosen:
            row = conn.execute("SELECT * FROM pages WHERE url = ?", (url,)).fetchone()
            if row is None:
                continue
            self._load_dict(row["dict_id"])
            fetched = _dt(row["fetched_at"])
            assert fetched is not None
            yield ArchivedPage(
                url=row["url"],
                final_url=row["final_url"],
                status=row["status"],
                headers=json.loads(row["headers"]),
                content=self._codec.decompress(row["content"], row["dict_id"]),
                fetched_at=fetched,
            )

    # -- crawls and hosts -----------------------------------------------------------------------------

    def save_crawl(
        self,
        source: str,
        *,
        started: datetime,
        finished: datetime,
        counts: Mapping[str, int],
        ok: bool,
        error: str | None = None,
    ) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO crawls (source, started, finished, counts, ok, error) VALUES (?, ?, ?, ?, ?, ?)",
                (source, _iso(started), _iso(finished), dumps(dict(counts)), int(ok), error),
            )

    def host_cooldown(self, host: str) -> tuple[datetime | None, int]:
        """(paused until, strikes) for ``host`` through the only exit; (None, 0) when it never cooled down."""
        state = hoststate.load_host_state(self, host)
        return state.until, state.strikes

    def save_host_cooldown(self, host: str, *, until: datetime | None, strikes: int) -> None:
        """Pause ``host`` until ``until``; None lifts the pause (the strikes are kept as given)."""
        hoststate.save_host_state(self, host, until=until, strikes=strikes)

    # -- overview -------------------------------------------------------------------------------------

    def stats(self) -> Stats:
        conn = self._conn
        total, dupes = conn.execute("SELECT count(*), count(duplicate_of) FROM articles").fetchone()
        by_source = dict(
            conn.execute("SELECT source, count(*) FROM articles GROUP BY source ORDER BY source").fetchall()
        )
        by_account = dict(
            conn.execute(
                "SELECT coalesce(account, ''), count(*) AS n FROM articles GROUP BY 1 ORDER BY n DESC, 1"
            ).fetchall()
        )
        by_day = dict(
            conn.execute(
                "SELECT substr(published, 1, 10) AS day, count(*) FROM articles WHERE published IS NOT NULL"
                " GROUP BY day ORDER BY day DESC"
            ).fetchall()
        )
        crawls: dict[str, CrawlRecord] = {}
        for r in conn.execute("SELECT * FROM crawls WHERE id IN (SELECT max(id) FROM crawls GROUP BY source)"):
            started, finished = _dt(r["started"]), _dt(r["finished"])
            assert started is not None and finished is not None
            crawls[r["source"]] = CrawlRecord(
                r["source"], started, finished, json.loads(r["counts"]), bool(r["ok"]), r["error"]
            )
        failures = [
            _fetch_from(r)
            for r in conn.execute(
                "SELECT * FROM fetches WHERE outcome IN ('failed', 'blocked') ORDER BY id DESC LIMIT 20"
            )
        ]
        pages, size, stored = conn.execute(
            "SELECT count(*), coalesce(sum(size), 0), coalesce(sum(length(content)), 0) FROM pages"
        ).fetchone()
        stored += conn.execute("SELECT coalesce(sum(length(content)), 0) FROM page_dicts").fetchone()[0]
        outcomes = dict(conn.execute("SELECT outcome, count(*) FROM fetches GROUP BY outcome").fetchall())
        return Stats(
            articles=total,
            duplicates=dupes,
            by_source=by_source,
            by_account=by_account,
            by_day=by_day,
            last_crawls=crawls,
            recent_failures=failures,
            pages=pages,
            pages_size=size,
            pages_stored=stored,
            fetch_outcomes=outcomes,
        )


def _fetch_from(r: sqlite3.Row) -> FetchRecord:
    at = _dt(r["at"])
    assert at is not None
    return FetchRecord(r["url"], at, r["outcome"], r["reason"], r["status"], r["error"], r["article_id"], r["source"])


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _signed(fingerprint: int | None) -> int | None:
    return None if fingerprint is None else to_signed(fingerprint)
