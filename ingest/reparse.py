"""Rebuild articles from the archived raw pages: parsers only, never the network.

Each page is its own unit, as each input of an import is: an unforeseen error while one page is parsed
or saved is that page's line in the report (its save rolled back), and the rest are still re-parsed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields

from ingest.pipeline import settle_date
from parsers import parse
from parsers.article import Article
from parsers.errors import JianbaoError
from parsers.feedentry import is_archived_entry, parse_archived_entry
from storage import ArchivedPage, Store
from storage.errors import NoArticle


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    url: str
    fields: tuple[str, ...]
    warning: str = ""  # e.g. an implausible date that was dropped


@dataclass
class ReparseReport:
    pages: int = 0
    unchanged: int = 0
    new: int = 0
    changes: list[Change] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    # the unforeseen errors among ``errors``, by page URL: their tracebacks are for ``-v``
    unexpected: dict[str, BaseException] = field(default_factory=dict)


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
    pages = store.pages(urls=urls, source=source)
    while True:
        try:
            page = next(pages)
        except StopIteration:
            break
        except Exception as exc:  # the archive itself failed to yield a page: nothing after it can be read
            report.errors.append(("(archive)", f"cannot read the archive: {type(exc).__name__}: {exc}"))
            report.unexpected["(archive)"] = exc
            break
        report.pages += 1
        try:
            _reparse_one(store, page, report, dry_run=dry_run)
        except JianbaoError as exc:
            report.errors.append((page.url, exc.reason))
        except Exception as exc:  # one page's surprise is that page's failure alone
            report.errors.append((page.url, f"unexpected {type(exc).__name__}: {exc}"))
            report.unexpected[page.url] = exc
    return report


def _reparse_one(store: Store, page: ArchivedPage, report: ReparseReport, *, dry_run: bool) -> None:
    if is_archived_entry(page.headers):
        # stored from a feed's own text (use_content): the entry is read again, not a page
        parsed = parse_archived_entry(page.content, page.final_url, page.headers)
    else:
        content_type = {k.lower(): v for k, v in page.headers.items()}.get("content-type")
        parsed = parse(page.content, page.final_url, content_type=content_type)
    # the rule import applies, judged at the time the page was fetched
    article, warning = settle_date(parsed, now=page.fetched_at)
    try:
        old = store.get_article(article.key)
    except NoArticle:
        old = None
    if old is not None and old.article == article:
        report.unchanged += 1
        return
    saved_id = old.id if old else 0
    if not dry_run:
        saved_id = store.save_article(article, aliases=[page.url, page.final_url]).id
    if old is None:
        report.new += 1
    what = changed_fields(old.article, article) if old else ("new",)
    report.changes.append(Change(saved_id, article.url, what, warning))
