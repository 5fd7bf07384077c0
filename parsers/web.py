"""Any other news page to :class:`Article`: the article, its minute, its title, nothing else.

The article's node is chosen by :mod:`parsers.portal` (text density, furniture as data) and rendered
by the project's own converter (:mod:`parsers.markdown`), so links, images and tables survive while
the page's link-dense furniture stays out. Metadata comes from what the page itself says, most
trusted first: the title that ``og:title``, the headings and ``<title>`` agree on, without the
site's name; the publish time from meta/JSON-LD and the visible time next to the title (the minute a
reader sees wins over a meta time that disagrees with it); the media named as the source.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
from datetime import datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from parsers.article import Article
from parsers.dates import Found, parse_datetime, search_datetime
from parsers.errors import InvalidURL, NotAnArticle, ParseError
from parsers.markdown import IMAGE_ATTRS, check_text, clean_image_url, html_to_markdown, normalize_text
from parsers.portal import (
    EDITOR_LINE,
    END_MARKERS,
    FURNITURE_LABELS,
    FURNITURE_PHRASES,
    LABEL_LINE,
    SHORT_PARAGRAPH,
    SIZES_FROM_LEAVES,
    SOURCE_LINE,
    main_block,
    strip_furniture,
    text_sizes,
)
from parsers.urls import canonical_url

# --- metadata sources, most trusted first -------------------------------------------------------
PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "og:release_date",
    "og:time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish_date",
    "publishtime",
    "publish-time",
    "published_time",
    "dc.date.issued",
    "dc.date",
    "date",
)
# dates that only say which year a "10-08 12:00" next to the title is in
YEAR_HINT_META = ("dateupdate", "article:modified_time", "og:updated_time", "datemodified", "lastmod")
AUTHOR_META = ("author", "article:author", "og:article:author", "dc.creator", "byline")
SITE_META = ("og:site_name", "application-name", "apple-mobile-web-app-title")
TITLE_META = ("og:title", "twitter:title")
SOURCE_META = ("source", "article:source", "og:source")
# where portals print the media an article comes from, when it has no "来源：" label
SOURCE_SELECTORS = ".source, #source, .ent-source, .article-source, .source-name, #source_baidu, .com-source"
# a byline printed next to the title, when no "作者：" label says it
AUTHOR_SELECTORS = ".author-name, .byline, [rel=author], .article-author, .author_name"
# elements that can hold the title a reader sees; <title> decides between them
HEADING_SELECTORS = "h1, h2, h3, [class*=title], [id*=title], b, strong"
# a <title> segment that names a site or a channel, not the article
SITE_WORDS = re.compile(
    r"(?:网|新闻|频道|日报|晚报|早报|时报|周刊|报社|在线|中心|首页|资讯|客户端|传媒|电视台|广播|订阅|号|"
    r"\.com|\.cn|\.net|The Paper|News|Online)$",
    re.I,
)
TITLE_SEPARATOR = re.compile(r"\s*(?:_|\||｜|--|—+|–| - |-(?=\S{2,12}(?:$|[-_|])))\s*")
LABELED_DATE = re.compile(r"(?:发布|发表|更新|出版)?(?:日期|时间)\s*[:：]")
SOURCE_NEAR_TITLE = re.compile(r"(?:来源|来源于|稿源|出处)\s*[:：]?\s*([^\s|/:：]{2,30})")
AUTHOR_NEAR_TITLE = re.compile(r"(?:作者|文)\s*[:：/]\s*([^\s|/:：]{2,20})")
URL_YEAR = re.compile(r"(?<!\d)(20\d\d|19\d\d)(?=[-/_]?\d{2})")
MIN_TEXT_CHARS = 20
TITLE_MAX_CHARS = 1_000  # of the title element; a longer one is cut there
HEADING_MAX_CHARS = 200  # a heading with more text is no title
LABELED_DATES = 50  # date labels tried around the article
END_LINE = 40  # a follow call is a line of its own; in a longer sentence "识别二维码" is news
MIN_TITLE_CHARS = 8  # without <title>, a shorter heading is a label, not the article's title
NO_TITLE_MIN_CHARS = 200  # without any title, only a substantial text is an article
NEAR_TITLE_LINES = 12  # lines of page text after the title where its time and source sit
ABOVE_TITLE_LINES = 3
PROSE_SENTENCE = 20  # a longer line with a comma or a full stop is the article starting
_WORD = re.compile(r"\w")
_PROSE_MARK = re.compile(r"[，。！？；]")
# the converter's Markdown: an image, a link, a target. Every pattern is linear on any text: a link
# text holds no bracket but an escaped one and starts at a bracket no backslash escapes (the converter
# writes a page's own "[" as "\["), a target holds no parenthesis but one balanced pair, so no two
# attempts read the same characters (a 20 MB run of "[" or "![" once took hours)
_MD_IMAGE = re.compile(r"!\[[^\[\]]*\]\(((?:[^()\s]|\([^()\s]*\))+)\)")
_MD_ANY_IMAGE = re.compile(r"!\[[^\[\]]*\]\((?:[^()]|\([^()]*\))*\)")
_MD_LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\\\[\]])*)\]\((?:[^()]|\([^()]*\))*\)")
_MD_TARGET = re.compile(r"\]\(([^()\n]*)\)")
# images whose address holds a parenthesis or a line break are looked for in the whole body, this many
_SLOW_IMAGE_CHECKS = 64
_MD_MARKS = re.compile(r"[#*_>`~\\]")


def parse_web(html: str, url: str) -> Article:
    """A generic news page; NotAnArticle("not-article") when it holds no article."""
    if not html or not html.strip():
        raise ParseError("empty page", url=url)
    try:
        canonical = canonical_url(url)
    except InvalidURL as err:
        raise ParseError(f"not an http(s) URL: {url!r}", url=url) from err
    tree = LexborHTMLParser(html)
    meta = _metas(tree)
    json_dates = _json_ld_dates(tree)
    tree.strip_tags(["script", "style", "noscript", "template"])
    body_chars = len(tree.body.text(deep=True)) if tree.body is not None else 0
    check_text(body_chars, url)
    # on a page of much text, each heading's size comes from one pass up from the leaves: asking
    # 1,000 nested <b> for their text copies it 1,000 times
    sizes = text_sizes(tree.body)[0] if tree.body is not None and body_chars > SIZES_FROM_LEAVES else None
    names = _site_names(tree, meta, canonical)
    title, heading = _title(tree, meta, names, sizes)
    near = _near_title(heading)
    node = main_block(tree, heading)
    if node is None:
        raise NotAnArticle("not-article", url=url, detail="no main text found")
    published = _published(tree, meta, json_dates, near, heading, canonical, node)
    account = _account(tree, meta, near, heading)
    author = _author(tree, meta, near, heading, names | ({account} if account else set()))

    strip_furniture(node)
    _absolute_images(node, canonical)
    rendered = html_to_markdown(node, base_url=canonical)
    body, source = _clean_body(rendered.markdown, title)
    images = _kept_images(rendered.images, body)
    text_len = len(_plain(body))
    if (text_len < MIN_TEXT_CHARS and not images) or (not title and text_len < NO_TITLE_MIN_CHARS):
        raise NotAnArticle("not-article", url=url, detail="no main text found")
    cover = clean_image_url(meta.get("og:image"), canonical)
    return Article(
        url=canonical,
        source="web",
        kind="article",
        title=title,
        published=published,
        author=author,
        account=account or source or _site_name(names, meta) or None,
        summary=normalize_text(meta.get("og:description") or meta.get("description") or ""),
        cover=cover or (images[0] if images else None),
        images=images,
        body=body,
    )


# --- metadata -------------------------------------------------------------------------------------


def _metas(tree: LexborHTMLParser) -> dict[str, str]:
    """Lower-case meta name/property/itemprop -> its first non-empty content."""
    out: dict[str, str] = {}
    for node in tree.css("meta[content]"):
        attrs = node.attributes
        key = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").strip().lower()
        value = normalize_text(attrs.get("content") or "")
        if key and value and key not in out:
            out[key] = value
    return out


def _first_meta(meta: dict[str, str], names: tuple[str, ...]) -> str:
    return next((meta[n] for n in names if meta.get(n)), "")


def _json_ld_dates(tree: LexborHTMLParser) -> list[str]:
    dates: list[str] = []
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            data: Any = json.loads(node.text())
        except (ValueError, RecursionError):  # RecursionError: nested past the interpreter's limit
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                if isinstance(item.get("datePublished"), str):
                    dates.append(item["datePublished"])
                stack.extend(v for k, v in item.items() if k == "@graph")
    return dates


def _site_names(tree: LexborHTMLParser, meta: dict[str, str], url: str) -> set[str]:
    names = {meta[n] for n in SITE_META if meta.get(n)}
    page_title = _page_title(tree)
    parts = TITLE_SEPARATOR.split(page_title)
    names.update(p for p in parts[1:] if SITE_WORDS.search(p))
    host = urlsplit(url).hostname or ""
    names.update(p for p in host.split(".") if len(p) > 3 and p not in ("www", "news", "com"))
    return {n for n in names if n}


def _site_name(names: set[str], meta: dict[str, str]) -> str:
    site = _first_meta(meta, SITE_META)
    if site:
        return site
    cjk = sorted((n for n in names if re.search(r"[\u4e00-\u9fff]", n)), key=len)
    return cjk[0] if cjk else ""


def _page_title(tree: LexborHTMLParser) -> str:
    """The page's title element, at most TITLE_MAX_CHARS of it (a 20 MB one was split in 10M parts)."""
    node = tree.css_first("title")
    if node is None:
        return ""
    return normalize_text(node.text()[: 4 * TITLE_MAX_CHARS])[:TITLE_MAX_CHARS]


