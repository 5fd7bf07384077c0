"""Every error jianbao raises, in one tree.

    JianbaoError                      base; carries ``url`` (or input name) and ``reason``
    ├── NotAnArticle                  parsers: a status page or listing, ``reason`` in NOT_ARTICLE_REASONS
    ├── ParseError                    parsers: input that cannot be read at all (binary, empty, broken)
    ├── InvalidURL                    not http(s) with a host (also a ValueError)
    ├── FetchError                    ingest: the fetch did not yield a page; ``status`` when one was answered
    │   ├── TransientFetchError       retried by the fetcher: timeouts, resets, truncation, 429, 5xx, 567
    │   │   └── DeadlineExceeded      no complete answer within ``http.max_time`` (a trickle): not retried
    │   ├── PermanentFetchError       never retried: 404, 410, deleted redirects (``babygohome``)
    │   ├── TooLarge                  the body passed ``max_bytes`` while streaming
    │   └── Blocked                   verification / rate-limit page: host cools down, URL stays pending
    ├── ConfigError                   ingest: config.toml unreadable, unknown key or bad value (``key``)
    ├── CrawlLocked                   ingest: another crawl holds the database lock (``pid``)
    ├── WeReadError                   parsers/weread: WeRead answered an ``errCode`` (``code``)
    │   ├── WeReadLoginExpired        -2012/-2010 and no renewal: the user must log in again
    │   └── WeReadRiskControl         -2041: ask WeRead nothing more for a while
    ├── SessionError                  ingest/weread: the WeRead session file or variable is unusable
    └── StorageError                  storage: the database cannot be used (``path``)
        └── NoArticle                 storage: no article with that id or URL

``NotAnArticle``, ``ParseError`` and the base live here because parsers are the lowest layer; the
others subclass ``JianbaoError`` in the layer that raises them, so ``except JianbaoError`` catches all.
"""

from __future__ import annotations

NOT_ARTICLE_REASONS = (
    "deleted",  # removed by its author
    "removed",  # removed by the platform for a violation
    "unavailable",  # temporarily unavailable, account migrated, private
    "verification",  # anti-crawl captcha / "访问过于频繁"
    "expired",  # link expired
    "not-article",  # album, list, empty share card: nothing to keep
)


class JianbaoError(Exception):
    """Base of every jianbao error: ``str(err)`` is a one-line message naming the input."""

    def __init__(self, reason: str, *, url: str | None = None) -> None:
        self.reason = reason
        self.url = url
        super().__init__(f"{url}: {reason}" if url else reason)


class NotAnArticle(JianbaoError):
    """The page is a real page but holds no article to keep (``reason`` says which kind)."""

    def __init__(self, reason: str, *, url: str | None = None, detail: str = "") -> None:
        if reason not in NOT_ARTICLE_REASONS:
            raise ValueError(f"unknown NotAnArticle reason {reason!r}")
        self.detail = detail
        super().__init__(reason, url=url)

    def __str__(self) -> str:
        where = f"{self.url}: " if self.url else ""
        more = f" ({self.detail})" if self.detail else ""
        return f"{where}not an article: {self.reason}{more}"


class ParseError(JianbaoError):
    """The input cannot be read as a page at all (binary, empty, undecodable)."""


class InvalidURL(JianbaoError, ValueError):
    """Not an http(s) URL with a host."""
