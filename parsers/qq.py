"""qq.com (Tencent News) pages to :class:`Article`.

Three generations of page share one URL space:

- CMS pages (2005–2019), ``{channel}.qq.com/a/YYYYMMDD/NNNNNN.htm``: the body is in the DOM
  (``#Cnt-Main-Article-QQ``) together with stock-ticker tooltips, video widgets and copyright lines.
- OM pages (2018–2022), ``new.qq.com/omn/…``: the body is in ``div.content-article``; metadata in an
  inline ``window.DATA = {…}`` object; videos only in ``videoArr.push(…)`` scripts.
- Current pages (2022 on), ``news.qq.com/rain/a/{id}``: nothing in the DOM, the whole article is in
  ``window.DATA`` with ``<!--IMG_n-->`` placeholders resolved through ``originAttribute``.
"""

from __future__ import annotations

import html as htmllib
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from parsers import DEFAULT_BUDGET, Budget
from parsers.article import Article
from parsers.clipping import join_cjk_lines
from parsers.dates import parse_datetime, search_datetime
from parsers.errors import InvalidURL, NotAnArticle, ParseError
from parsers.jsdata import load_js_object
from parsers.markdown import clean_image_url, html_to_markdown, normalize_text
from parsers.urls import canonical_url, normalize_qq_id, qq_article_id, qq_url

# --- selectors and markers, kept as data -------------------------------------------------------
CMS_BODY = "#Cnt-Main-Article-QQ"
CMS_TITLE = ("#C-Main-Article-QQ .hd h1", ".qq_article .hd h1", ".LEFT h1", "h1")
CMS_TIME = ("span.a_time", "span.pubTime", "span.article-time", ".a_Info .a_time", "span.pubtime")
CMS_SOURCE = ("span.a_source", "span.where", "span.color-a-1", "span.infoCol .where", "span.source")
CMS_AUTHOR = ("span.a_author", "span.auth", "span.color-a-3")
# page furniture that lives inside the CMS body element
CMS_NOISE = (
    "script",
    "style",
    "iframe",
    "noscript",
    "link",
    ".mbArticleShareBtn",
    ".rv-root-v2",
    ".rv-js-root",
    "[id^=tipsWB]",
    "#invideocon",
    ".tvp_container",
    ".relTxt",
    ".moreTv-list",
    "a[href*='pref=qqcom.keyword']",  # the "(微博)" link after a company name
    # appended by script to the last paragraph: favicon + "返回腾讯网首页>>" (2016–2020 templates)
    "#backqqcom",
    "a[bosszone='backqqcom']",
    "a[href*='www.qq.com/?pref=article']",
)
# stock-ticker tooltips and keyword links wrap real words: keep the words, drop the wrapper
CMS_UNWRAP = ("span[onmouseover*='ShowInfo']", "a.a-tips-Article-QQ", "a[href*='stockhtm.finance.qq.com']")
OM_BODY = "div.content-article"
OM_NOISE = ("script", "style", "#Status", ".introduction", ".videoPlayerWrap", "#LeftTool", ".statement")
# screen-reader lines the CMS put at the end of the body, matched on an element's whole text
A11Y_LINES = re.compile(r"^(?:正文已结束，?您可以按alt\+\d进行评论|您可以按alt\+\d.{0,12})$", re.I)
# paragraphs that are page chrome, matched on their whole text
NOISE_PARAGRAPH = re.compile(r"^(?:精彩视频推荐|相关视频|视频推荐|点击播放|正在加载\.*)$")
# copyright lines: short paragraphs that forbid reprinting
COPYRIGHT_LINE = re.compile(
    r"未经.{0,6}(?:授权|许可|同意).{0,12}(?:不得|禁止|严禁|请勿).{0,4}(?:转载|摘编|复制|使用)"
    r"|版权所有|版权声明|禁止转载|谢绝转载"
)
COPYRIGHT_MAX_CHARS = 150
# "标题_科技_腾讯网", "标题_腾讯新闻", "标题 - 腾讯网"
# (the spaces before a dash are entered at their run's start only: linear on a title of 20 MB of spaces)
TITLE_SUFFIX = re.compile(r"(?:(?:_[^_]{1,6}){0,2}_|(?<!\s)\s*[-|]\s*)腾讯(?:新闻|网)\s*$")
# 404-like pages: the article was removed or never existed
DELETED_MARKERS = (
    "babygohome",
    "文章不存在",
    "该文章已被删除",
    "文章已被删除",
    "内容已被删除",
    "抱歉，您访问的页面不存在",
    "您访问的页面不存在",
    "页面不存在",
    "404 Not Found",
)
# atype / article_type values: "0" article, "1" photo set; video types seen in feeds and payloads
VIDEO_TYPES = frozenset({"4", "56", "101", "102", "117"})
PICTURE_TYPES = frozenset({"1"})
TENCENT_VIDEO = "https://v.qq.com/x/page/{vid}.html"
# best first: 1000 px wide is what the page shows; origUrl can be a 20 MB camera file
IMG_URL_KEYS = ("imgurl1000", "origUrl", "imgurl641", "imgurl640", "imgurl0", "url", "img")
_PLACEHOLDER = re.compile(r"<!--\s*((?:IMG|VIDEO)_\d+)\s*-->")
_ARTICLE_INFO = re.compile(r"ARTICLE_INFO\s*=\s*(?:window\.ARTICLE_INFO\s*\|\|\s*)?(?=\{)")
_VIDEO_PUSH = "videoArr.push("
_CMS_URL = re.compile(r"^/a/(\d{8})/(\d{6,})\.htm$")
_QQ_ID = re.compile(r"^(?:[A-Z]{2,4}\d{8,16}[0-9A-Z]*|\d{8}[A-Z][0-9A-Z]{5}(?:\d{2})?|\d{8}[0-9A-Z]{6,10})$")
_SOURCE_PREFIX = re.compile(r"^(?:来源|来源于|出处|稿源)\s*[：:]\s*")
# "谷歌()" once the "(微博)" link is gone; only after a Chinese character, so code like f() stays
_EMPTY_PARENS = re.compile(r"(?<=[\u3400-\u9fff])[（(]\s*[)）][ \t]*")