def _title(
    tree: LexborHTMLParser, meta: dict[str, str], names: set[str], sizes: dict[int, int] | None = None
) -> tuple[str, LexborNode | None]:
    """The title a reader sees, and the element that shows it (where its time sits). With ``sizes``
    (parsers.portal.text_sizes) an element with far too much text for a title is not read."""
    page_title = _page_title(tree)
    og = _first_meta(meta, TITLE_META)
    stripped = _strip_site(page_title, names) if page_title else ""
    headings: list[tuple[str, LexborNode]] = []
    for el in tree.css(HEADING_SELECTORS):
        if sizes is not None and sizes.get(el.mem_id, 0) > 10 * HEADING_MAX_CHARS:
            continue
        text = normalize_text(el.text())
        if 4 <= len(text) <= HEADING_MAX_CHARS:
            headings.append((text, el))
    # the longest heading (or og:title) that <title> begins with: <title> adds the site, og:title
    # is sometimes cut short, a heading can be a logo
    floor = 0.5 * len(stripped)
    best = ""
    for text in [h for h, _ in headings] + [og]:
        if text and len(text) > len(best) and len(text) >= floor and page_title.startswith(text):
            best = text
    if not best and og and any(og == h for h, _ in headings):
        best = og
    if not best:
        best = stripped or _title_without_title_element(og, headings)
    where = next((el for h, el in headings if h == best), None)
    if where is None:
        where = next((el for h, el in headings if el.tag == "h1"), None)
    return best, where


