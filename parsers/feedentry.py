"""A feed entry that carries the whole article, read as an :class:`Article` without its page.

wewe-rss, RSSHub and we-mp-rss serve the article's HTML in the feed itself (``content:encoded``, Atom
``content``, JSON Feed ``content_html``); a ``feed`` source with ``use_content = true`` stores that
instead of fetching WeChat (see :func:`parsers.listings.looks_full` for what counts as the whole
article). The entry's HTML goes through the converter every parser uses, so images come from
``data-src`` before ``src`` and a placeholder (a ``data:`` URI, a 1x1 file) never becomes an image.

The crawl archives the entry as the raw page: its HTML as the content, the rest of the entry in two
headers (:func:`archive_headers`), so ``jianbao reparse`` rebuilds the same Article from the archive
alone (:func:`parse_archived_entry`). Pure like every parser: no I/O, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from parsers import DEFAULT_BUDGET, Budget
from parsers.article import Article
from parsers.decode import decode_html
from parsers.errors import NotAnArticle, ParseError
from parsers.listings import Entry
from parsers.markdown import html_to_markdown, normalize_text
from parsers.urls import canonical_url, site_of, url_ids

# the archived page of a feed entry: the feed it came from, and the entry's fields besides its HTML
FEED_HEADER = "x-jianbao-feed"
ENTRY_HEADER = "x-jianbao-feed-entry"
CONTENT_TYPE = "text/html; charset=utf-8"
TITLE_FROM_BODY = 60  # characters of the first line that stand in for a missing title


def parse_feed_entry(entry: Entry, *, budget: Budget = DEFAULT_BUDGET) -> Article:
    """The Article an entry's own content holds.

    ``entry.url`` is the article's address (canonical or not); the content's relative links and
    images are resolved against it. Raises NotAnArticle (``not-article``) when the content holds no
    text or image, ParseError past the parse budget or for no content at all, InvalidURL for an
    address that is not http(s).
    """
    url = canonical_url(entry.url)
    if not entry.content or not entry.content.strip():
        raise ParseError("feed entry without content", url=url)
    budget.check(entry.content, url)  # the feed was never counted as a page
    rendered = html_to_markdown(entry.content, base_url=url)
    body = rendered.markdown
    if not body:
        raise NotAnArticle("not-article", url=url, detail="the feed entry's content has no text")
    site = site_of(url)
    title = normalize_text(entry.title or "") or _first_line(body)
    account = normalize_text(entry.feed_title or "") or None
    author = normalize_text(entry.author or "") or None
    return Article(
        url=url,
        source=site,
        kind="article",
        title=title,
        published=entry.published,
        # a feed per account names the account as its author too: that is no byline
        author=author if author != account else None,
        account=account,
        summary=normalize_text(entry.summary or ""),
        images=rendered.images,
        body=body,
        **url_ids(url),  # canonical_url already wrote a WeChat link in its long form from these ids
    )


def _first_line(body: str) -> str:
    """A title for an entry without one: the first line of text (images are no title)."""
    for line in body.split("\n"):
        line = normalize_text(line.lstrip("#>*- "))
        if line and not line.startswith("!["):
            return line[:TITLE_FROM_BODY]
    return ""


# --- the archive ---------------------------------------------------------------------------------


def archive_headers(entry: Entry, feed_url: str) -> dict[str, str]:
    """The headers an entry's archived page carries: what :func:`parse_archived_entry` reads back."""
    fields: dict[str, Any] = {
        "url": entry.url,
        "title": entry.title,
        "published": entry.published.isoformat() if entry.published else None,
        "summary": entry.summary,
        "author": entry.author,
        "feed_title": entry.feed_title,
    }
    return {
        "content-type": CONTENT_TYPE,
        FEED_HEADER: feed_url,
        ENTRY_HEADER: json.dumps({k: v for k, v in fields.items() if v is not None}, ensure_ascii=False),
    }


def is_archived_entry(headers: Mapping[str, str]) -> bool:
    """Whether an archived page is a feed entry's (archived by :func:`archive_headers`)."""
    return any(k.lower() == FEED_HEADER for k in headers)


def parse_archived_entry(
    content: bytes | str, url: str, headers: Mapping[str, str], *, budget: Budget = DEFAULT_BUDGET
) -> Article:
    """:func:`parse_feed_entry` on a feed entry's archived page (``url`` is the page's address)."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        fields = json.loads(lower.get(ENTRY_HEADER) or "{}")
        if not isinstance(fields, dict):
            raise ValueError("not an object")
        published = datetime.fromisoformat(fields["published"]) if fields.get("published") else None
    except (ValueError, TypeError) as exc:
        raise ParseError(f"archived feed entry with unreadable {ENTRY_HEADER} header ({exc})", url=url) from exc

    def text(key: str) -> str | None:
        value = fields.get(key)
        return value if isinstance(value, str) else None

    html = (
        decode_html(content, content_type=lower.get("content-type"), name=url)
        if isinstance(content, bytes)
        else content
    )
    entry = Entry(
        url=text("url") or url,
        title=text("title"),
        published=published if published is None or published.tzinfo else None,
        content=html,
        content_is_full=True,
        summary=text("summary"),
        author=text("author"),
        feed_title=text("feed_title"),
    )
    return parse_feed_entry(entry, budget=budget)
