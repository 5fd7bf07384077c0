"""The search index: a trigram table for words of 3+ characters, a bigram table for 1–2 characters.

Both hold, per article, its title and the visible text of its body (no Markdown syntax, no image or
link addresses; the first :data:`storage.text.INDEX_CHARS` characters), folded (full-width ASCII as
ASCII, case-folded), made by :func:`storage.text.index_text`:

``articles_fts``    ``trigram`` tokenizer: a word of 3+ characters is a phrase, which matches exactly
                    that substring; ranked by bm25 (positions kept).
``articles_grams``  the same text as overlapping bigrams (:func:`storage.text.grams`), ``detail=none``
                    with a 1-character prefix index: a 2-character word is one token, a 1-character
                    word a prefix query answered from that index. No positions, so it is small.

Schema 7 tried one positional bigram table for every length (a longer word as the phrase of its
bigrams). On 100,000 articles it saved 1.33x faster, short of the 1.5x that issue 12 set for
adopting it, and a 1-character query took 422 ms instead of 92 ms; schema 8 went back to two tables
(bench/README.md has both sets of numbers).

Both tables name ``articles`` as their external content so that sqlite-utils and Datasette find the
search (``content="articles"``, the form both look for; ``articles_fts`` is the one they pick, being
the first) and can count the rows; their tokens are not the content table's text, so FTS5's own
``rebuild`` does not apply: jianbao writes and deletes rows itself, and a migration rebuilds them
with :func:`rebuild`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from storage.text import grams, index_text

CREATE = (
    'CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, content="articles", content_rowid="id",'
    ' tokenize="trigram")',
    'CREATE VIRTUAL TABLE articles_grams USING fts5(title, body, content="articles", content_rowid="id",'
    " detail=none, columnsize=0, prefix='1', tokenize=\"unicode61 remove_diacritics 0\")",
)
TABLES = ("articles_fts", "articles_grams")
REBUILD_CHUNK = 2000  # articles read per query while rebuilding


def _rows(rows: Iterable[tuple[int, tuple[str, str]]]) -> list[tuple[int, str, str]]:
    return [(rowid, *index_text(title, body)) for rowid, (title, body) in rows]


def write_rows(conn: sqlite3.Connection, rows: Iterable[tuple[int, tuple[str, str]]]) -> None:
    """Index (article id, (title, body)) pairs; the ids must not be indexed already."""
    texts = _rows(rows)
    conn.executemany("INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)", texts)
    conn.executemany(
        "INSERT INTO articles_grams (rowid, title, body) VALUES (?, ?, ?)",
        ((rowid, grams(title), grams(body)) for rowid, title, body in texts),
    )


def delete_row(conn: sqlite3.Connection, article_id: int, title: str, body: str) -> None:
    """Forget the rows written for ``article_id`` from exactly this title and body."""
    plain_title, plain_body = index_text(title, body)
    conn.execute(
        "INSERT INTO articles_fts (articles_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)",
        (article_id, plain_title, plain_body),
    )
    conn.execute(
        "INSERT INTO articles_grams (articles_grams, rowid, title, body) VALUES ('delete', ?, ?, ?)",
        (article_id, grams(plain_title), grams(plain_body)),
    )


def rebuild(conn: sqlite3.Connection) -> None:
    """Create both tables afresh from every article (inside the caller's transaction)."""
    for table in TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    for create in CREATE:
        conn.execute(create)
    for table in TABLES:
        # fewer, larger merges while saving: searches stay fast, saves spend less time merging
        conn.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('automerge', 8)")
    last = 0
    while True:
        rows = conn.execute(
            "SELECT id, title, body FROM articles WHERE id > ? ORDER BY id LIMIT ?", (last, REBUILD_CHUNK)
        ).fetchall()
        if not rows:
            break
        write_rows(conn, ((r[0], (r[1], r[2])) for r in rows))
        last = rows[-1][0]
    for table in TABLES:
        conn.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