def _title_without_title_element(og: str, headings: list[tuple[str, LexborNode]]) -> str:
    """No <title> to decide: og:title (or the heading it was cut from), else the <h1>, else an
    <h2> or what is styled as the title, else a bold line; short labels ("手机/数码") are not titles."""
    if og:
        return next((h for h, el in headings if el.tag in ("h1", "h2") and h.startswith(og)), og)
    for tags in (("h1",), ("h2",), None, ("b", "strong")):
        for text, el in headings:
            if len(text) < MIN_TITLE_CHARS and tags != ("h1",):
                continue
            if (tags is None and el.tag not in ("b", "strong", "h1", "h2")) or (tags and el.tag in tags):
                return text
    return ""


def _strip_site(title: str, names: set[str]) -> str:
    """``title`` without the site/channel segments at its end or start (``…_新浪财经_新浪网``)."""

    def is_site(segment: str, popped: bool) -> bool:
        seg = segment.strip()
        if not seg:
            return True
        if seg in names or any(len(n) >= 2 and (n in seg or seg in n) for n in names):
            return True
        # a short channel name ("政务", "股票频道") next to the site's name goes with it
        return bool(SITE_WORDS.search(seg)) or (popped and len(seg) <= 4)

    parts = TITLE_SEPARATOR.split(title)
    seps = TITLE_SEPARATOR.findall(title)
    popped = False
    while len(parts) > 1 and is_site(parts[-1], popped):
        parts.pop()
        seps.pop()
        popped = True
    while len(parts) > 1 and is_site(parts[0], False) and len(parts[0]) <= 12:
        parts.pop(0)
        seps.pop(0)
    out = parts[0]
    for sep, part in zip(seps, parts[1:], strict=True):
        out += sep + part
    return out.strip()


