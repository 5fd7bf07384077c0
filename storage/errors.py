"""Errors raised by the storage layer; the whole tree is drawn in :mod:`parsers.errors`."""

from __future__ import annotations

import sqlite3

from parsers.errors import JianbaoError


class StorageError(JianbaoError):
    """The database cannot be used (``url`` holds its path)."""


class NoArticle(StorageError):
    """No article with that id or URL."""


class StoreUnwritable(StorageError):
    """A write the database cannot take; nothing of it was kept (its transaction rolled back)."""


class StoreReadOnly(StoreUnwritable):
    """The database file, its folder or its file system is read-only."""


class StoreFull(StoreUnwritable):
    """The disk (or the file system's quota) is full."""


# SQLite primary result codes (the low byte of an extended code)
_READONLY, _FULL = 8, 13


def unwritable(exc: sqlite3.Error, path: str) -> StoreUnwritable | None:
    """The typed error for a write SQLite refused because of where the file lives, else None."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    if code & 0xFF == _READONLY:
        return StoreReadOnly("the database is read-only (the file, its folder or the file system)", url=path)
    if code & 0xFF == _FULL:
        return StoreFull("the disk is full: nothing of this write was kept", url=path)
    return None
