"""SQLite storage: articles, their URLs, full-text search, duplicates, the raw page archive and logs.

Knows SQLite (through sqlite-utils) and :class:`parsers.article.Article`, nothing about HTTP. The schema
is documented in :mod:`storage.schema`.
"""

from storage.errors import NoArticle, StorageError, StoreFull, StoreReadOnly, StoreUnwritable
from storage.schema import SCHEMA_VERSION
from storage.search import SearchHits
from storage.store import (
    FETCH_OUTCOMES,
    ArchivedPage,
    CrawlRecord,
    Deleted,
    FetchRecord,
    Saved,
    SearchHit,
    Stats,
    Store,
    StoredArticle,
)

__all__ = [
    "FETCH_OUTCOMES",
    "SCHEMA_VERSION",
    "ArchivedPage",
    "CrawlRecord",
    "Deleted",
    "FetchRecord",
    "NoArticle",
    "Saved",
    "SearchHit",
    "SearchHits",
    "Stats",
    "StorageError",
    "Store",
    "StoreFull",
    "StoreReadOnly",
    "StoreUnwritable",
    "StoredArticle",
]
