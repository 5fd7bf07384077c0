"""The logs: every fetch attempt, every crawl of a source, and the host cool-downs of the only exit.

Host state per exit and the daily counters live in :mod:`storage.hoststate`; the methods here are the
Store's face for what the crawl and import log as they go.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime

from storage import hoststate
from storage.core import StoreCore
from storage.records import FETCH_OUTCOMES, FetchRecord, canonical_or_none, fetch_from, iso
from storage.schema import dumps

GONE_REASONS = ("deleted", "removed")  # a URL whose last fetch said this is never worth fetching again
CHUNK = 5000  # URLs per seen_urls query (one JSON parameter each)


class LogsPart(StoreCore):
    def seen_urls(self, urls: Iterable[str]) -> set[str]:
        """Those of ``urls`` not worth fetching: stored (as URL or alias, also after canonicalising) or
        whose last fetch found the article deleted or removed."""
        by_form: dict[str, set[str]] = {}
        for url in urls:
            by_form.setdefault(url, set()).add(url)
            canonical = canonical_or_none(url)
            if canonical and canonical != url:
                by_form.setdefault(canonical, set()).add(url)
        forms = list(by_form)
        seen: set[str] = set()
        sql = (
            "SELECT q.value FROM json_each(?) q WHERE"
            " EXISTS (SELECT 1 FROM article_urls u WHERE u.url = q.value)"
            " OR (SELECT f.outcome = 'not-article' AND f.reason IN (?, ?)"
            "     FROM fetches f WHERE f.url = q.value ORDER BY f.id DESC LIMIT 1)"
        )
        for start in range(0, len(forms), CHUNK):
            chunk = forms[start : start + CHUNK]
            for (form,) in self._conn.execute(sql, (json.dumps(chunk), *GONE_REASONS)):
                seen |= by_form[form]
        return seen

    def save_fetch(
        self,
        url: str,
        outcome: str,
        *,
        reason: str | None = None,
        status: int | None = None,
        error: str | None = None,
        article_id: int | None = None,
        source: str | None = None,
        exit: str | None = None,
    ) -> None:
        """Log one fetch attempt; ``outcome`` is one of :data:`FETCH_OUTCOMES`; ``exit`` the way out it took."""
        if outcome not in FETCH_OUTCOMES:
            raise ValueError(f"unknown fetch outcome {outcome!r}")
        with self.transaction():
            self._conn.execute(
                "INSERT INTO fetches (url, at, outcome, reason, status, error, article_id, source, exit)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (url, self._now(), outcome, reason, status, error, article_id, source, exit or None),
            )

    def fetches(self, url: str) -> list[FetchRecord]:
        """Every logged attempt for ``url`` (as given or in its canonical form), oldest first."""
        forms = list(dict.fromkeys(u for u in (url, canonical_or_none(url)) if u))
        rows = self._conn.execute(
            "SELECT * FROM fetches WHERE url IN (SELECT value FROM json_each(?)) ORDER BY id", (json.dumps(forms),)
        )
        return [fetch_from(r) for r in rows]

    # -- crawls and hosts -----------------------------------------------------------------------------

    def save_crawl(
        self,
        source: str,
        *,
        started: datetime,
        finished: datetime,
        counts: Mapping[str, int],
        ok: bool,
        error: str | None = None,
    ) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO crawls (source, started, finished, counts, ok, error) VALUES (?, ?, ?, ?, ?, ?)",
                (source, iso(started), iso(finished), dumps(dict(counts)), int(ok), error),
            )

    def host_cooldown(self, host: str) -> tuple[datetime | None, int]:
        """(paused until, strikes) for ``host`` through the only exit; (None, 0) when it never cooled down."""
        state = hoststate.load_host_state(self, host)
        return state.until, state.strikes

    def save_host_cooldown(self, host: str, *, until: datetime | None, strikes: int) -> None:
        """Pause ``host`` until ``until``; None lifts the pause (the strikes are kept as given)."""
        hoststate.save_host_state(self, host, until=until, strikes=strikes)