def parse_qq(html: str, url: str, *, budget: Budget = DEFAULT_BUDGET) -> Article:
    """Any qq.com article page; NotAnArticle for list, error and deleted pages, ParseError for garbage.
    ``budget`` limits the article HTML that the page's data carries (the page itself is checked by
    :func:`parsers.parse`)."""
    if not html or not html.strip():
        raise ParseError("empty page", url=url)
    if "<" not in html:
        raise ParseError("not an HTML page", url=url)
    tree = LexborHTMLParser(join_cjk_lines(html))
    data = load_js_object(html, "window.DATA")
    if not isinstance(data, dict):
        data = {}
    try:
        if _rain_content(data) is not None:
            return _parse_rain(tree, data, url, budget)
        body = tree.css_first(OM_BODY)
        if body is not None:
            return _parse_om(tree, body, data, url)
        body = tree.css_first(CMS_BODY)
        if body is not None:
            return _parse_cms(tree, body, html, url)
    except NotAnArticle as err:
        # an article shell with an empty body is what some deleted articles look like
        raise _no_article(tree, html, url, detail=err.detail) from None
    raise _no_article(tree, html, url)


# --- the three layouts -------------------------------------------------------------------------


def _tags(data: dict[str, Any]) -> tuple[str, ...]:
    """``tags`` as plain strings or as objects naming the word (``tag_word``, ``name``, ``word``)."""
    raw = data.get("tags") or data.get("tag") or []
    if isinstance(raw, str):
        raw = re.split(r"[,;，；\s]+", raw)
    out: list[str] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            item = item.get("tag_word") or item.get("name") or item.get("word") or item.get("tag") or ""
        word = normalize_text(str(item))
        if word and word not in out:
            out.append(word)
    return tuple(out)


