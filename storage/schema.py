"""The database schema and its versioned migrations.

``PRAGMA user_version`` counts the migrations applied; opening a :class:`storage.Store` applies the
missing ones in order, each in its own transaction together with the version bump, so a crash leaves
the file at one version or the next, never between.

Tables
------
``articles``         one row per ``Article.key`` (WeChat ``biz:mid:idx``, qq ``article_id``, else canonical URL)
    id INTEGER PK, key TEXT UNIQUE, url, source, kind, title, published (ISO 8601, +08:00), author,
    account, summary, cover, body (Markdown), images (JSON list), biz, mid, idx, sn, article_id,
    original_account, original_url, tags (JSON list: the source's own keywords),
    content_hash  sha256 of the normalised body text (markup, images, whitespace, punctuation removed),
    previous_hash content_hash before the last update,
    simhash       64-bit SimHash of that text as a signed integer; NULL when under 50 characters,
    duplicate_of  id of the earliest article of the same story (NULL on the original itself),
    first_seen, last_seen, updated (ISO 8601 with offset).
    Indexes: source, account, published, url, duplicate_of, content_hash.
``article_urls``     url PK -> article_id: the canonical URL and every alias (short link, fetched, final URL).
``pages``            raw archive, one row per URL (latest wins): final_url, status, headers (JSON),
                     content (zstd, see ``page_dicts``), dict_id, size (raw bytes), source, fetched_at.
``page_dicts``       id, family UNIQUE (``wechat``, ``qq`` or a web host), content (zstd), size, created.
``fetches``          every attempt: url, at, outcome (stored, updated, unchanged, not-article, blocked,
                     failed), reason, status, error, article_id, source. Index (url, id).
``crawls``           source, started, finished, counts (JSON), ok, error.
``hosts``            host PK, until (cooldown end or NULL), strikes.
``articles_fts``     FTS5 ``trigram`` over (title, body) as a reader sees them (see :mod:`storage.index`):
                     words of 3+ characters. Declared with external content ``articles`` so sqlite-utils
                     and Datasette find it. Until schema 7 it held the Markdown source.
``articles_grams``   FTS5 ``detail=none``, ``prefix='1'`` over (title, body) of the same text as overlapping
                     bigrams: words of 1–2 characters. (Schema 7 held one bigram table; 8 went back to two.)
``article_bands``    (band_key, article_id, simhash) WITHOUT ROWID: SimHash block-pair keys (36 per article
                     with a fingerprint), for near-duplicate candidates.

The search rows and the bands are written by :meth:`Store.save_article` in the same transaction as the
article row (no triggers: the bigram text is made in Python).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

import sqlite_utils

from storage.accounts import migrate_accounts
from storage.hoststate import migrate_host_state
from storage.text import grams

Migration = Callable[[sqlite_utils.Database], None]


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Run the statements of ``script`` one by one inside the caller's transaction.

    ``sqlite3.Connection.executescript`` would COMMIT the migration's transaction first, and
    sqlite-utils' ``executescript`` tests every character for a statement's end (14 of the 18 ms that
    opening a fresh database took); a statement here ends with a line that completes it."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {statement.strip()[:80]!r}")


def _v1_core(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            url TEXT NOT NULL,
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            title TEXT NOT NULL,
            published TEXT,
            author TEXT,
            account TEXT,
            summary TEXT NOT NULL DEFAULT '',
            cover TEXT,
            body TEXT NOT NULL DEFAULT '',
            images TEXT NOT NULL DEFAULT '[]',
            biz TEXT, mid TEXT, idx TEXT, sn TEXT,
            article_id TEXT,
            original_account TEXT,
            original_url TEXT,
            content_hash TEXT NOT NULL,
            previous_hash TEXT,
            simhash INTEGER,
            duplicate_of INTEGER REFERENCES articles(id),
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            updated TEXT
        );
        CREATE INDEX articles_source ON articles(source);
        CREATE INDEX articles_account ON articles(account);
        CREATE INDEX articles_published ON articles(published);
        CREATE INDEX articles_url ON articles(url);
        CREATE INDEX articles_duplicate_of ON articles(duplicate_of);
        CREATE INDEX articles_content_hash ON articles(content_hash);
        CREATE TABLE article_urls (
            url TEXT PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id)
        ) WITHOUT ROWID;
        CREATE TABLE page_dicts (
            id INTEGER PRIMARY KEY,
            family TEXT NOT NULL UNIQUE,
            content BLOB NOT NULL,
            size INTEGER NOT NULL,
            created TEXT NOT NULL
        );
        CREATE TABLE pages (
            url TEXT PRIMARY KEY,
            final_url TEXT NOT NULL,
            status INTEGER NOT NULL,
            headers TEXT NOT NULL DEFAULT '{}',
            content BLOB NOT NULL,
            dict_id INTEGER REFERENCES page_dicts(id),
            size INTEGER NOT NULL,
            source TEXT NOT NULL,
            fetched_at TEXT NOT NULL
        );
        CREATE INDEX pages_source ON pages(source);
        CREATE TABLE fetches (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL,
            at TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN
                ('stored', 'updated', 'unchanged', 'not-article', 'blocked', 'failed')),
            reason TEXT,
            status INTEGER,
            error TEXT,
            article_id INTEGER,
            source TEXT
        );
        CREATE INDEX fetches_url ON fetches(url, id);
        CREATE INDEX fetches_outcome ON fetches(outcome, id);
        CREATE TABLE crawls (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            started TEXT NOT NULL,
            finished TEXT NOT NULL,
            counts TEXT NOT NULL DEFAULT '{}',
            ok INTEGER NOT NULL,
            error TEXT
        );
        CREATE INDEX crawls_source ON crawls(source, id);
        CREATE TABLE hosts (
            host TEXT PRIMARY KEY,
            until TEXT,
            strikes INTEGER NOT NULL DEFAULT 0
        );
        """,
    )


