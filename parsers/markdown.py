"""HTML body to clean Markdown, shared by every source parser.

The source parser removes its own page furniture first; this module turns what is left into
Markdown a person would keep: no raw HTML, no placeholders, no ``javascript:`` links, no runs of
blank lines, one image per line. Image URLs come from the lazy-loading attributes before ``src``,
because rendered WeChat pages keep a 1x1 placeholder in ``src`` until the image scrolls into view.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from parsers.errors import ParseError
from parsers.urls import absolute_url

# --- data: what each tag is ---------------------------------------------------------------
IMAGE_ATTRS = ("data-src", "data-original", "data-actualsrc", "data-lazy-src", "data-url", "src")
SKIP_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "head", "title", "meta", "link", "button", "input",
        "select", "textarea", "form", "svg", "canvas", "map", "object", "embed", "mp-miniprogram",
        "mp-common-profile", "mp-common-product", "mp-common-cpsad", "mp-style-type",
    }
)  # fmt: skip
SKIP_CLASSES = frozenset({"weui-a11y_ref", "code-snippet__line-index", "wx_profile_card_inner"})
BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "figure",
        "figcaption", "center", "address", "dl", "dt", "dd", "details", "summary", "body", "html",
    }
)  # fmt: skip
# nesting rendered element by element; deeper content is kept as flat text (see _flat). Real pages
# nest under 40 levels; the raw-page check in parsers/__init__.py refuses far deeper input first
RENDER_DEPTH = 150
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
BOLD_TAGS = frozenset({"strong", "b"})
ITALIC_TAGS = frozenset({"em", "i", "cite", "dfn"})
STRIKE_TAGS = frozenset({"s", "del", "strike"})
AUDIO_TAGS = frozenset({"mpvoice", "mp-common-mpaudio", "qqmusic"})
VIDEO_HOSTS = ("v.qq.com", "video.qq.com", "mp.weixin.qq.com", "youku.com", "bilibili.com", "youtube.com")
# placeholder file names lazy loaders and old CMSes put in src
_PLACEHOLDER_NAMES = re.compile(
    r"(?:^|/)(?:blank|spacer|pixel|transparent|placeholder|loading|img_loading|grey|1x1|empty)"
    r"(?:[._-]\w*)?\.(?:gif|png|svg|jpg)(?:$|\?)",
    re.I,
)
_DISPLAY_NONE = re.compile(r"display\s*:\s*none", re.I)
# text for screen readers only, drawn in no space: "font:0/0" or a zero-sized box that hides its overflow
_ZERO_SIZE = re.compile(
    r"font\s*:\s*0(?:px)?\s*/\s*0|^(?=.*(?<![\w-])width\s*:\s*0(?![.\d]))(?=.*(?<![\w-])height\s*:\s*0(?![.\d]))",
    re.I | re.S,
)
# site icons are page chrome, never an article's picture
_ICON_NAMES = re.compile(r"(?:^|/)(?:favicon|apple-touch-icon)[^/]*$|\.ico$", re.I)
ICON_MAX_PX = 16
_ZERO_WIDTH = re.compile("[\u200b\u200c\u2060\ufeff\u00ad]")
_WS = re.compile(r"[ \t\r\n\f\u00a0\u3000\u2002\u2003\u2009]+")


@dataclass(frozen=True, slots=True)
class Rendered:
    markdown: str
    images: tuple[str, ...]


# characters of text an article may hold: 50 times the longest real one (a 40,000-character report);
# each of the dozen linear passes over the text costs ~10 ns a character, so 20 MB of text took 9 s
MAX_TEXT = 2_000_000


def check_text(length: int, url: str) -> None:
    """Refuse an article whose text is longer than any article: ParseError ``too-long``."""
    if length > MAX_TEXT:
        raise ParseError(f"too-long: {length:,} characters of text over {MAX_TEXT:,}", url=url)


# --- images and links -------------------------------------------------------------------------


def is_placeholder(url: str) -> bool:
    """True for what stands in for an image without being one: data: URIs, 1x1 files, local copies."""
    u = url.strip().lower()
    if not u or u.startswith(("data:", "about:", "blob:", "file:", "javascript:")):
        return True
    if "img_loading" in u or "_files/" in u:  # _files/: a browser's "Save Page As" local copy
        return True
    if _ICON_NAMES.search(u.split("?", 1)[0].split("#", 1)[0]):
        return True
    return bool(_PLACEHOLDER_NAMES.search(u))


def clean_image_url(src: str | None, base_url: str) -> str | None:
    """A real, absolute https-where-possible image URL, or None for placeholders and junk."""
    if not src:
        return None
    url = unescape(src.strip())
    if is_placeholder(url):
        return None
    url = absolute_url(url)
    if not url.startswith(("http://", "https://")) and (url.startswith("./") or "/" not in url.split("?")[0]):
        # a bare relative file name in a saved page points at a local copy, not the web
        return None
    try:  # an unclosed "[" or a port past 65535 makes a junk image, not a broken page
        if not url.startswith(("http://", "https://")):
            url = urljoin(base_url, url)
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname.endswith((".qpic.cn", ".gtimg.com", ".gtimg.cn", ".qq.com")):
        # Tencent's image CDNs serve the same file over https; mixed content breaks exported sites
        url = "https" + url[4:]
    return url


def _image_src(node: LexborNode, base_url: str) -> str | None:
    attrs = node.attributes
    if attrs.get("width") == "1" and attrs.get("height") == "1":
        return None
    if _px(attrs.get("width")) <= ICON_MAX_PX and _px(attrs.get("height")) <= ICON_MAX_PX:
        return None  # a 16x16 icon beside a link (a favicon, a "back to the home page" arrow)
    if "img_loading" in (attrs.get("class") or "") and not attrs.get("data-src"):
        return None
    for name in IMAGE_ATTRS:
        url = clean_image_url(attrs.get(name), base_url)
        if url:
            return url
    return None


def _px(value: str | None) -> float:
    """A width or height attribute in pixels; no value or a relative one counts as large."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*", value or "")
    return float(m.group(1)) if m else float("inf")


