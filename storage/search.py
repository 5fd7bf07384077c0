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
from storage.text import MARKDOWN_CHARS, long_match, make_snippet, query_runs, short_match

# newest matches ranked: a word in a third of 100,000 articles took 100–270 ms to rank in full; the
# newest 5,000 keep a common word near the cost of a rare one (FTS5 yields rowids newest first)
CANDIDATES = 5000
# a query of 1–2 character words only is ranked by counting them in each candidate's text (the short
# table keeps no positions for bm25), which costs per candidate: fewer of them
SHORT_CANDIDATES = 2000
MARK = ("[", "]")
TITLE_WEIGHT = 5.0  # a match in the title weighs this many matches in the body
# what a short word is looked for in when it sits beside a longer one (see SearchPart.search)
_TEXT = f"lower(a.title) || ' ' || lower(substr(a.body, 1, {MARKDOWN_CHARS}))"


class SearchHits(list[SearchHit]):
    """The hits (best first) and how many stories matched: ``total`` counts the stories among the
    newest matching articles ranked (``CANDIDATES``, or ``SHORT_CANDIDATES`` for a query of 1–2
    character words only); ``more`` says there may be others beyond those."""

    total: int = 0
    more: bool = False


@dataclass(frozen=True, slots=True)
class _Query:
    words: list[str]  # query_runs: folded runs of letters and digits
    long: list[str]  # words of 3+ characters: the trigram table
    short: list[str]  # words of 1–2 characters: the bigram table, or checked on the long words' hits


def _parse(query: str) -> _Query | None:
    words = query_runs(query)
    if not words:
        return None
    return _Query(words, [w for w in words if len(w) > 2], [w for w in words if len(w) <= 2])


def _long_hits(query: _Query, where: str, params: list[object]) -> tuple[str, list[object]]:
    # a short word beside longer ones is checked with instr() on their hits: intersecting with every
    # row a common character has in the bigram table costs more than the check
    shorts = "".join(f" AND instr({_TEXT}, ?) > 0" for _ in query.short)
    sql = (
        f"SELECT a.id, a.duplicate_of, bm25(articles_fts, {TITLE_WEIGHT}, 1.0) AS rank FROM articles_fts"
        f" JOIN articles a ON a.id = articles_fts.rowid WHERE articles_fts MATCH ?{shorts}{where}"
        " ORDER BY articles_fts.rowid DESC LIMIT ?"
    )
    return sql, [" AND ".join(long_match(w) for w in query.long), *query.short, *params, CANDIDATES]


def _short_hits(query: _Query, where: str, params: list[object]) -> tuple[str, list[object]]:
    # ranked by storage.text.short_word_score, registered on the connection by StoreCore
    score = " + ".join("jianbao_short_score(a.title, a.body, ?)" for _ in query.short)
    sql = (
        f"SELECT a.id, a.duplicate_of, -({score}) AS rank FROM articles a"
        " WHERE a.id IN (SELECT g.rowid FROM articles_grams g JOIN articles a ON a.id = g.rowid"
        f" WHERE articles_grams MATCH ?{where} ORDER BY g.rowid DESC LIMIT ?)"
    )
    return sql, [*query.short, " AND ".join(short_match(w) for w in query.short), *params, SHORT_CANDIDATES]


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

        ``account`` matches a part of the account's name. With a word of 3+ characters, ranked by
        bm25 (a title match counts ``TITLE_WEIGHT`` times) over the ``CANDIDATES`` newest matches;
        with 1–2 character words only, by how often they occur over the ``SHORT_CANDIDATES`` newest.
        Each story appears once (its earliest matching copy). Each hit's snippet is one line of
        plain text showing every word, matches between ``mark``."""
        parsed = _parse(query)
        out = SearchHits()
        if parsed is None:
            return out
        where, params = filters(
            "a", fts_first=True, source=source, account=account, account_part=True, since=since, until=until
        )
        hits, hit_params = (_long_hits if parsed.long else _short_hits)(parsed, where, list(params))
        cap = CANDIDATES if parsed.long else SHORT_CANDIDATES
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
            out.total, out.more = int(total), int(articles) >= cap
            row = self._conn.execute(f"SELECT {ROW_COLUMNS} FROM articles WHERE id = ?", (article_id,)).fetchone()
            stored = stored_from(row)
            snippet = make_snippet(stored.article.title, stored.article.body, parsed.words, mark=mark)
            out.append(SearchHit(stored, snippet, float(rank)))
        return out
