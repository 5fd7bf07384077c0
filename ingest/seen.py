"""One answer to "is this URL worth fetching?" for a whole run (the role Scrapy's dupefilter plays).

A URL is *not* new when the store holds it (as an article's URL or alias), when it is settled (the
last fetch found it deleted or removed: asking again only annoys the host), or when something earlier
in this run listed it already. Discovery, the crawl and the import all ask this one object, and every
URL is made canonical exactly once, here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from parsers.errors import InvalidURL
from parsers.listings import Entry
from parsers.urls import canonical_url

# given canonical URLs, the subset the store already holds or has settled
StoreLookup = Callable[[set[str]], set[str]]
# told of each listed URL that cannot be fetched (malformed, not http), with why
OnUnusable = Callable[[str, str], None]


class SeenURLs:
    """What this run has listed, and the store's verdict on the rest."""

    def __init__(self, lookup: StoreLookup | None = None, *, on_unusable: OnUnusable | None = None) -> None:
        self._lookup = lookup
        self._listed: set[str] = set()
        self.on_unusable = on_unusable

    def __contains__(self, url: str) -> bool:
        return url in self._listed

    def fresh(self, entries: Iterable[Entry]) -> list[Entry]:
        """The entries new to this run and to the store, in listing order, with canonical URLs.

        Every entry offered is remembered as listed, so a URL that two pages (or two sources) name
        is handed out once; an entry whose URL is unusable is dropped here.
        """
        candidates: dict[str, Entry] = {}
        for entry in entries:
            try:
                url = canonical_url(entry.url)
            except InvalidURL as exc:
                if self.on_unusable is not None:
                    self.on_unusable(entry.url, exc.reason)
                continue
            if url in self._listed or url in candidates:
                continue
            candidates[url] = dataclasses.replace(entry, url=url)
        self._listed.update(candidates)
        if not candidates or self._lookup is None:
            return list(candidates.values())
        known = self._lookup(set(candidates))
        return [entry for url, entry in candidates.items() if url not in known]