def _v2_search(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        CREATE VIRTUAL TABLE articles_fts USING fts5(
            title, body, content='articles', content_rowid='id', tokenize='trigram'
        );
        CREATE VIRTUAL TABLE articles_grams USING fts5(
            text, content='', detail=none, columnsize=0, prefix='1',
            tokenize='unicode61 remove_diacritics 0'
        );
        INSERT INTO articles_fts(articles_fts) VALUES ('rebuild');
        """,
    )
    rows = db.execute("SELECT id, title, body FROM articles").fetchall()
    db.conn.executemany(
        "INSERT INTO articles_grams(rowid, text) VALUES (?, ?)",
        ((rowid, grams_of(title, body)) for rowid, title, body in rows),
    )


def _v3_duplicates(db: sqlite_utils.Database) -> None:
    from storage.text import band_keys, to_unsigned

    # simhash rides along in the key's b-tree, so checking a candidate never touches ``articles``
    db.execute(
        "CREATE TABLE article_bands (band_key INTEGER NOT NULL, article_id INTEGER NOT NULL,"
        " simhash INTEGER NOT NULL, PRIMARY KEY (band_key, article_id)) WITHOUT ROWID"
    )
    rows = db.execute("SELECT id, simhash FROM articles WHERE simhash IS NOT NULL").fetchall()
    db.conn.executemany(
        "INSERT OR IGNORE INTO article_bands(band_key, article_id, simhash) VALUES (?, ?, ?)",
        ((key, rowid, fp) for rowid, fp in rows for key in band_keys(to_unsigned(fp))),
    )


def grams_of(title: str, body: str) -> str:
    """What ``articles_grams`` holds for one article; deleting needs the very same text."""
    return grams(title) + " \n " + grams(body)


def _v4_tags(db: sqlite_utils.Database) -> None:
    # the source's own keywords; rows stored before stay untagged until a reparse or re-import
    db.execute("ALTER TABLE articles ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'")


def _v7_one_index(db: sqlite_utils.Database) -> None:
    # schema 7 rebuilt the index as one bigram table; 8 replaces that with two tables over the same
    # visible text and rebuilds them, so building 7's here would be thrown away at once
    pass


def _v8_two_indexes(db: sqlite_utils.Database) -> None:
    from storage import index

    index.rebuild(db.conn)


# one entry a line, appended in order: the position is the version number of a file that has it
MIGRATIONS: list[Migration] = [
    _v1_core,
    _v2_search,
    _v3_duplicates,
    _v4_tags,
    migrate_host_state,
    migrate_accounts,  # 6: wechat-account sources (storage/accounts.py)
    _v7_one_index,  # 7: one bigram index over the visible text (now a no-op: 8 rebuilds)
    _v8_two_indexes,  # 8: trigram + bigram tables over the visible text (storage/index.py)
]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite_utils.Database, *, target: int = SCHEMA_VERSION) -> int:
    """Apply the missing migrations up to ``target``; returns the version the file is at."""
    conn = db.conn
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    while version < target:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # re-read under the write lock: another process may have migrated meanwhile
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version >= target:
                conn.execute("COMMIT")
                break
            MIGRATIONS[version](db)
            conn.execute(f"PRAGMA user_version = {version + 1:d}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        version += 1
    return version


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