def _link_href(href: str | None, base_url: str) -> str | None:
    if not href:
        return None
    href = unescape(href.strip())
    if not href or href.startswith("#"):
        return None
    try:
        url = absolute_url(href, base_url)
        parts = urlsplit(url)
    except ValueError:
        return None  # an unclosed "[": the link text stays, the link goes
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None  # javascript:, weixin://, mailto: tricks
    return url


def normalize_text(s: str) -> str:
    """NFC, zero-width characters gone, all whitespace runs one space, trimmed."""
    s = unicodedata.normalize("NFC", s)
    s = _ZERO_WIDTH.sub("", s)
    return _WS.sub(" ", s).strip()


def _escape_inline(text: str) -> str:
    # only what would otherwise turn prose into markup at the start of a line or around words
    text = text.replace("\\", "\\\\").replace("*", r"\*").replace("_", r"\_").replace("`", r"\`")
    return text.replace("[", r"\[").replace("]", r"\]").replace("<", "&lt;").replace(">", "&gt;")


# --- the walker -------------------------------------------------------------------------------

_BREAK = "\n\n"
_SOFT_BREAK = "\x00"
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_CJK_SOFT_BREAK = re.compile(f"(?<=[{_CJK}])[ \x00]*\x00[ \x00]*(?=[{_CJK}])")


@dataclass
class _State:
    base_url: str
    images: list[str] = field(default_factory=list)
    seen_images: set[str] = field(default_factory=set)
    depth: int = 0


def _classes(node: LexborNode) -> set[str]:
    cls = node.attributes.get("class")
    return set(cls.split()) if cls else set()


def _children(node: LexborNode) -> Iterable[LexborNode]:
    child = node.child
    while child is not None:
        yield child
        child = child.next


def _wrap(marker: str, inner: str) -> str:
    """Emphasis around ``inner``, moving edge spaces outside, per line (markers never span lines)."""
    out = []
    for line in inner.split("\n"):
        core = line.strip()
        if not core or not core.strip("*_~"):  # (a set of the line was built at every nesting level)
            out.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip())]
        trail = line[len(line.rstrip()) :]
        out.append(f"{lead}{marker}{core}{marker}{trail}")
    return "\n".join(out)


def _audio(node: LexborNode) -> str:
    a = node.attributes
    title = a.get("name") or a.get("title") or a.get("musicname") or a.get("data-title") or ""
    singer = a.get("singer") or a.get("author") or ""
    title = normalize_text(unescape(title))
    if not title:
        return ""
    return f"{_BREAK}🎵 {_escape_inline(title)}{' - ' + normalize_text(singer) if singer else ''}{_BREAK}"


def _video(node: LexborNode, state: _State) -> str:
    a = node.attributes
    for name in ("data-src", "src", "data-url"):
        url = _link_href(a.get(name), state.base_url)
        if url:
            title = normalize_text(a.get("data-title") or a.get("title") or "")
            label = f"视频：{_escape_inline(title)}" if title else "视频"
            return f"{_BREAK}[{label}]({url}){_BREAK}"
    return ""


