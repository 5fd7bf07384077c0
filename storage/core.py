"""The connection, its transactions and the search rows they write at commit (the base of every Store part)."""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Self

import sqlite_utils

from storage import archive, index
from storage.errors import StorageError, unwritable
from storage.records import iso, utc_now
from storage.schema import SCHEMA_VERSION, migrate
from storage.text import short_word_score


class StoreCore:
    """One jianbao database. ``Store(path)`` creates the file and brings its schema up to date."""

    def __init__(
        self,
        path: str | os.PathLike[str] | sqlite_utils.Database,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._clock = clock or utc_now
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
            conn.create_function("jianbao_short_score", 3, short_word_score, deterministic=True)
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
            where = os.fspath(self._describe(path))
            raise unwritable(exc, where) or StorageError(f"not a usable SQLite database: {exc}", url=where) from exc
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

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _now(self) -> str:
        return iso(self._clock())

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
        try:
            conn.execute(f"SAVEPOINT {savepoint}" if savepoint else "BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            typed = unwritable(exc, self.path)
            if typed is None:
                raise
            raise typed from exc
        self._depth += 1
        try:
            yield
            if outermost:
                self._flush_index()
            conn.execute(f"RELEASE {savepoint}" if savepoint else "COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                if savepoint:
                    conn.execute(f"ROLLBACK TO {savepoint}")
                    conn.execute(f"RELEASE {savepoint}")
                else:
                    conn.execute("ROLLBACK")
            self._undo_index(mark)
            # a full disk or a read-only file is the database's state, not a bug: say it in one line
            typed = unwritable(exc, self.path) if isinstance(exc, sqlite3.Error) else None
            if typed is not None:
                raise typed from exc
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
            index.write_rows(self._conn, sorted(self._pending_index.items()))
        self._pending_index.clear()
        self._index_log.clear()
