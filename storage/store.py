"""The SQLite store: one :class:`Store` over the parts that each do one job.

- :mod:`storage.core`: the connection, migrations on open, transactions;
- :mod:`storage.articles`: articles and their URLs (with :mod:`storage.duplicates` and the search rows
  of :mod:`storage.index`);
- :mod:`storage.search`: queries;
- :mod:`storage.pages`: the raw page archive;
- :mod:`storage.logs`: fetch attempts, crawls, host cool-downs (more host state: :mod:`storage.hoststate`).

The schema is drawn in :mod:`storage.schema`.
"""

from __future__ import annotations

import json

from storage.articles import ArticlesPart
from storage.logs import LogsPart
from storage.pages import PagesPart
from storage.records import (
    FETCH_OUTCOMES,
    UNKNOWN_TIME,
    ArchivedPage,
    CrawlRecord,
    Deleted,
    FetchRecord,
    Saved,
    SearchHit,
    Stats,
    StoredArticle,
    fetch_from,
    parse_time,
)
from storage.search import SearchPart

__all__ = [
    "FETCH_OUTCOMES",
    "ArchivedPage",
    "CrawlRecord",
    "Deleted",
    "FetchRecord",
    "Saved",
    "SearchHit",
    "Stats",
    "Store",
    "StoredArticle",
]


class Store(ArticlesPart, SearchPart, PagesPart, LogsPart):
    """One jianbao database. ``Store(path)`` creates the file and brings its schema up to date."""

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
            started = parse_time(r["started"]) or UNKNOWN_TIME
            finished = parse_time(r["finished"]) or UNKNOWN_TIME
            crawls[r["source"]] = CrawlRecord(
                r["source"], started, finished, json.loads(r["counts"]), bool(r["ok"]), r["error"]
            )
        failures = [
            fetch_from(r)
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
