"""Errors raised by the I/O layer; the whole tree is drawn in :mod:`parsers.errors`."""

from __future__ import annotations

from parsers.errors import InvalidURL, JianbaoError

__all__ = [
    "Blocked",
    "ConfigError",
    "CrawlLocked",
    "DeadlineExceeded",
    "FetchError",
    "InvalidURL",
    "PermanentFetchError",
    "TooLarge",
    "TransientFetchError",
]


class FetchError(JianbaoError):
    """The fetch did not yield a page. ``status`` is the HTTP status when the server answered."""

    def __init__(self, reason: str, *, url: str | None = None, status: int | None = None) -> None:
        self.status = status
        super().__init__(reason, url=url)


class TransientFetchError(FetchError):
    """Worth retrying: timeouts, resets, truncated bodies, 429, 5xx, qq's 567."""

    def __init__(
        self,
        reason: str,
        *,
        url: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(reason, url=url, status=status)


class DeadlineExceeded(TransientFetchError):
    """No complete answer within ``http.max_time``: a server trickling bytes. Not retried: it would trickle again."""


class PermanentFetchError(FetchError):
    """Never retried: 404, 410, a deleted-article redirect."""


class TooLarge(FetchError):
    """The body passed the configured ``max_bytes`` while streaming."""


class Blocked(FetchError):
    """The host answered with a verification or rate-limit page; it cools down and the URL stays pending."""


class ConfigError(JianbaoError):
    """config.toml cannot be used; ``key`` names the offending key when there is one."""

    def __init__(self, reason: str, *, path: str | None = None, key: str | None = None) -> None:
        self.key = key
        super().__init__(reason, url=path)


class CrawlLocked(JianbaoError):
    """Another crawl holds the database lock."""

    def __init__(self, reason: str, *, path: str | None = None, pid: int | None = None) -> None:
        self.pid = pid
        super().__init__(reason, url=path)