def _code_block(node: LexborNode) -> str:
    for gutter in node.css(".code-snippet__line-index"):
        gutter.decompose()
    codes = [c for c in _children(node) if c.tag == "code"]
    if len(codes) > 1:
        # WeChat code snippets put each line in its own <code>
        text = "\n".join(c.text(deep=True) for c in codes)
    else:
        text = _preformatted_text(node)
    text = text.replace("\u00a0", " ").strip("\n")
    if not text.strip():
        return ""
    lang = ""
    for c in _classes(node):
        if c.startswith("code-snippet__") and c != "code-snippet__fix":
            lang = c.removeprefix("code-snippet__")
        elif c.startswith(("language-", "lang-")):
            lang = c.split("-", 1)[1]
    lang = node.attributes.get("data-lang") or lang
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{_BREAK}{fence}{lang}\n{text}\n{fence}{_BREAK}"


def _preformatted_text(node: LexborNode) -> str:
    parts: list[str] = []
    for child in node.iter(include_text=True):
        _collect_pre(child, parts, 0)
    return "".join(parts)


def _collect_pre(node: LexborNode, parts: list[str], depth: int) -> None:
    if node.tag == "-text":
        parts.append(node.text_content or "")
    elif node.tag == "br":
        parts.append("\n")
    elif depth >= RENDER_DEPTH:
        parts.append(node.text(deep=True))
    elif node.tag not in SKIP_TAGS and node.tag != "-comment":
        for child in node.iter(include_text=True):
            _collect_pre(child, parts, depth + 1)
        if node.tag in ("p", "div", "li"):
            parts.append("\n")


def _rows(table: LexborNode) -> Iterable[LexborNode]:
    """The table's own rows: a nested table's rows are rendered inside its cell, once (a descendant
    selector rendered them again at every level, exponential in the nesting)."""
    for child in _children(table):
        if child.tag == "tr":
            yield child
        elif child.tag in ("thead", "tbody", "tfoot"):
            yield from (tr for tr in _children(child) if tr.tag == "tr")


def _table(node: LexborNode, state: _State) -> str:
    rows: list[list[str]] = []
    for tr in _rows(node):
        cells = [
            _render_children(td, state).replace("\n", " ").replace("|", r"\|").strip()
            for td in _children(tr)
            if td.tag in ("td", "th")
        ]
        if any(cells):
            rows.append(cells)
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    if width == 1:
        # a one-column table is layout, not data: keep its cells as paragraphs
        return _BREAK + _BREAK.join(r[0] for r in rows if r[0]) + _BREAK
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return _BREAK + "\n".join(lines) + _BREAK


def _list(node: LexborNode, state: _State) -> str:
    ordered = node.tag == "ol"
    try:
        n = int(node.attributes.get("start") or 1)
    except ValueError:
        n = 1
    items = []
    for li in _children(node):
        if li.tag != "li":
            continue
        body = _LOOSE_NESTED.sub("\n", _tidy(_render_children(li, state)))
        if not body:
            continue
        marker = f"{n}. " if ordered else "- "
        n += 1
        pad = " " * len(marker)
        lines = body.split("\n")
        items.append(marker + lines[0] + "".join("\n" + (pad + ln if ln else "") for ln in lines[1:]))
    if not items:
        return ""
    return _BREAK + "\n".join(items) + _BREAK


def _render(node: LexborNode, state: _State) -> str:
    tag = node.tag
    if tag == "-text":
        text = _ZERO_WIDTH.sub("", node.text_content or "")
        # a source line break is marked, not spaced: between two Chinese characters it is no gap
        return _escape_inline(_WS.sub(lambda m: _SOFT_BREAK if "\n" in m.group() else " ", text))
    if tag in ("-comment", "!doctype") or tag is None or tag.startswith("-"):
        return ""
    if tag in SKIP_TAGS:
        return ""
    attrs = node.attributes
    if _classes(node) & SKIP_CLASSES or attrs.get("aria-hidden") == "true" or "hidden" in attrs:
        return ""
    style = attrs.get("style")
    if style and (_DISPLAY_NONE.search(style) or _ZERO_SIZE.search(style)):
        return ""
    if tag == "img":
        url = _image_src(node, state.base_url)
        if not url or url in state.seen_images:
            return ""
        state.seen_images.add(url)
        state.images.append(url)
        alt = normalize_text(attrs.get("alt") or "").replace("[", "").replace("]", "")
        return f"{_BREAK}![{alt or '图片'}]({url}){_BREAK}"
    if tag == "br":
        return _BREAK
    if tag == "hr":
        return f"{_BREAK}---{_BREAK}"
    if tag in AUDIO_TAGS:
        return _audio(node)
    if tag in ("iframe", "video", "mpvideo", "mp-video"):
        return _video(node, state)
    if tag == "pre":
        return _code_block(node)
    if tag == "table":
        return _table(node, state)
    if tag in ("ul", "ol"):
        return _list(node, state)

    inner = _render_children(node, state)
    if tag in HEADINGS:
        text = _flatten(inner.replace("*", "") if "**" in inner else inner)
        return f"{_BREAK}{'#' * HEADINGS[tag]} {text}{_BREAK}" if text else ""
    if tag == "blockquote":
        body = _tidy(inner)
        if not body:
            return ""
        quoted = "\n".join("> " + ln if ln else ">" for ln in body.split("\n"))
        return f"{_BREAK}{quoted}{_BREAK}"
    if tag in BOLD_TAGS:
        return _wrap("**", inner)
    if tag in ITALIC_TAGS:
        return _wrap("*", inner)
    if tag in STRIKE_TAGS:
        return _wrap("~~", inner)
    if tag == "code":
        text = normalize_text(node.text(deep=True))
        return f"`{text}`" if text else ""
    if tag == "a":
        href = _link_href(attrs.get("href"), state.base_url)
        text = inner.strip()
        if not href or not text or "\n" in text:
            return inner
        return f"[{text}]({href})"
    if tag in BLOCK_TAGS or tag == "li":
        return f"{_BREAK}{inner}{_BREAK}"
    return inner


