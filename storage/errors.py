"""Errors raised by the storage layer; the whole tree is drawn in :mod:`parsers.errors`."""

from __future__ import annotations

from parsers.errors import JianbaoError


class StorageError(JianbaoError):
    """The database cannot be used (``url`` holds its path)."""


class NoArticle(StorageError):
    """No article with that id or URL."""
