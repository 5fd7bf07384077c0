"""The one record that crosses every layer."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Any

# Asia/Shanghai has had no DST since 1991, so a fixed offset is exact for every page we meet and
# needs no tzdata on the machine.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

SOURCES = ("wechat", "qq", "web")
KINDS = ("article", "picture", "text", "share", "video")


@dataclass(frozen=True, slots=True, kw_only=True)
class Article:
    """A parsed article. ``url`` is canonical; ``body`` is Markdown; times are Asia/Shanghai."""

    url: str
    source: str
    kind: str
    title: str
    published: datetime | None = None
    author: str | None = None  # the person's byline
    account: str | None = None  # WeChat account or qq media name
    summary: str = ""
    cover: str | None = None
    images: tuple[str, ...] = ()
    body: str = ""
    tags: tuple[str, ...] = ()  # the source's own keywords (qq tags, a clipping's tags)
    # the source's own ids
    biz: str | None = None
    mid: str | None = None
    idx: str | None = None
    sn: str | None = None
    article_id: str | None = None  # qq.com article id
    # reprints and share cards
    original_account: str | None = None
    original_url: str | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown source {self.source!r}")
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        if self.published is not None and self.published.tzinfo is None:
            raise ValueError("published must be timezone-aware")

    @property
    def key(self) -> str:
        """The identity used for dedup: the page's own ids when it has them, else the canonical URL."""
        if self.source == "wechat" and self.biz and self.mid and self.idx:
            return f"wechat:{self.biz}:{self.mid}:{self.idx}"
        if self.source == "qq" and self.article_id:
            return f"qq:{self.article_id}"
        return self.url

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``published`` as ISO 8601 with its offset, ``images`` as a list."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """Inverse of :meth:`to_dict`; unknown keys are ignored so old rows still load."""
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        if isinstance(kwargs.get("published"), str):
            kwargs["published"] = datetime.fromisoformat(kwargs["published"])
        for name in ("images", "tags"):
            if kwargs.get(name) is not None:
                kwargs[name] = tuple(kwargs[name])
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class Page:
    """A page as fetched or read from the archive: ``url`` as asked for, ``final_url`` after redirects,
    lower-case ``headers`` keys, the raw ``content``; ``exit`` labels the way out it came through
    ('' when there is only one). Parsers read ``content`` and ``final_url``; storage archives the rest."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    content: bytes
    fetched_at: datetime
    exit: str = ""

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")
