"""Articles and their URLs: saving (with search rows and duplicate link), reading back, listing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date, datetime

from parsers.article import Article
from storage import index
from storage.duplicates import DuplicatesPart
from storage.errors import NoArticle
from storage.records import (
    ARTICLE_COLUMNS,
    ARTICLE_FIELDS,
    ROW_COLUMNS,
    Deleted,
    Saved,
    StoredArticle,
    article_from,
    article_values,
    canonical_or_none,
    filters,
    stored_from,
)
from storage.text import MIN_TEXT, simhash, story_text, to_signed, to_unsigned

_INSERT_ARTICLE = (
    f"INSERT INTO articles (key, {ARTICLE_COLUMNS}, content_hash, simhash, first_seen, last_seen)"
    f" VALUES (?, {', '.join('?' for _ in ARTICLE_FIELDS)}, ?, ?, ?, ?)"
)
_UPDATE_ARTICLE = (
    f"UPDATE articles SET {', '.join(f'{n} = ?' for n in ARTICLE_FIELDS)},"
    " content_hash = ?, simhash = ?, previous_hash = ?, last_seen = ?, updated = ? WHERE id = ?"
)


class ArticlesPart(DuplicatesPart):
    def save_article(self, article: Article, *, aliases: Iterable[str] = ()) -> Saved:
        """Insert or update the row for ``article.key``, with its URLs, search rows and duplicate link."""
        text = story_text(article.body)
        digest = _sha256(text)
        fingerprint = simhash(text) if len(text) >= MIN_TEXT else None
        values = article_values(article)
        now = self._now()
        conn = self._conn
        with self.transaction():
            row = conn.execute(f"SELECT {ROW_COLUMNS}, simhash FROM articles WHERE key = ?", (article.key,)).fetchone()
            if row is None:
                cursor = conn.execute(
                    _INSERT_ARTICLE,
                    (article.key, *values, digest, _signed(fingerprint), now, now),
                )
                article_id = int(cursor.lastrowid or 0)
                self._index(article_id, article.title, article.body, fingerprint)
                duplicate_of = self._link(article_id, digest, fingerprint, len(text), None)
                outcome = "stored"
            elif article_from(row) == article:
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
            canonical = canonical_or_none(url)
            if canonical:
                known.add(canonical)
        self._conn.executemany(
            "INSERT INTO article_urls (url, article_id) VALUES (?, ?)"
            " ON CONFLICT (url) DO UPDATE SET article_id = excluded.article_id",
            ((url, article_id) for url in sorted(known)),
        )

    def _index(self, article_id: int, title: str, body: str, fingerprint: int | None) -> None:
        self._defer_index(article_id, (title, body))
        self._add_bands(article_id, fingerprint)

    def _unindex(self, article_id: int, title: str, body: str, fingerprint: int | None) -> None:
        # a row queued in this transaction was never written, and the _index that follows replaces it
        if article_id not in self._pending_index:
            index.delete_row(self._conn, article_id, title, body)
        self._drop_bands(article_id, fingerprint)

    def get_article(self, ref: int | str) -> StoredArticle:
        """By id, by any URL it was seen under (canonicalised when it parses), or by key."""
        conn = self._conn
        row = None
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isascii() and ref.isdigit()):
            number = int(ref)
            # an id past SQLite's integers names nothing (and cannot be bound)
            if 0 < number < 2**63:
                row = conn.execute(f"SELECT {ROW_COLUMNS} FROM articles WHERE id = ?", (number,)).fetchone()
        else:
            candidates = [ref]
            canonical = canonical_or_none(ref)
            if canonical and canonical != ref:
                candidates.append(canonical)
            for url in candidates:
                row = conn.execute(
                    f"SELECT {ROW_COLUMNS} FROM articles"
                    " WHERE id = (SELECT article_id FROM article_urls WHERE url = ?)",
                    (url,),
                ).fetchone()
                if row is not None:
                    break
            if row is None:
                row = conn.execute(f"SELECT {ROW_COLUMNS} FROM articles WHERE key = ?", (ref,)).fetchone()
        if row is None:
            raise NoArticle(f"no article with id, URL or key {ref!r}", url=self.path)
        return stored_from(row)

    def delete_article(self, ref: int | str, *, purge: bool = False) -> Deleted:
        """Remove an article (by id, URL or key) with its URLs, search row and duplicate links, in one
        transaction; copies that pointed at it point at the earliest remaining copy instead. Its raw
        pages stay in the archive (``reparse --url`` can bring it back) unless ``purge``."""
        conn = self._conn
        with self.transaction():
            stored = self.get_article(ref)
            article_id = stored.id
            row = conn.execute("SELECT title, body, simhash FROM articles WHERE id = ?", (article_id,)).fetchone()
            if article_id in self._pending_index:
                # queued in this transaction, never written: forget it (a rollback restores the queue)
                self._index_log.append((article_id, self._pending_index.pop(article_id)))
            else:
                index.delete_row(conn, article_id, row["title"], row["body"])
            self._drop_bands(article_id, None if row["simhash"] is None else to_unsigned(row["simhash"]))
            copies = [
                r[0] for r in conn.execute("SELECT id FROM articles WHERE duplicate_of = ? ORDER BY id", (article_id,))
            ]
            if copies:
                root = copies[0]
                conn.execute("UPDATE articles SET duplicate_of = NULL WHERE id = ?", (root,))
                conn.execute("UPDATE articles SET duplicate_of = ? WHERE duplicate_of = ?", (root, article_id))
            urls = [r[0] for r in conn.execute("SELECT url FROM article_urls WHERE article_id = ?", (article_id,))]
            conn.execute("DELETE FROM article_urls WHERE article_id = ?", (article_id,))
            conn.execute("DELETE FROM articles WHERE id = ?", (article_id,))
            pages = 0
            if purge:
                gone = json.dumps(sorted({*urls, stored.article.url}))
                pages = conn.execute(
                    "DELETE FROM pages WHERE url IN (SELECT value FROM json_each(?))"
                    " OR final_url IN (SELECT value FROM json_each(?))",
                    (gone, gone),
                ).rowcount
        return Deleted(article_id, stored.article.url, tuple(sorted(urls)), tuple(copies), pages)

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
        where, params = filters("a", source=source, account=account, since=since, until=until)
        if not include_duplicates:
            other, other_params = filters("o", source=source, account=account, since=since, until=until)
            where += (
                " AND (a.duplicate_of IS NULL OR NOT EXISTS (SELECT 1 FROM articles o"
                " WHERE (o.id = a.duplicate_of OR o.duplicate_of = a.duplicate_of) AND o.id < a.id" + other + "))"
            )
            params += other_params
        sql = (
            f"SELECT {', '.join('a.' + c.strip() for c in ROW_COLUMNS.split(','))} FROM articles a"
            # SQLite sorts NULL lowest: DESC puts undated articles last and can walk the published index
            f" WHERE 1{where} ORDER BY a.published DESC, a.id DESC"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [stored_from(row) for row in self._conn.execute(sql, params)]

    def copies_of(self, article_id: int) -> list[StoredArticle]:
        """The other articles of the same story (linked through ``duplicate_of`` either way), oldest first."""
        row = self._conn.execute("SELECT id, duplicate_of FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            raise NoArticle(f"no article with id {article_id}", url=self.path)
        root = row["duplicate_of"] or row["id"]
        rows = self._conn.execute(
            f"SELECT {ROW_COLUMNS} FROM articles WHERE (id = ? OR duplicate_of = ?) AND id != ? ORDER BY id",
            (root, root, article_id),
        )
        return [stored_from(r) for r in rows]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _signed(fingerprint: int | None) -> int | None:
    return None if fingerprint is None else to_signed(fingerprint)
