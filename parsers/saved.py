"""Saved pages and clippings: a file's bytes -> the Article it holds and the address it came from.

The one reader of local files for both ``jianbao import FILE`` and ``jianbao parse FILE``, so the two
never disagree about what a file is. Pure: the caller reads the file.
"""

from __future__ import annotations

from dataclasses import dataclass

from parsers import parse, parse_markdown
from parsers.article import Article
from parsers.decode import decode_html, looks_binary
from parsers.errors import NotAnArticle, ParseError
from parsers.origin import PLACEHOLDER_URLS, find_origin_url, guess_site_url
from parsers.urls import canonical_url

NO_ADDRESS = "the page does not say which URL it was saved from: give it with --url URL, or as FILE=URL"
HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".mhtml")
MARKDOWN_SUFFIXES = (".md", ".markdown")


@dataclass(frozen=True, slots=True)
class Saved:
    """What a file holds: the article, and for a saved page the canonical URL it was saved from."""

    article: Article
    origin: str | None = None  # None for a clipping: its URL is the article's own


def parse_saved(data: bytes, name: str, *, suffix: str = "", url: str | None = None) -> Saved:
    """Read a saved ``.html`` page or a Markdown clipping (by ``suffix``, else by content).

    ``url`` overrides the address the page records. Raises ParseError for a file that is neither,
    or a page whose address cannot be told; NotAnArticle for status pages.
    """
    if not data[:4096].strip() and not data.strip():
        raise ParseError("empty file", url=name)
    if looks_binary(data):
        raise ParseError("binary data, not HTML or Markdown", url=name)
    text = decode_html(data, name=name)
    is_markdown = suffix in MARKDOWN_SUFFIXES or (suffix not in HTML_SUFFIXES and text[:200].lstrip().startswith("---"))
    if is_markdown:
        return Saved(parse_markdown(text, name))
    if suffix not in HTML_SUFFIXES and "<" not in text[:2000]:
        raise ParseError("neither HTML nor Markdown", url=name)
    origin = canonical_url(url) if url else find_origin_url(text)
    if origin:
        return Saved(parse(data, origin), origin)
    # with no recorded address the page's own ids can still identify it; a stand-in URL can not
    stand_in = guess_site_url(text)
    try:
        article = parse(data, stand_in)
    except NotAnArticle as exc:
        if exc.reason == "not-article" and stand_in == PLACEHOLDER_URLS["web"]:
            raise ParseError(NO_ADDRESS, url=name) from exc  # what is missing is the address, not an article
        raise
    if article.key == article.url or article.url in PLACEHOLDER_URLS.values():
        raise ParseError(NO_ADDRESS, url=name)
    return Saved(article, article.url)