def _parse_rain(tree: LexborHTMLParser, data: dict[str, Any], url: str, budget: Budget) -> Article:
    content = _rain_content(data) or ""
    attrs = data.get("originAttribute")
    if not isinstance(attrs, dict):
        origin = data.get("originContent")
        attrs = origin.get("attribute") if isinstance(origin, dict) else None
    videos: list[str] = []
    budget.check(content, url)  # the article's HTML sits in window.DATA, escaped: the page count missed it
    body_html = _resolve_placeholders(content, attrs if isinstance(attrs, dict) else {}, videos)
    rendered = html_to_markdown(body_html, base_url=url)
    article_id = _data_id(data) or _url_id(url)
    kind = _kind(data, article_id, rendered.markdown, rendered.images, videos)
    _require_content(rendered.markdown, videos, url)
    cover = _first_image(data.get("shareImg"), url) or _first_image(data.get("img"), url)
    return Article(
        url=_article_url(article_id, url),
        source="qq",
        kind=kind,
        title=_data_title(data) or _dom_title(tree),
        published=_parse_time(data.get("pubtime") or data.get("pub_time") or data.get("publish_time")),
        account=_media(data),
        summary=normalize_text(str(data.get("desc") or data.get("abstract") or "")),
        cover=cover or (rendered.images[0] if rendered.images else None),
        images=rendered.images,
        body=rendered.markdown,
        tags=_tags(data),
        article_id=article_id,
    )


def _parse_om(tree: LexborHTMLParser, body: LexborNode, data: dict[str, Any], url: str) -> Article:
    intro = body.css_first(".introduction")
    intro_text = normalize_text(intro.text(deep=True)) if intro is not None else ""
    video_covers: list[str] = []
    videos = _replace_video_scripts(body, url, video_covers)
    _strip(body, OM_NOISE)
    _drop_noise_paragraphs(body)
    rendered = html_to_markdown(body, base_url=url)
    markdown = rendered.markdown
    article_id = _data_id(data) or _url_id(url)
    _require_content(markdown, videos, url)
    kind = _kind(data, article_id, markdown, rendered.images, videos)
    summary = intro_text or normalize_text(str(data.get("abstract") or data.get("introduction") or ""))
    return Article(
        url=_article_url(article_id, url),
        source="qq",
        kind=kind,
        title=_data_title(data) or _dom_title(tree),
        published=_parse_time(data.get("pubtime")),
        account=_media(data),
        summary=summary or _meta(tree, "description"),
        cover=rendered.images[0] if rendered.images else (video_covers[0] if video_covers else None),
        images=rendered.images,
        body=markdown,
        tags=_tags(data),
        article_id=article_id,
    )


def _parse_cms(tree: LexborHTMLParser, body: LexborNode, html: str, url: str) -> Article:
    info = _article_info(html)
    for selector in CMS_UNWRAP:
        for node in body.css(selector):
            node.unwrap()
    _strip(body, CMS_NOISE)
    _drop_noise_paragraphs(body)
    rendered = html_to_markdown(body, base_url=url)
    markdown = _EMPTY_PARENS.sub("", rendered.markdown).strip()
    _require_content(markdown, [], url)
    title = _first_text(tree, CMS_TITLE) or normalize_text(str(info.get("title") or "")) or _dom_title(tree)
    published = _parse_time(_first_text(tree, CMS_TIME)) or _parse_time(info.get("pubtime"))
    article_id = _cms_id(info, url)
    return Article(
        url=_canonical(url),
        source="qq",
        kind="article",
        title=title,
        published=published,
        author=_clean_byline(_first_text(tree, CMS_AUTHOR)),
        account=_SOURCE_PREFIX.sub("", _first_text(tree, CMS_SOURCE)) or None,
        summary=_summary(tree, title),
        cover=rendered.images[0] if rendered.images else None,
        images=rendered.images,
        body=markdown,
        article_id=article_id,
    )


def _no_article(tree: LexborHTMLParser, html: str, url: str, *, detail: str = "") -> NotAnArticle:
    title = _dom_title(tree)
    if tree.body is not None:
        _strip(tree.body, ("script", "style", "noscript"))  # words in code are not the page's message
    text = normalize_text(tree.body.text(deep=True)) if tree.body is not None else ""
    for marker in DELETED_MARKERS:
        if marker in title or marker in text[:5000] or (marker == "babygohome" and marker in html):
            return NotAnArticle("deleted", url=url, detail=marker)
    if tree.css_first("body") is None or (not text and not title):
        raise ParseError("no page content", url=url)
    return NotAnArticle("not-article", url=url, detail=detail or f"no article body on {title or 'a page'!r}")


