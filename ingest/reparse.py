"""Rebuild articles from the archived raw pages: parsers only, never the network."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields

from parsers import parse
from parsers.article import Article
from parsers.errors import JianbaoError
from storage import Store
from storage.errors import NoArticle


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    url: str
    fields: tuple[str, ...]


@dataclass
class ReparseReport:
    pages: int = 0
    unchanged: int = 0
    new: int = 0
    changes: list[Change] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def changed_fields(old: Article, new: Article) -> tuple[str, ...]:
    return tuple(f.name for f in fields(Article) if getattr(old, f.name) != getattr(new, f.name))


def reparse_pages(
    store: Store,
    *,
    source: str | None = None,
    urls: Iterable[str] | None = None,
    dry_run: bool = False,
) -> ReparseReport:
    """Parse every archived page again and save what differs; an unchanged parser writes nothing."""
    report = ReparseReport()
    for page in store.pages(urls=urls, source=source):
        report.pages += 1
        content_type = {k.lower(): v for k, v in page.headers.items()}.get("content-type")
        try:
            article = parse(page.content, page.final_url, content_type=content_type)
        except JianbaoError as exc:
            report.errors.append((page.url, exc.reason))
            continue
        try:
            old = store.get_article(article.key)
        except NoArticle:
            old = None
        if old is not None and old.article == article:
            report.unchanged += 1
            continue
        saved_id = old.id if old else 0
        if not dry_run:
            saved_id = store.save_article(article, aliases=[page.url, page.final_url]).id
        if old is None:
            report.new += 1
        report.changes.append(Change(saved_id, article.url, changed_fields(old.article, article) if old else ("new",)))
    return report