def _render_children(node: LexborNode, state: _State) -> str:
    if state.depth >= RENDER_DEPTH:
        return _flat(node, state)
    state.depth += 1
    try:
        return "".join(_render(child, state) for child in _children(node))
    finally:
        state.depth -= 1


def _flat(node: LexborNode, state: _State) -> str:
    """What lies deeper than RENDER_DEPTH: its text as one paragraph and its images after it, read
    without recursion (three Python frames a level would reach the interpreter's limit near 300)."""
    text = _escape_inline(normalize_text(node.text(deep=True, skip_empty=True)))
    out = [f"{_BREAK}{text}{_BREAK}" if text else ""]
    for img in node.css("img"):
        url = _image_src(img, state.base_url)
        if url and url not in state.seen_images:
            state.seen_images.add(url)
            state.images.append(url)
            out.append(f"{_BREAK}![图片]({url}){_BREAK}")
    return "".join(out)


_BLANK_RUNS = re.compile(r"\n{3,}")
# every pattern here is linear: a run is entered only at its start, and no two alternatives can take
# the same characters (a 40 KB run of one character once took minutes)
_SPACE_BEFORE_NL = re.compile(r"(?<![ \t])[ \t]+\n")
# indentation is dropped except before list, quote, code and table markers (nested lists keep theirs)
_NL_BEFORE_SPACE = re.compile(r"\n[ \t]+(?![ \t]|(?:[-*+]|\d+\.)[ ]|[>`|])")
_LOOSE_NESTED = re.compile(r"\n\n(?=[ \t]*(?:[-*]|\d+\.) )")
_ADJACENT_BOLD = re.compile(r"(?<=\S)\*\*\*\*(?=\S)")
_EMPTY_MARKUP = re.compile(r"^(?:\*|~~)++[ \t]*+(?:\*|~~)*+$", re.M)


_FENCED = re.compile(r"(^(`{3,}+)[^`\n]*+\n.*?\n\2$)", re.M | re.S)


def _tidy(text: str) -> str:
    """Normalise spacing outside fenced code; code keeps its indentation and blank lines."""
    if "```" not in text:
        return _tidy_prose(text)
    pieces = _FENCED.split(text)
    # split() yields [prose, block, fence, prose, block, fence, ...]
    out = []
    for i in range(0, len(pieces), 3):
        out.append(_tidy_prose(pieces[i]))
        if i + 1 < len(pieces):
            out.append(pieces[i + 1])
    return "\n\n".join(p for p in out if p).strip()


def _flatten(inline: str) -> str:
    """One line of text from rendered inline content (headings)."""
    return normalize_text(_CJK_SOFT_BREAK.sub("", inline).replace(_SOFT_BREAK, " "))


def _tidy_prose(text: str) -> str:
    if _SOFT_BREAK in text:
        text = _CJK_SOFT_BREAK.sub("", text).replace(_SOFT_BREAK, " ")
    text = _ADJACENT_BOLD.sub("", text)
    text = _SPACE_BEFORE_NL.sub("\n", text)
    text = _NL_BEFORE_SPACE.sub("\n", text)
    text = _EMPTY_MARKUP.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip()


def html_to_markdown(node: LexborNode | str, *, base_url: str) -> Rendered:
    """Render a body node (or an HTML fragment) as Markdown plus the real image URLs, in order.

    Raises ParseError ``too-long`` past MAX_TEXT characters of text.
    """
    if isinstance(node, str):
        tree = LexborHTMLParser(node)
        root = tree.body if tree.body is not None else tree.root
        if root is None:
            return Rendered("", ())
        node = root
    check_text(len(node.text(deep=True)), base_url)
    state = _State(base_url=base_url)
    md = _tidy(_render_children(node, state) if node.tag in ("body", "html") else _render(node, state))
    return Rendered(md, tuple(state.images))