# --- current pages: window.DATA only ----------------------------------------------------------


def _rain_content(data: dict[str, Any]) -> str | None:
    origin = data.get("originContent")
    if isinstance(origin, dict) and isinstance(origin.get("text"), str):
        return str(origin["text"])
    if isinstance(origin, str):
        return origin
    return None


def _resolve_placeholders(content: str, attrs: dict[str, Any], videos: list[str]) -> str:
    def replace(m: re.Match[str]) -> str:
        key = m.group(1)
        attr = attrs.get(key)
        if not isinstance(attr, dict):
            return ""
        if key.startswith("IMG_"):
            src = _best_image(attr)
            if not src:
                return ""
            desc = normalize_text(str(attr.get("desc") or ""))
            caption = f'<i class="desc">{htmllib.escape(desc)}</i>' if desc else ""
            return f'<p><img src="{htmllib.escape(src)}"></p>{f"<p>{caption}</p>" if caption else ""}'
        return _video_html(attr, videos)

    return _PLACEHOLDER.sub(replace, content)


def _best_image(attr: dict[str, Any]) -> str | None:
    for key in IMG_URL_KEYS:
        value = attr.get(key)
        if isinstance(value, dict):  # old payloads: {"imgurl1000": {"imgurl": "…"}}
            value = value.get("imgurl") or value.get("url")
        if isinstance(value, str):
            url = clean_image_url(value, "https://news.qq.com/")
            if url:
                return url
    return None


def _video_html(attr: dict[str, Any], videos: list[str]) -> str:
    vid = str(attr.get("vid") or "").strip()
    link = TENCENT_VIDEO.format(vid=vid) if re.fullmatch(r"[0-9a-zA-Z]{6,20}", vid) else None
    for key in ("playurl", "url", "video_url"):
        if link is None and isinstance(attr.get(key), str) and attr[key].startswith(("http", "//")):
            link = attr[key]
    if link is None:
        return ""
    videos.append(link)
    title = normalize_text(str(attr.get("title") or attr.get("desc") or ""))
    label = f"视频：{title}" if title else "视频"
    return f'<p><a href="{htmllib.escape(link)}">{htmllib.escape(label)}</a></p>'


# --- OM pages ---------------------------------------------------------------------------------


def _replace_video_scripts(body: LexborNode, url: str, covers: list[str]) -> list[str]:
    """Turn each ``videoArr.push({...})`` script into a link paragraph where the player stood."""
    videos: list[str] = []
    for script in body.css("script"):
        text = script.text(deep=True)
        if _VIDEO_PUSH not in text:
            continue
        attr = load_js_object(text, _VIDEO_PUSH)
        if not isinstance(attr, dict):
            continue
        snippet = _video_html(attr, videos)
        cover = clean_image_url(str(attr.get("img") or ""), url)
        if cover:
            covers.append(cover)
        if snippet:
            replacement = LexborHTMLParser(snippet).css_first("p")
            if replacement is not None:
                script.replace_with(replacement)
    return videos


# --- CMS pages --------------------------------------------------------------------------------


def _article_info(html: str) -> dict[str, Any]:
    m = _ARTICLE_INFO.search(html)
    if not m:
        return {}
    info = load_js_object(html[m.start() :], m.group(0))
    return info if isinstance(info, dict) else {}


def _cms_id(info: dict[str, Any], url: str) -> str | None:
    value = str(info.get("id") or "").strip()
    if re.fullmatch(r"\d{14}|[0-9A-Z]{14,20}", value):
        return value
    m = _CMS_URL.match(urlsplit(url.strip()).path)
    return m.group(1) + m.group(2) if m else None


def _clean_byline(text: str) -> str | None:
    text = re.sub(r"^(?:作者|文|记者)\s*[：:/]?\s*", "", text).strip()
    return text or None