def _near_title(heading: LexborNode | None) -> str:
    """The short lines of page text right after the title (its following siblings, then its
    parents' following siblings): where portals print the time, the source, the byline."""
    near: list[str] = []
    node = heading
    for _ in range(4):
        if node is None or node.tag in ("body", "html"):
            break
        sib = node.next
        while sib is not None:
            if sib.tag == "-text":
                text = sib.text_content or ""
            elif sib.tag in ("-comment", None) or (sib.tag or "").startswith("-"):
                text = ""
            else:
                text = sib.text(separator="\n")
            for raw in text.split("\n"):
                line = normalize_text(raw)
                if not line:
                    continue
                if (len(line) > PROSE_SENTENCE and _PROSE_MARK.search(line)) or len(near) == NEAR_TITLE_LINES:
                    return " ".join(near)  # the article has begun (it may well start with a date)
                near.append(line)
            sib = sib.next
        node = node.parent
    return " ".join(near)


def _above_title(heading: LexborNode | None) -> list[str]:
    """The short lines just before the title (within its block and its parent's), nearest first."""
    lines: list[str] = []
    node = heading
    for _ in range(2):
        if node is None or node.tag in ("body", "html"):
            break
        sib = node.prev
        while sib is not None and len(lines) < ABOVE_TITLE_LINES:
            if sib.tag == "-text":
                text = sib.text_content or ""
            else:
                text = sib.text(separator="\n") if sib.tag and not sib.tag.startswith("-") else ""
            for raw in reversed(text.split("\n")):
                line = normalize_text(raw)
                if not line:
                    continue
                if len(line) > PROSE_SENTENCE and _PROSE_MARK.search(line):
                    return lines
                lines.append(line)
            sib = sib.prev
        node = node.parent
    return lines[:ABOVE_TITLE_LINES]


def _year_hint(meta: dict[str, str], json_dates: list[str], tree: LexborHTMLParser, url: str) -> int | None:
    for raw in (*(meta.get(n, "") for n in (*PUBLISHED_META, *YEAR_HINT_META)), *json_dates):
        found = search_datetime(raw)
        if found:
            return found.when.year
    for node in tree.css("time[datetime]"):
        found = search_datetime(node.attributes.get("datetime") or "")
        if found:
            return found.when.year
    m = URL_YEAR.search(urlsplit(url).path)
    return int(m.group(1)) if m else None


