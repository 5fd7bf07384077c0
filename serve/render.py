"""Stored Markdown to HTML (raw HTML disabled, images through the proxy) and to plain text.

markdown-it-py with ``html`` off: any markup a page smuggled into its Markdown comes out as text, and
links with ``javascript:``/``data:`` targets are not made links (markdown-it's ``validateLink``).
Rendering costs milliseconds per article in pure Python, so results are kept in a bounded LRU keyed
by the article's content hash: a feed polled every few minutes renders each article once.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

RENDER_CACHE = 2000  # articles' HTML kept in memory (a few KB each)
SUMMARY_CHARS = 140
_SPACES = re.compile(r"\s+")

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


class LRU:
    """A small thread-safe least-recently-used map of at most ``size`` entries and, for str/bytes
    values, at most ``max_chars`` characters or bytes in all (memory stays bounded whatever is asked)."""

    def __init__(self, size: int, *, max_chars: int | None = None) -> None:
        self._size = size
        self._max_chars = max_chars
        self._chars = 0
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._chars -= _weight(old)
            if self._max_chars is not None and _weight(value) > self._max_chars:
                return
            self._items[key] = value
            self._chars += _weight(value)
            while len(self._items) > self._size or (self._max_chars is not None and self._chars > self._max_chars):
                _, dropped = self._items.popitem(last=False)
                self._chars -= _weight(dropped)


def _weight(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes) else 0


_text_cache = LRU(RENDER_CACHE)


_BODY_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^\s)>]+)")


def image_sources(markdown: str, known: Sequence[str]) -> dict[str, str]:
    """Each image URL as markdown-it will hand it over (percent-encoded where it encodes) -> the URL
    as stored, so the proxy signs and fetches the stored form."""
    urls = [*known, *_BODY_IMAGE.findall(markdown)]
    return {str(_md.normalizeLink(u)): u for u in urls}


def _rewrite_images(tokens: Sequence[Token], image_src: Callable[[str], str]) -> None:
    for token in tokens:
        if token.type == "image":
            src = str(token.attrGet("src") or "")
            token.attrSet("src", image_src(src))
            token.attrSet("referrerpolicy", "no-referrer")
        if token.children:
            _rewrite_images(token.children, image_src)


def render_html(markdown: str, *, image_src: Callable[[str], str], cache: LRU | None = None, key: Any = None) -> str:
    """HTML for a stored body; ``image_src`` maps each image URL (to the proxy). ``key`` names the result
    in ``cache``: it must change whenever the body or the mapping does (content hash + base URL); the
    cache belongs to one app, whose signing secret the mapping also depends on."""
    if cache is not None and key is not None:
        cached = cache.get(key)
        if cached is not None:
            return str(cached)
    tokens = _md.parse(markdown)
    _rewrite_images(tokens, image_src)
    for token in tokens:
        if token.children:
            for child in token.children:
                if child.type == "link_open":
                    child.attrSet("rel", "noopener noreferrer")
    html = str(_md.renderer.render(tokens, _md.options, {}))
    if cache is not None and key is not None:
        cache.put(key, html)
    return html


def _collect(tokens: Sequence[Token], out: list[str]) -> None:
    for token in tokens:
        if token.type in ("text", "code_inline"):
            out.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif token.type == "code_block" or token.type == "fence":
            out.append(" " + token.content + " ")
        elif token.type.endswith("_close") and token.block:
            out.append(" ")
        if token.children:
            _collect(token.children, out)


def plain_text(markdown: str, *, key: Any = None) -> str:
    """What a reader sees of the body, as one line: no markup, no image or link targets."""
    if key is not None:
        cached = _text_cache.get(key)
        if cached is not None:
            return str(cached)
    out: list[str] = []
    _collect(_md.parse(markdown), out)
    text = _SPACES.sub(" ", "".join(out)).strip()
    if key is not None:
        _text_cache.put(key, text)
    return text


def summary_line(summary: str, markdown: str, *, key: Any = None, chars: int = SUMMARY_CHARS) -> str:
    """The stored summary, else the start of the body's text, cut to ``chars`` characters."""
    # the first few hundred characters of Markdown are plenty for one line, and parsing is per character
    text = _SPACES.sub(" ", summary).strip() or plain_text(markdown[: chars * 4], key=key)
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"
