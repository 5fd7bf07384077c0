"""Writing and forgetting the search rows of an article (the tables are drawn in :mod:`storage.schema`).

External-content and contentless FTS5 tables forget a row only when told its old text exactly, so
every text that goes in is made here, by the same function that makes it again for the delete.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from storage.schema import grams_of


def write_rows(conn: sqlite3.Connection, rows: Iterable[tuple[int, tuple[str, str]]]) -> None:
    """Index (article id, (title, body)) pairs; the ids must not be indexed already."""
    rows = list(rows)
    conn.executemany(
        "INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)",
        ((rowid, title, body) for rowid, (title, body) in rows),
    )
    conn.executemany(
        "INSERT INTO articles_grams (rowid, text) VALUES (?, ?)",
        ((rowid, grams_of(title, body)) for rowid, (title, body) in rows),
    )


def delete_row(conn: sqlite3.Connection, article_id: int, title: str, body: str) -> None:
    """Forget the search rows written for ``article_id`` from exactly this title and body."""
    conn.execute(
        "INSERT INTO articles_fts (articles_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)",
        (article_id, title, body),
    )
    conn.execute(
        "INSERT INTO articles_grams (articles_grams, rowid, text) VALUES ('delete', ?, ?)",
        (article_id, grams_of(title, body)),
    )
