"""Search: every word of a query as a substring of the visible title or body, ranked, each story once.

The index is drawn in :mod:`storage.index`. The work per query is bounded whatever the database
holds: the ``CANDIDATES`` newest matching articles (after the filters) are ranked and the rest are
never read; a row holds at most :data:`storage.text.INDEX_CHARS` characters, so no single article's
occurrences make a phrase slow; snippets look at a bounded part of each hit.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime

from storage.core import StoreCore
from storage.errors import StorageError
from storage.records import ROW_COLUMNS, SearchHit, filters, stored_from
from storage.text import MARKDOWN_CHARS, make_snippet, query_runs, run_match

# newest matches ranked: a word in a third of 100,000 articles took 100–270 ms to rank in full; the
# newest 5,000 keep a common word near the cost of a rare one (FTS5 yields rowids newest first)
CANDIDATES = 5000
MARK = ("[", "]")
TITLE_WEIGHT = 5.0  # a match in the title weighs this many matches in the body


class SearchHits(list[SearchHit]):
    """The hits (best first) and how many stories matched: ``total`` counts the stories among the
    ``CANDIDATES`` newest matching articles; ``more`` says there may be others beyond those."""

    total: int = 0
    more: bool = False


@dataclass(frozen=True, slots=True)
class _Query:
    words: list[str]  # query_runs: folded runs of letters and digits
    match: str  # the FTS5 query over the words of 2+ characters ('' when there are none)
    singles: list[str]  # 1-character words


def _parse(query: str) -> _Query | None:
    words = query_runs(query)
    if not words:
        return None
    longer = [w for w in words if len(w) > 1]
    return _Query(words, " AND ".join(run_match(w) for w in longer), [w for w in words if len(w) == 1])


def _fts_hits(where: str) -> str:
    return (
        f"SELECT a.id, a.duplicate_of, bm25(articles_fts, {TITLE_WEIGHT}, 1.0) AS rank FROM articles_fts"
        f" JOIN articles a ON a.id = articles_fts.rowid WHERE articles_fts MATCH ?{where}"
        " ORDER BY articles_fts.rowid DESC LIMIT ?"
    )


class SearchPart(StoreCore):
    def search(
        self,
        query: str,
        *,
        source: str | None = None,
        account: str | None = None,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
        limit: int = 20,
        mark: tuple[str, str] = MARK,
    ) -> SearchHits:
        """Articles whose visible title or body contains every word of ``query`` (words are split on
        spaces and punctuation; each matches as a substring, any length, case-folded).

        ``account`` matches a part of the account's name. Ranked by bm25 (a title match counts
        ``TITLE_WEIGHT`` times) over the ``CANDIDATES`` newest matches; each story appears once (its
        earliest matching copy). Each hit's snippet is one line of plain text showing every word,
        matches between ``mark``."""
        parsed = _parse(query)
        out = SearchHits()
        if parsed is None:
            return out
        where, params = filters(
            "a", fts_first=True, source=source, account=account, account_part=True, since=since, until=until
        )
        # a 1-character word is a prefix query over every bigram it starts, which FTS5 merges in full
        # first (about 230 ms for a common character at 100,000 articles): next to longer words it is
        # checked with instr() on their hits instead (on the Markdown's first MARKDOWN_CHARS)
        text = f"lower(a.title) || ' ' || lower(substr(a.body, 1, {MARKDOWN_CHARS}))"
        singles = "".join(f" AND instr({text}, ?) > 0" for _ in parsed.singles)
        hit_params: list[object]
        if parsed.match:
            hits = _fts_hits(singles + where)
            hit_params = [parsed.match, *parsed.singles, *params, CANDIDATES]
        else:
            hits = _fts_hits(where)
            hit_params = [" AND ".join(run_match(w) for w in parsed.singles), *params, CANDIDATES]
        sql = (
            f"WITH hits AS ({hits}),"
            " firsts AS (SELECT id, rank, row_number() OVER"
            " (PARTITION BY coalesce(duplicate_of, id) ORDER BY id) AS n FROM hits),"
            " stories AS (SELECT id, rank, count(*) OVER () AS total FROM firsts WHERE n = 1)"
            " SELECT id, rank, total, (SELECT count(*) FROM hits) AS articles FROM stories"
            " ORDER BY rank, id LIMIT ?"
        )
        try:
            found = self._conn.execute(sql, [*hit_params, limit]).fetchall()
        except sqlite3.OperationalError as exc:
            # quoting keeps user text out of the query syntax; anything left is worth naming
            raise StorageError(f"search {query!r} failed: {exc}", url=self.path) from exc
        for article_id, rank, total, articles in found:
            out.total, out.more = int(total), int(articles) >= CANDIDATES
            row = self._conn.execute(f"SELECT {ROW_COLUMNS} FROM articles WHERE id = ?", (article_id,)).fetchone()
            stored = stored_from(row)
            snippet = make_snippet(stored.article.title, stored.article.body, parsed.words, mark=mark)
            out.append(SearchHit(stored, snippet, float(rank)))
        return out
