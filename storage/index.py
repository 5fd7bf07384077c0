"""The search index: one FTS5 table of overlapping bigrams over the text a reader sees.

``articles_fts`` holds, per article, its title and the visible text of its body (no Markdown syntax,
no image or link addresses; the first :data:`storage.text.INDEX_CHARS` characters), NFKC and
case-folded, as overlapping bigrams (:func:`storage.text.grams`). A 2-character word is one token, a
longer word the phrase of its bigrams (consecutive positions: an exact substring), a 1-character word
a prefix query. It replaced a ``trigram`` table plus a bigram table for 1–2 character words (schema
7): one table is written per article instead of two (see bench/README.md for the numbers).

The table names ``articles`` as its external content so that sqlite-utils and Datasette find it
(``content="articles"``, the form both look for) and can count and join it; its tokens are not the
content table's text, so FTS5's own ``rebuild``/``integrity-check`` do not apply to it: jianbao writes
and deletes rows itself, and a migration rebuilds it with :func:`rebuild`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from storage.text import index_text

CREATE = (
    'CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, content="articles", content_rowid="id",'
    ' tokenize="unicode61 remove_diacritics 0")'
)
REBUILD_CHUNK = 2000  # articles read per query while rebuilding


def write_rows(conn: sqlite3.Connection, rows: Iterable[tuple[int, tuple[str, str]]]) -> None:
    """Index (article id, (title, body)) pairs; the ids must not be indexed already."""
    conn.executemany(
        "INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)",
        ((rowid, *index_text(title, body)) for rowid, (title, body) in rows),
    )


def delete_row(conn: sqlite3.Connection, article_id: int, title: str, body: str) -> None:
    """Forget the row written for ``article_id`` from exactly this title and body."""
    conn.execute(
        "INSERT INTO articles_fts (articles_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)",
        (article_id, *index_text(title, body)),
    )


def rebuild(conn: sqlite3.Connection) -> None:
    """Create the index afresh from every article (inside the caller's transaction)."""
    conn.execute("DROP TABLE IF EXISTS articles_fts")
    conn.execute("DROP TABLE IF EXISTS articles_grams")
    conn.execute(CREATE)
    conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('automerge', 8)")
    last = 0
    while True:
        rows = conn.execute(
            "SELECT id, title, body FROM articles WHERE id > ? ORDER BY id LIMIT ?", (last, REBUILD_CHUNK)
        ).fetchall()
        if not rows:
            break
        write_rows(conn, ((r[0], (r[1], r[2])) for r in rows))
        last = rows[-1][0]
    conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('optimize')")