def _published(
    tree: LexborHTMLParser,
    meta: dict[str, str],
    json_dates: list[str],
    near: str,
    heading: LexborNode | None,
    url: str,
    article: LexborNode,
) -> datetime | None:
    """The meta time, unless the time shown next to the title says otherwise (to the minute)."""
    claimed: Found | None = None
    for raw in (*(meta.get(n, "") for n in PUBLISHED_META), *json_dates):
        when = parse_datetime(raw)
        if when is not None:
            found = search_datetime(raw)
            claimed = Found(when, found.has_time if found else True, 0, 0)
            break
    year = _year_hint(meta, json_dates, tree, url)
    shown = search_datetime(_clip_at_date_label(near), year=year, loose=True) if near else None
    if shown is None:
        # some layouts print the time just above the title; only a time of day counts there (a
        # header's "2019年9月7日 星期六" is today's date, not the article's)
        for line in _above_title(heading):
            above = search_datetime(line, year=year, loose=True)
            if above is not None:
                shown = above if above.has_time else None
                break
    if shown is not None and shown.has_time:
        if claimed is None:
            return shown.when
        if claimed.has_time and claimed.when.replace(second=0, microsecond=0) == shown.when:
            return claimed.when
        if abs(claimed.when - shown.when) <= timedelta(days=1):
            return shown.when
        return claimed.when
    if claimed is not None:
        return claimed.when
    if shown is not None:
        return shown.when
    # a labelled date around the article ("发布日期：2019-03-06" under it), never one of a side list
    region = article
    for _ in range(2):
        if region.parent is None or region.parent.tag in ("body", "html"):
            break
        region = region.parent
    text = region.text(separator=" ")
    for m in itertools.islice(LABELED_DATE.finditer(text), LABELED_DATES):
        found = search_datetime(text[m.end() : m.end() + 40])
        if found is not None and found.start <= 4:
            return found.when
    return None


def _clip_at_date_label(near: str) -> str:
    # "发布时间：10-08 12:00": start at the label, so a byline's digits before it are not read
    m = LABELED_DATE.search(near)
    return near[m.start() :] if m else near


def _title_region(tree: LexborHTMLParser, heading: LexborNode | None) -> LexborNode:
    """The title's surroundings (its third ancestor): where its source and byline are printed."""
    node = heading
    for _ in range(3):
        if node is None or node.parent is None or node.parent.tag in ("body", "html"):
            break
        node = node.parent
    if node is None:
        return tree.body if tree.body is not None else tree.root  # type: ignore[return-value]
    return node


def _account(tree: LexborHTMLParser, meta: dict[str, str], near: str, heading: LexborNode | None) -> str:
    m = SOURCE_NEAR_TITLE.search(near)
    if m:
        return m.group(1)
    for node in _title_region(tree, heading).css(SOURCE_SELECTORS)[:3]:
        text = _name(SOURCE_NEAR_TITLE.sub(r"\1", normalize_text(node.text())).strip(" ⋅·|"))
        if text and text in near:  # printed next to the title, not a story's card further down
            return text
    # an unlabelled media name printed beside the time ("中国网 2019-11-25 10:37:31")
    shown = search_datetime(near)
    if shown is not None:
        before, after = near[: shown.start].split(), near[shown.end :].split()
        for word in (before[-1:] + after[:1]) if before or after else []:
            if _name(word) and SITE_WORDS.search(word):
                return word
    source = _first_meta(meta, SOURCE_META)
    if source:
        source = re.sub(r"^(?:来源|稿源)\s*[:：]\s*", "", source).split(" ")[0]
        if 2 <= len(source) <= 30:
            return source
    return ""


def _name(text: str) -> str:
    """``text`` when it can be a name (of a person or a media), else ''."""
    if not 2 <= len(text) <= 30 or any(c in text for c in "：:，。|") or search_datetime(text, year=2000):
        return ""
    return text


def _author(
    tree: LexborHTMLParser, meta: dict[str, str], near: str, heading: LexborNode | None, sites: set[str]
) -> str | None:
    m = AUTHOR_NEAR_TITLE.search(near)
    if m:
        return m.group(1)
    for node in _title_region(tree, heading).css(AUTHOR_SELECTORS)[:3]:
        text = _name(normalize_text(node.text()))
        if text and text in near and text not in sites:
            return text
    for name in AUTHOR_META:
        value = meta.get(name, "")
        if not value or value.isdigit() or value.startswith("http") or len(value) > 40:
            continue
        if any(value == s or (len(s) >= 2 and s in value) or value in s for s in sites):
            continue  # the site's name, not a person's
        return value
    return None


