"""Search: every word of a query as a substring of the title or body, ranked, each story once."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from typing import Any

from storage.core import StoreCore
from storage.errors import StorageError
from storage.records import ROW_COLUMNS, SearchHit, filters, stored_from
from storage.text import fts_phrase, make_snippet, short_term

SNIPPET_TOKENS = 24
SHORT_CANDIDATES = 2000  # newest matches ranked for a query of 1–2 character words only
LONG_CANDIDATES = 5000  # newest matches ranked by bm25 for a query with a word of 3+ characters
MARK = ("[", "]")


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
        where, params = filters("a", fts_first=True, source=source, account=account, since=since, until=until)
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
            row = self._conn.execute(f"SELECT {ROW_COLUMNS} FROM articles WHERE id = ?", (article_id,)).fetchone()
            stored = stored_from(row)
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
