"""Markdown clippings (YAML front matter + Markdown body) to :class:`Article`.

Clippings come from browser extensions and static-site exports, so the body is already Markdown:
it is cleaned rather than converted. Converters that ignored ``data-src`` left 1x1 ``data:`` SVGs
where WeChat had not loaded an image yet; those are dropped here, with the blank lines around them.

The two text helpers here are shared with the page parsers: ``clean_markdown`` also tidies what
trafilatura writes (:mod:`parsers.web`), ``join_cjk_lines`` undoes pretty-printed Chinese HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import yaml

from parsers import MAX_ELEMENTS
from parsers.article import Article
from parsers.dates import parse_datetime
from parsers.errors import InvalidURL, ParseError
from parsers.markdown import clean_image_url, is_placeholder, normalize_text
from parsers.urls import canonical_url, site_of, url_ids

# --- data: front-matter keys, in order of preference ---------------------------------------------
TITLE_KEYS = ("title", "page-title", "page_title")
URL_KEYS = ("url", "source_url", "source-url", "original_url", "link", "source")
DATE_KEYS = ("date", "published", "pubdate", "publishDate", "created")
SUMMARY_KEYS = ("summary", "description", "excerpt", "abstract")
COVER_KEYS = ("thumbnail", "cover", "image", "featured_image")
AUTHOR_KEYS = ("author", "authors", "byline")
ACCOUNT_KEYS = ("account", "media", "site", "sitename", "publisher")

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(?P<yaml>.*?)^(?:---|\.\.\.)[ \t]*\r?$\n?", re.S | re.M)
# front matter is a flat table; anything nested deeper is not a clipping's
MAX_YAML_DEPTH = 20
MAX_FRONT_MATTER = 100_000  # characters; real front matter is a few hundred
_SURROGATE = re.compile("[\ud800-\udfff]")
# a line that opens a code fence (after any whitespace); fences are read line by line in _chunks
_FENCE = re.compile(r"^[^\S\n]*(`{3,}|~{3,})", re.M)
_CLOSING_FENCES: dict[str, re.Pattern[str]] = {}
_HEADING_1 = re.compile(r"^# (.*)", re.M)
# whitespace at a line's end (entered only at a run's start: linear on a 20 MB run of spaces)
_TRAILING_SPACE = re.compile(r"(?<![^\S\n])[^\S\n]++(?=\n|\Z)")
_BLANK_RUNS = re.compile(r"\n{3,}")
# an inline image; the target may hold spaces (data: SVGs do) but no parentheses unless in <…>
# (link texts exclude "[": a run of 40k "[" or 200k "![" then costs one pass, not one pass per bracket)
_IMAGE = re.compile(r"!\[(?P<alt>[^\[\]\n]*)\]\((?P<target>\s*<[^<>\n]*>[^()\n]*|[^()\n]*)\)")
# the clipper's "[qq](https://new.qq.com/rain/a/…)" back-link on the last line
_SOURCE_LINE = re.compile(r"^\s*\[[^\]\n]*\]\(\s*<?(?P<url>https?://[^)\s>]+)>?\s*\)\s*$")
# what _IMAGE cannot take apart: a data: target with parentheses inside, up to the last ")" of the run
_DATA_IMAGE = re.compile(r"!\[[^\[\]\n]*\]\(\s*data:(?:(?!!\[)[^\n])*?\)(?=\s|$)", re.I)
# a link whose target is script, not a page; one level of parentheses as in "javascript:void(0)",
# and the <…> CommonMark wrapping converters use for such targets
_SCRIPT_LINK = re.compile(
    r"(?<!!)\[(?P<text>[^\[\]\n]*)\]\(\s*<?\s*(?:javascript|vbscript|data):(?:[^()<>\n]|\([^()\n]*\))*>?\s*\)",
    re.I,
)
# raw HTML a clipper let through: whole elements whose content is never prose, then any other tag
# (these three are applied by find-based loops: an unterminated "<!--" or "<script>" repeated 50k
# times made a lazy ".*?" scan to the end of the text once per occurrence)
_HTML_BLOCK_OPEN = re.compile(r"<(script|style|iframe|noscript|template|object)\b", re.I)
_HTML_BLOCK_CLOSE = {
    name: re.compile(rf"</{name}\s*>", re.I) for name in ("script", "style", "iframe", "noscript", "template", "object")
}
_HTML_IMG = re.compile(r"<img\b", re.I)  # to the next ">", with the spaces and tabs around it (_html_imgs)
_BLANKS = re.compile(r"[ \t]*")
_HTML_ATTR = re.compile(r"""\b(data-src|data-original|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
CJK_CHARS = "\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
# a pretty-printer's line break between two Chinese characters, possibly with inline tags or
# comments between the break and the next character. The first character is captured, not looked
# behind at: a pattern that starts with a character class lets the regex engine skip ahead in C,
# which makes a 300 KB page 2.5 times quicker (this ran over every qq.com page before parsing)
_CJK_LINE_BREAK = re.compile(f"([{CJK_CHARS}])[ \t]*\r?\n[ \t\r\n]*(?=(?:<[^<>]*>)*[{CJK_CHARS}])")


def _keywords(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
    return [normalize_text(str(v)) for v in items if v is not None and normalize_text(str(v))]


def parse_markdown(text: str, path: str) -> Article:
    """A clipping as an Article; ``path`` only names the input in errors.

    Raises ParseError when the front matter is missing or not YAML, or when no source URL is found.
    """
    meta, body = _split_front_matter(text, path)
    # what a page's budget counts, counted alike: each image costs ~15 µs to check (770k took 12 s)
    elements = body.count("![") + body.count("<")
    if elements > MAX_ELEMENTS:
        raise ParseError(f"too-complex: {elements:,} images and tags over max_elements {MAX_ELEMENTS:,}", url=path)
    source_link = _trailing_source_link(body)

    raw_url = _first_str(meta, URL_KEYS)
    if raw_url is None and source_link is not None:
        raw_url = source_link[1]
    if raw_url is None:
        raise ParseError("no source URL in the front matter or at the end of the body", url=path)
    try:
        url = canonical_url(raw_url)
    except InvalidURL as err:
        raise ParseError(f"source URL {raw_url!r} is not http(s)", url=path) from err
    if source_link is not None and _same_article(source_link[1], url):
        body = _without_line(body, source_link[0])

    body, images = clean_markdown(body, base_url=url)
    site = site_of(url)
    cover = _first_str(meta, COVER_KEYS)
    author, account = _names(meta, AUTHOR_KEYS), _names(meta, ACCOUNT_KEYS)
    # an export writes source and account into tags; reading them back as keywords would double them
    not_keywords = {site, "qq", "wechat", "web", account or "", author or ""}
    tags = tuple(t for t in dict.fromkeys(_keywords(meta.get("tags"))) if t not in not_keywords)
    return Article(
        url=url,
        source=site,
        kind="article",
        title=_title(meta, body),
        published=_published(meta, path),
        author=author,
        account=account,
        summary=normalize_text(_first_str(meta, SUMMARY_KEYS) or ""),
        cover=clean_image_url(cover, url) if cover else None,
        images=images,
        body=body,
        tags=tags,
        **url_ids(url),
    )


def clean_markdown(text: str, *, base_url: str) -> tuple[str, tuple[str, ...]]:
    """Markdown without placeholder images, raw HTML or blank-line runs, plus its image URLs in order.

    Fenced code blocks are left exactly as written.
    """
    out: list[str] = []
    images: list[str] = []
    for chunk, is_code in _chunks(text):
        if is_code:
            out.append(chunk)
            continue
        chunk = _strip_html(chunk, base_url)
        chunk = _IMAGE.sub(lambda m: _keep_image(m, base_url, images), chunk)
        chunk = _DATA_IMAGE.sub("", chunk)
        chunk = _SCRIPT_LINK.sub(r"\g<text>", chunk)
        # lines without trailing whitespace, and one blank line for any run of them (regexes, not a
        # list of every line: ten million short lines made 600 MB of strings)
        chunk = _BLANK_RUNS.sub("\n\n", _TRAILING_SPACE.sub("", chunk))
        out.append(chunk.strip("\n"))
    body = "\n\n".join(part for part in out if part.strip())
    return body.strip(), tuple(dict.fromkeys(images))


def join_cjk_lines(html: str) -> str:
    """Drop source line breaks between Chinese characters, which a browser would render as spaces.

    Chinese has no spaces between words, so "增长，\\n    宁波港" is "增长，宁波港". Pages with
    ``<pre>`` are left alone: there a line break is content.
    """
    if "<pre" in html:
        return html
    return _CJK_LINE_BREAK.sub(r"\1", html)


# --- front matter ------------------------------------------------------------------------------


def _split_front_matter(text: str, path: str) -> tuple[dict[str, Any], str]:
    if "\x00" in text:
        raise ParseError("binary data, not a Markdown clipping", url=path)
    if _SURROGATE.search(text):
        text = _fix_surrogates(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    m = _FRONT_MATTER.match(text)
    if not m:
        raise ParseError("no YAML front matter (the file must start with a '---' block)", url=path)
    if len(m.group("yaml")) > MAX_FRONT_MATTER:
        # the YAML reader is pure Python: 20 MB of tags took minutes
        raise ParseError(f"front matter longer than {MAX_FRONT_MATTER:,} characters", url=path)
    try:
        meta = _fix_surrogates(yaml.load(m.group("yaml"), Loader=_FrontMatterLoader))
    except RecursionError as err:
        raise ParseError(f"front matter nested deeper than {MAX_YAML_DEPTH} levels", url=path) from err
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" at line {where.line + 2}" if where is not None else ""
        problem = getattr(err, "problem", None) or type(err).__name__
        raise ParseError(f"broken YAML front matter{line}: {problem}", url=path) from err
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ParseError(f"front matter is a {type(meta).__name__}, not a mapping", url=path)
    return {str(k): v for k, v in meta.items()}, text[m.end() :]


class _FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader without aliases and with a nesting limit: front matter is a flat table of strings,
    and an alias bomb (``&a [*b, *b, …]``) expands past gigabytes once read, 50k-deep nesting
    exhausts the recursion limit."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)
        if self._depth >= MAX_YAML_DEPTH:
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", event.start_mark
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _fix_surrogates(value: Any, depth: int = 0) -> Any:
    """YAML's ``"\ud83d\ude00"`` escapes give UTF-16 surrogates: pairs become the character they
    encode, a lone one U+FFFD, so every string can be written as UTF-8."""
    if isinstance(value, str):
        if not _SURROGATE.search(value):
            return value
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list) and depth < MAX_YAML_DEPTH:
        return [_fix_surrogates(v, depth + 1) for v in value]
    if isinstance(value, dict) and depth < MAX_YAML_DEPTH:
        return {_fix_surrogates(k, depth + 1): _fix_surrogates(v, depth + 1) for k, v in value.items()}
    return value


def _first_str(meta: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = meta.get(key)
        if isinstance(value, list) and value and isinstance(value[0], str | int | float):
            value = value[0]
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            s = str(value).strip()
            if s:
                return s
    return None


def _names(meta: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = meta.get(key)
        if isinstance(value, list):
            names = [normalize_text(str(v)) for v in value if isinstance(v, str | int) and str(v).strip()]
            if names:
                return "、".join(names)
        elif isinstance(value, str) and value.strip():
            return normalize_text(value)
    return None


def _title(meta: dict[str, Any], body: str) -> str:
    title = _first_str(meta, TITLE_KEYS)
    if title:
        # a title is plain text; markup in it is a clipper's leftover
        return normalize_text(_HTML_TAG.sub("", _strip_comments(title)))
    m = _HEADING_1.search(body)
    return normalize_text(m.group(1).replace("**", "")) if m else ""


def _published(meta: dict[str, Any], path: str) -> datetime | None:
    for key in DATE_KEYS:
        value = meta.get(key)
        if value is None or value == "":
            continue
        parsed = _to_datetime(value)
        if parsed is None:
            raise ParseError(f"unreadable {key}: {value!r}", url=path)
        return parsed
    return None


def _to_datetime(value: Any) -> datetime | None:
    # YAML turns unquoted timestamps into datetime/date objects; quoted ones stay strings. Naive
    # values are Beijing time: clippings of Chinese news carry it. A date as written (0001-01-01 is a
    # clipper's "no date") reaches the import, which stores the article without it and says so
    if not isinstance(value, datetime | date | str):
        return None
    return parse_datetime(value, as_written=True)


# --- body ----------------------------------------------------------------------------------------


def _trailing_source_link(body: str) -> tuple[int, str] | None:
    """The last line with any text, when it is a link: (where the line starts, the link's URL)."""
    end = len(body.rstrip())
    if not end:
        return None
    start = body.rfind("\n", 0, end) + 1
    stop = body.find("\n", end)
    m = _SOURCE_LINE.match(body[start : stop if stop >= 0 else len(body)])
    return (start, m.group("url")) if m else None


def _without_line(text: str, start: int) -> str:
    """``text`` without the line that starts at ``start`` (and one of the line breaks around it)."""
    stop = text.find("\n", start)
    if stop >= 0:
        return text[:start] + text[stop + 1 :]
    return text[: max(0, start - 1)]


def _same_article(link: str, url: str) -> bool:
    try:
        return canonical_url(link) == url
    except InvalidURL:
        return False


def _chunks(text: str) -> Iterator[tuple[str, bool]]:
    """The text split into (chunk, is_fenced_code) pieces of whole lines, fences included in the code
    pieces. Only fence lines are visited (a regex finds them), so five million lines inside one fence
    are one slice, not a list of five million strings."""
    pos = 0  # where the next piece starts: the start of a line, or len(text) + 1 when none is left
    while (m := _FENCE.search(text, pos)) is not None:
        opening = m.start()
        line_end = text.find("\n", m.end())
        close = None if line_end < 0 else _closing_fence(m.group(1)).search(text, line_end + 1)
        if opening > pos:
            yield text[pos : opening - 1], False
        if close is None:
            # an unclosed fence is prose that happens to start with backticks
            yield text[opening:], False
            return
        yield text[opening : close.end()], True
        pos = close.end() + 1
    if pos <= len(text):
        yield text[pos:], False


def _closing_fence(fence: str) -> re.Pattern[str]:
    """A line of nothing but the fence's character, at least as many as it opened with."""
    pattern = _CLOSING_FENCES.get(fence)
    if pattern is None:
        pattern = re.compile(rf"^[^\S\n]*{re.escape(fence)}{re.escape(fence[0])}*[^\S\n]*$", re.M)
        if len(_CLOSING_FENCES) < 64:
            _CLOSING_FENCES[fence] = pattern
    return pattern


def _strip_html(chunk: str, base_url: str) -> str:
    if "<" not in chunk:
        return chunk
    chunk = _strip_blocks(_strip_comments(chunk))
    chunk = _html_imgs(chunk, base_url)
    return _HTML_TAG.sub("", chunk)


def _html_imgs(text: str, base_url: str) -> str:
    """Every ``<img …>`` (with the spaces and tabs around it) as a Markdown image, or gone.

    A loop, not a regex: a run of ``<img`` with no ``>`` after it, or of spaces before one, made a
    pattern read to the end of the text from every position."""
    if "<" not in text:
        return text
    out: list[str] = []
    pos = 0  # text[:pos] is done
    for m in _HTML_IMG.finditer(text):
        if m.start() < pos:
            continue  # inside the tag just replaced
        end = text.find(">", m.end())
        if end < 0:
            break  # no later <img can close either
        before = text[pos : m.start()].rstrip(" \t")
        blanks = _BLANKS.match(text, end + 1)
        stop = blanks.end() if blanks else end + 1
        out.append(before)
        out.append(_html_img_to_markdown(text[m.start() : end + 1], base_url))
        pos = stop
    out.append(text[pos:])
    return "".join(out)


def _strip_comments(text: str) -> str:
    """Without ``<!-- … -->`` comments; an unterminated one stays as text."""
    out: list[str] = []
    pos = 0
    while (start := text.find("<!--", pos)) >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break
        out.append(text[pos:start])
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)


def _strip_blocks(text: str) -> str:
    """Without script, style and other non-prose elements, content and all; an element that is never
    closed is left for the tag pattern (only its tag goes), as before."""
    out: list[str] = []
    pos = scan = 0
    unclosed: set[str] = set()  # once a closing tag is missing after some point, it is missing after any later one
    while (m := _HTML_BLOCK_OPEN.search(text, scan)) is not None:
        name = m.group(1).lower()
        close = None if name in unclosed else _HTML_BLOCK_CLOSE[name].search(text, m.end())
        if close is None:
            unclosed.add(name)
            scan = m.end()
            continue
        out.append(text[pos : m.start()])
        pos = scan = close.end()
    out.append(text[pos:])
    return "".join(out)


def _html_img_to_markdown(tag: str, base_url: str) -> str:
    found: dict[str, str] = {}
    for m in _HTML_ATTR.finditer(tag):
        found.setdefault(m.group(1).lower(), m.group(2) or m.group(3) or m.group(4) or "")
    for name in ("data-src", "data-original", "src"):
        url = clean_image_url(found.get(name), base_url)
        if url:
            return f"\n\n![图片]({url})\n\n"
    return ""


def _image_target(target: str) -> str:
    target = target.strip()
    if target.startswith("<") and ">" in target:
        return target[1 : target.index(">")]
    if target.lower().startswith("data:"):
        return target
    return target.split()[0] if target else ""


def _keep_image(m: re.Match[str], base_url: str, images: list[str]) -> str:
    src = _image_target(m.group("target"))
    if not src or is_placeholder(src):
        return ""
    if src.startswith(("http://", "https://", "//")):
        url = clean_image_url(src, base_url)
        if url is None:
            return ""
        images.append(url)
        return f"![{m.group('alt').strip() or '图片'}]({url})"  # the label html_to_markdown gives too
    # a path relative to the clipping (an exported site's own copy): keep it, it is no web image
    return m.group(0)