# --- body -----------------------------------------------------------------------------------------


def _absolute_images(node: LexborNode, base_url: str) -> None:
    # "./W020201004.jpeg" on a page fetched from its URL is the site's image; only a saved page's
    # "x_files/" copies are local (the converter refuses bare relative names for that reason)
    for img in node.css("img"):
        attrs = img.attributes
        for name in IMAGE_ATTRS:
            value = (attrs.get(name) or "").strip()
            if value.startswith(("./", "../")) and "_files/" not in value:
                with contextlib.suppress(ValueError):  # a malformed one is dropped later, with its image
                    img.attrs[name] = urljoin(base_url, value)


def _plain(markdown: str) -> str:
    text = _MD_LINK.sub(r"\1", _MD_ANY_IMAGE.sub("", markdown))
    return normalize_text(_MD_MARKS.sub("", text))


def _kept_images(images: tuple[str, ...], body: str) -> tuple[str, ...]:
    """The rendered images the body still names (``](url)``), in order. One pass collects every
    target, so 100k images cost one read of the body, not one each."""
    targets = set(_MD_TARGET.findall(body))
    kept: list[str] = []
    slow = 0
    for url in images:
        if url in targets:
            kept.append(url)
        elif any(c in url for c in "()\n") and slow < _SLOW_IMAGE_CHECKS:
            slow += 1
            if f"]({url})" in body:
                kept.append(url)
    return tuple(kept)


def _clean_body(markdown: str, title: str) -> tuple[str, str]:
    """Drop furniture paragraphs, editor and source lines, a re-post's footer, a repeated title and
    the time line; returns the body and the source a "来源：…" line named."""
    paragraphs = [p for p in markdown.split("\n\n") if p.strip()]
    # from a follow call in the second half on, the rest is a re-post's footer
    half = len(paragraphs) // 2
    for i, para in enumerate(paragraphs[half:], start=half):
        text = _plain(para)
        if text and len(text) <= END_LINE and "。" not in text and END_MARKERS.search(text):
            paragraphs = paragraphs[:i]
            break
    out: list[str] = []
    source = ""
    n = len(paragraphs)
    for i, para in enumerate(paragraphs):
        if para.startswith(("![", "```", "| ")):
            out.append(para)
            continue
        text = _plain(para)
        if not _WORD.search(unescape(text)):
            if _MD_IMAGE.search(para):
                out.append(para)  # a linked image
            continue  # nothing to read: a carousel's arrows, a row of bullets
        short = len(text) <= SHORT_PARAGRAPH
        if short and EDITOR_LINE.match(text):
            continue
        m = SOURCE_LINE.match(text)
        # at the top or the end it names the article's source; in the middle it credits a chart
        if short and m and (i < 2 or i >= n - 4):
            source = source or m.group(1)
            continue
        if short and FURNITURE_PHRASES.search(text):
            continue
        if len(text) <= LABEL_LINE and "。" not in text and FURNITURE_LABELS.search(text):
            continue
        if len(out) < 3 and _is_header_line(text, title):
            continue
        out.append(para)
    while out and out[-1].startswith("#"):
        out.pop()  # a heading left over from a cut section
    return "\n\n".join(out).strip(), source


def _is_header_line(text: str, title: str) -> bool:
    if title and (text == title or text.rstrip("…. ") == title.rstrip("…. ")):
        return True
    if len(text) > 60:
        return False
    found = search_datetime(text, year=2000)  # any year: only whether the line is a time line
    if found is None:
        return False
    rest = len(text) - (found.end - found.start)
    # "2019-09-07 09:59 来源：…", or a dated byline without a sentence ("原创 2017-10-27 张三")
    return (found.has_time and rest < 40) or (rest < 30 and not _PROSE_MARK.search(text))