def _summary(tree: LexborHTMLParser, title: str) -> str:
    desc = _meta(tree, "description")
    # old CMS pages repeat the title as their description
    return "" if desc == title else desc


# --- shared helpers ---------------------------------------------------------------------------


def _strip(node: LexborNode, selectors: tuple[str, ...]) -> None:
    for selector in selectors:
        for found in node.css(selector):
            found.decompose()


def _drop_noise_paragraphs(node: LexborNode) -> None:
    for span in node.css("span"):
        if A11Y_LINES.match(normalize_text(span.text(deep=True))):
            span.decompose()
    for p in node.css("p"):
        if p.css_first("img") is not None:
            continue
        text = normalize_text(p.text(deep=True))
        if text and (NOISE_PARAGRAPH.match(text) or (len(text) < COPYRIGHT_MAX_CHARS and COPYRIGHT_LINE.search(text))):
            p.decompose()


def _require_content(markdown: str, videos: list[str], url: str) -> None:
    if not markdown.strip() and not videos:
        raise NotAnArticle("not-article", url=url, detail="the article body is empty")


def _kind(
    data: dict[str, Any], article_id: str | None, markdown: str, images: tuple[str, ...], videos: list[str]
) -> str:
    atype = str(data.get("atype") if data.get("atype") is not None else data.get("article_type", "0"))
    if atype in VIDEO_TYPES or (article_id and re.fullmatch(r"\d{8}V\w+", article_id)):
        return "video"
    if atype in PICTURE_TYPES:
        return "picture"
    if videos and not images:
        # a player with at most a caption paragraph under it is a video post, not an article
        paragraphs = [p for p in markdown.split("\n\n") if p.strip() and not p.startswith("[视频")]
        if len(paragraphs) <= 1:
            return "video"
    return "article"


def _data_id(data: dict[str, Any]) -> str | None:
    # cms_id is the id the URL carries; article_id is sometimes its shorter or numeric twin
    for key in ("cms_id", "article_id", "id"):
        value = str(data.get(key) or "").strip()
        if _QQ_ID.fullmatch(value):
            return normalize_qq_id(value)
    return None


def _url_id(url: str) -> str | None:
    try:
        return qq_article_id(url)
    except InvalidURL:
        return None


def _article_url(article_id: str | None, url: str) -> str:
    return qq_url(article_id) if article_id else _canonical(url)


def _canonical(url: str) -> str:
    try:
        return canonical_url(url)
    except InvalidURL as err:
        raise ParseError(f"not an http(s) URL: {url!r}", url=url) from err


def _data_title(data: dict[str, Any]) -> str:
    return normalize_text(str(data.get("title") or ""))


def _media(data: dict[str, Any]) -> str | None:
    media = data.get("media") or data.get("src") or data.get("source")
    if isinstance(media, dict):
        media = media.get("name") or media.get("chlname") or media.get("nick")
    if not isinstance(media, str):
        card = data.get("card")
        media = card.get("chlname") if isinstance(card, dict) else None
    return normalize_text(media) if isinstance(media, str) and media.strip() else None


def _first_image(value: Any, url: str) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return clean_image_url(value, url) if isinstance(value, str) else None


def _first_text(tree: LexborHTMLParser, selectors: tuple[str, ...]) -> str:
    for selector in selectors:
        node = tree.css_first(selector)
        if node is not None:
            text = normalize_text(node.text(deep=True))
            if text:
                return text
    return ""


def _meta(tree: LexborHTMLParser, name: str) -> str:
    for node in tree.css("meta[name][content]"):
        if (node.attributes.get("name") or "").lower() == name:
            return normalize_text(node.attributes.get("content") or "")
    return ""


def _dom_title(tree: LexborHTMLParser) -> str:
    node = tree.css_first("title")
    title = normalize_text(node.text()) if node is not None else ""
    return TITLE_SUFFIX.sub("", title).strip()


def _parse_time(value: Any) -> datetime | None:
    # qq shows times inside text ("2019-09-07 09:05 来源：…") and gives unix seconds in JSON
    if isinstance(value, str):
        found = search_datetime(normalize_text(value))
        return found.when if found else None
    return parse_datetime(value) if isinstance(value, int | float) else None
