"""WeChat official-account pages (mp.weixin.qq.com) to :class:`Article`.

One parser for every capture of every layout from 2016 to 2026: raw HTML as the server sends it,
the DOM a browser serialised after WeChat's scripts ran, and "Save Page As" copies. The DOM is parsed
once; metadata comes from the page's own inline-script variables, read with targeted look-ups on the
small data scripts only. The 2025+ pages repeat the whole body as a JS string (``content_noencode``)
and carry megabytes of bundled JS, so nothing here searches the whole page for text or images.

Selectors and markers are data at the top of the module; the functions below only combine them.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from html import escape, unescape
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from parsers import DEFAULT_BUDGET, Budget
from parsers.article import Article
from parsers.dates import from_epoch, parse_datetime
from parsers.errors import NotAnArticle, ParseError
from parsers.jsdata import IDENT, STRING, assigned_literal, find_balanced, find_name, js_unescape
from parsers.markdown import clean_image_url, html_to_markdown, normalize_text
from parsers.urls import InvalidURL, canonical_url, wechat_ids, wechat_url

# --- where things are -----------------------------------------------------------------------------

# h1 since 2022, h2 before; text posts (item_show_type 10) title an h1#js_text_title
TITLE_SELECTORS = ("#activity-name", "#js_text_title", ".rich_media_title")
ACCOUNT_SELECTORS = ("#js_name", "#post-user")
# last resorts: the follow bar and profile pop-up repeat the account name
ACCOUNT_FALLBACK_SELECTORS = (".wx_follow_nickname", ".profile_nickname", ".account_nickname_inner")
AUTHOR_SELECTOR = "#js_author_name"
# pages up to ~2021 put the byline in an id-less meta element next to the account
LEGACY_BYLINE_SELECTOR = (
    ".rich_media_meta_list em.rich_media_meta_text:not([id]), "
    ".rich_media_meta_list span.rich_media_meta_text:not([id]):not(.rich_media_meta_nickname)"
)
POST_DATE_SELECTOR = "#post-date"  # date only, up to 2018
BODY_SELECTORS = ("#js_content", ".rich_media_content")
# rendered picture and text posts: scripts copy the text into these
PICTURE_TEXT_SELECTORS = ("#js_image_desc",)
TEXT_POST_SELECTORS = ("#js_text_desc",)
PICTURE_DOM_IMAGES = ".share_media_swiper img, .swiper_item img, #img_swiper_content img"

# share card: an account forwards another account's article with a comment
SHARE_MARKERS = "#js_share_content, #js_share_source, .original_panel"
SHARE_COMMENT = "#js_share_notice"
SHARE_SOURCE_LINK = "#js_share_source"
SHARE_ORIGINAL_TITLE = "#original_panel_title"
# reprints and shares name the original account here
ORIGINAL_ACCOUNT_SELECTORS = ("#js_share_author", ".original_primary_nickname", ".original_account_nickname")

# page furniture that can sit inside or around #js_content in some capture
FURNITURE_SELECTORS = (
    "script", "style", "noscript", "template", "mp-style-type",
    "#js_pc_qr_code", ".qr_code_pc_outer", "#js_profile_qrcode", ".profile_container",
    "#js_tags_preview_toast", ".article-tag__error-tips", ".wx_stream_article_slide_tip",
    "#js_view_source", "#js_read_area3", ".rich_media_tool", ".rich_media_tool_area",
    "#js_toobar3", ".like_comment_wrp", ".interaction_bar", ".interaction_bar__wrap",
    "#js_reward_area", ".reward_area", ".reward_qrcode_area", "#js_reward_qrcode",
    "#js_ip_wording_wrp", "#js_ip_wording", ".weui-a11y_ref", "#js_sponsor_ad_area", ".ct_mpda_wrp",
    "#js_bottom_ad_area", "#content_bottom_area", "#js_tags", ".article-tag__list",
    ".js_product_err_container", ".wx_video_play_btn", ".wx_video_mask",
)  # fmt: skip
# whole blocks whose only text is one of these are furniture in any capture
FURNITURE_TEXTS = frozenset(
    {
        "预览时标签不可点", "继续滑动看下一个", "向上滑动看下一个", "阅读原文", "轻触阅读原文",
        "微信扫一扫关注该公众号", "微信扫一扫 关注该公众号", "微信扫一扫可打开此内容，使用完整服务",
        "喜欢此内容的人还喜欢", "写留言", "赞赏", "喜欢作者",
        "Scan to Follow", "Read more", "Got It", "轻点两下取消赞", "轻点两下取消在看",
    }
)  # fmt: skip
_FURNITURE_QUERY = ", ".join(FURNITURE_SELECTORS)
_FURNITURE_MAX = max(len(t) for t in FURNITURE_TEXTS)

# audio players as rendered by WeChat's scripts, and where their title sits
AUDIO_PLAYERS = ".js_audio_frame, .audio_area, .qqmusic_area, .audio_card, .mpaudio_wrp"
AUDIO_TITLES = ".audio_title, .audio_card_title, .mpaudio_title, .qqmusic_songname, .qqmusic_title, strong"
AUDIO_TAGS = ("mpvoice", "mp-common-mpaudio", "qqmusic")
AUDIO_TITLE_ATTRS = ("name", "title", "music_name", "musicname", "data-title")
# rendered video players wrap (or replace) the iframe and leak their chrome ("重播 分享 00:16")
VIDEO_PLAYERS = ".js_tx_video_container, .js_video, .wx_video_context, .mp_video_container"
VIDEO_URL_ATTRS = ("data-src", "src", "data-url")
# embedded cards: one line naming what was there
CARD_MENTIONS = (
    ("mp-miniprogram", "小程序", ("data-miniprogram-title", "data-miniprogram-nickname")),
    (".js_weapp_display_element", "小程序", ()),
    ("mp-common-profile", "公众号", ("data-nickname",)),
    ("mp-common-videosnap", "视频号", ("data-nickname", "data-desc")),
)
CARD_TEXT_SELECTORS = ".weapp_card_title, .weapp_card_nickname, .wx_profile_nickname, .profile_nickname"

# status pages: the message container and the words that name each state (zh and en)
STATUS_CONTAINERS = (".weui-msg", ".page_msg", ".global_error_msg", ".msg_content", ".empty_tips")
STATUS_MESSAGE_PARTS = ".weui-msg__title, .weui-msg__desc"
STATUS_WORDS = (
    ("removed", ("违规", "涉嫌", "violat", "regulation")),
    ("deleted", ("已被发布者删除", "已删除", "被删除", "deleted")),
    ("verification", ("环境异常", "访问过于频繁", "完成验证", "安全验证", "too frequent", "verif")),
    ("expired", ("已过期", "链接已失效", "expired")),
    (
        "unavailable",
        ("暂时无法查看", "迁移", "审核中", "发送失败", "无法查看", "unavailable", "migrat", "private"),
    ),
)
ALBUM_SELECTOR = ".album__list, .album_list, #js_album_list"
# PAGE_MID names the server template: the one fact a script-only shell still carries
PAGE_MID_STATUS = (("secitptpage", "verification"), ("verify", "verification"), ("album", "not-article"))
URL_PATH_STATUS = (
    ("/mp/appmsgalbum", "not-article"),
    ("/mp/homepage", "not-article"),
    ("/mp/profile_ext", "not-article"),
    ("/mp/wappoc_appmsgcaptcha", "verification"),
)

# item_show_type: what the post is
PICTURE_TYPES = frozenset({"8"})
TEXT_TYPES = frozenset({"10", "17"})
VIDEO_TYPES = frozenset({"5"})

# scripts larger than this are bundled modules, not data, unless they carry cgiDataNew
_BIG_SCRIPT = 120_000
_CGI_WINDOW = 20_000
_BUNDLE_MARKERS = ("'use strict'", '"use strict"', "__INLINE_SCRIPT__")
_MIN_TS = 1_262_304_000  # 2010-01-01: older numbers are not publication times
_MAX_TS = 4_102_444_800  # 2100-01-01

# --- JavaScript literals --------------------------------------------------------------------------

# string literals are read by parsers.jsdata (find_name, assigned_literal, STRING)
_TS_SCRIPT = (
    # rendered pages: var t="<server time>",n="<ct>",s="2020-02-12"; e(t,n,s,…"publish_time")
    re.compile(r"""\w+\s*=\s*["']\d{9,11}["']\s*,\s*\w+\s*=\s*["'](\d{9,11})["']\s*,\s*\w+\s*=\s*["']\d{4}-"""),
    # 2022 raw pages: e(0,"1659274471",0,document.getElementById("publish_time"))
    re.compile(
        r"""\(\s*[^,()]*,\s*["'](\d{9,11})["']\s*,\s*[^,()]*,\s*document\.getElementById\(\s*["']publish_time"""
    ),
)
_WALL_TIME = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$")
_TAG = re.compile(r"<(?:p|br|div|section|span|img|a|strong|h\d)\b", re.I)
_SHARE_HTML = re.compile(rf"""innerHTML\s*=\s*({STRING})""")
# a string literal that does not start right after a backslash: in a run of \" each quote would
# otherwise start a literal that reads to the line's end (quadratic on a 20 MB line)
_STRING_START = re.compile(rf"""(?<!\\){STRING}""")
_BIZ = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
_DIGITS = re.compile(r"^\d+$")
_SN = re.compile(r"^[0-9a-fA-F]{16,64}$")


def _decode(raw: str) -> str:
    """A JS string body as text: JS escapes, then the HTML entities WeChat's htmlDecode undoes."""
    return unescape(js_unescape(raw))


class _Scripts:
    """The page's inline scripts, split once: small data scripts, and the ``cgiDataNew`` literal."""

    def __init__(self, tree: LexborHTMLParser) -> None:
        # from the DOM, not the page text: a bytes page is never decoded whole, and script text is
        # raw (no entities), so the data reads the same
        small: list[str] = []
        self.cgi = ""
        legacy = ""
        for node in tree.css("script"):
            attrs = node.attributes
            if "src" in attrs or "text/html" in (attrs.get("type") or ""):
                continue
            body = node.text(deep=True)
            if not self.cgi:
                # the literal opens its script (offset ~450): look only at the head of each one
                cgi_at = self._literal_start(body, "cgiDataNew", min(len(body), _CGI_WINDOW))
                if cgi_at != -1:
                    self.cgi = body[cgi_at:]
                elif not legacy:
                    # 2021-2024 share pages, and status pages, name theirs cgiData
                    cgi_at = self._literal_start(body, "cgiData", min(len(body), _CGI_WINDOW))
                    if cgi_at != -1:
                        legacy = body[cgi_at:]
            if len(body) >= _BIG_SCRIPT:
                continue
            if len(body) >= 20_000 and any(m in body[:400] for m in _BUNDLE_MARKERS):
                continue
            small.append(body)
        self.js = "\n".join(small)
        # only cgiDataNew proves an article; a legacy cgiData may describe a status page or a list
        self.cgi_is_new = bool(self.cgi)
        self.cgi = self.cgi or legacy
        self._vars: dict[tuple[str, tuple[str, ...]], str | None] = {}

    @staticmethod
    def _literal_start(js: str, name: str, end: int) -> int:
        """Where the object literal assigned to ``name`` (``window.name = {``) opens in ``js[:end]``, or -1."""
        j = js.find(name, 0, end)
        while j != -1:
            k = j + len(name)
            while k < end and js[k] in " \t\r\n=":
                k += 1
            owner_ok = j == 0 or js[max(0, j - 7) : j] == "window." or not IDENT.match(js[j - 1])
            if owner_ok and k < end and js[k] == "{" and "=" in js[j:k]:
                return k
            j = js.find(name, j + 1, end)
        return -1

    def var(self, name: str, prefixes: tuple[str, ...] = ("var ", "window.")) -> str | None:
        """First non-empty string assigned to ``var name`` / ``window.name``; "" if only empty ones."""
        key = (name, prefixes)
        if key in self._vars:
            return self._vars[key]
        found: str | None = None
        for prefix in prefixes:
            for end in find_name(self.js, prefix + name):
                if end < len(self.js) and (self.js[end].isalnum() or self.js[end] in "_$"):
                    continue
                value = assigned_literal(self.js, end)
                if value is None:
                    continue
                if value:
                    self._vars[key] = _decode(value)
                    return self._vars[key]
                found = ""
        self._vars[key] = found
        return found

    def field(self, key: str, *, text: str | None = None, start: int = 0) -> str | None:
        """The first ``key: '…'`` string in the cgiDataNew literal (or ``text``), decoded."""
        src = self.cgi if text is None else text
        for end in find_name(src, key, start):
            value = assigned_literal(src, end, field=True)
            if value is not None:
                return _decode(value)
        return None


# --- small helpers ------------------------------------------------------------------------------


def _text(node: LexborNode | None) -> str:
    return normalize_text(node.text(deep=True)) if node is not None else ""


def _first_text(tree: LexborHTMLParser, selectors: Iterable[str]) -> str:
    for sel in selectors:
        text = _text(tree.css_first(sel))
        if text:
            return text
    return ""


def _clean(value: str | None) -> str:
    return normalize_text(value) if value else ""


def _timestamp(value: str | None) -> datetime | None:
    if not value or not _DIGITS.match(value.strip()):
        return None
    n = int(value)
    if n > 10**12:  # milliseconds
        n //= 1000
    if not _MIN_TS <= n <= _MAX_TS:
        return None
    return from_epoch(n)


def _wall_time(value: str | None) -> datetime | None:
    """``2025-11-07 08:31`` or ``2017-10-27``: a zone-less Beijing wall time."""
    if not value:
        return None
    # only a value that is a date as a whole: this also tells bylines from dates
    return parse_datetime(value) if _WALL_TIME.match(value) else None


def _fragment(html: str, url: str = "", budget: Budget = DEFAULT_BUDGET) -> LexborNode | None:
    budget.check(html, url)  # HTML from the page's data was not counted with the page
    tree = LexborHTMLParser(f"<body>{html}</body>")
    return tree.body.child if tree.body is not None else None


def _replace_with_html(node: LexborNode, html: str) -> None:
    # insert + remove (unlink) rather than replace/decompose: nodes found by the same query inside
    # this one stay valid memory, merely detached
    new = _fragment(html) if html else None
    if new is not None:
        node.insert_before(new)
    node.remove()


def _attached(node: LexborNode, root: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id == root.mem_id:
            return True
        parent = parent.parent
    return False


def _paragraphs_html(text: str) -> str:
    """Plain text (newline-separated) as escaped HTML paragraphs."""
    lines = (normalize_text(line) for line in text.replace("\r", "").split("\n"))
    return "".join(f"<p>{escape(line)}</p>" for line in lines if line)


# --- the page -----------------------------------------------------------------------------------


class _Page:
    """One parsed page: the DOM, its meta tags and its data scripts."""

    def __init__(self, page: str | bytes, url: str, budget: Budget = DEFAULT_BUDGET) -> None:
        self.url = url
        self.budget = budget
        self.tree = LexborHTMLParser(page)
        self.scripts = _Scripts(self.tree)
        self.meta: dict[str, str] = {}
        scope = self.tree.head or self.tree.root
        for m in scope.css("meta") if scope is not None else ():
            key = m.attributes.get("property") or m.attributes.get("name")
            content = m.attributes.get("content")
            if key and content and key not in self.meta:
                self.meta[key] = content

    def var(self, name: str, prefixes: tuple[str, ...] = ("var ", "window.")) -> str:
        return self.scripts.var(name, prefixes) or ""

    def field(self, key: str) -> str:
        return self.scripts.field(key) or ""

    def meta_text(self, key: str) -> str:
        # og:description holds literal \x0a sequences on 2025 pages
        return _clean(_decode(self.meta.get(key, "")))

    # -- classification --------------------------------------------------------------------------

    def show_type(self) -> str:
        for name in ("item_show_type", "real_item_show_type"):
            value = self.var(name)
            if value:
                return value
        return self.field("item_show_type")

    def body_node(self) -> LexborNode | None:
        for sel in BODY_SELECTORS:
            node = self.tree.css_first(sel)
            if node is not None:
                return node
        return None

    def is_share(self) -> bool:
        if self.tree.css_first(SHARE_MARKERS) is None:
            return False
        # a share card's #js_content is the card's empty slot; a body with content is an article
        body = self.body_node()
        return body is None or not (body.text(deep=True).strip() or body.css_first("img, iframe"))

    def has_article(self) -> bool:
        if self.body_node() is not None or self.tree.css_first("#activity-name, #js_text_title"):
            return True
        if self.show_type() in PICTURE_TYPES | TEXT_TYPES | VIDEO_TYPES:
            return True
        return bool(self.scripts.cgi_is_new and self.field("title"))

    def status(self) -> tuple[str, str] | None:
        """``(reason, detail)`` for a page that holds no article, else None."""
        page_mid = self.var("PAGE_MID").lower()
        for marker, reason in PAGE_MID_STATUS:
            if marker in page_mid:
                # the captcha page names the article it stands in front of
                target = self.scripts.field("target_url") or ""
                return reason, f"PAGE_MID {page_mid}" + (f"; target {target}" if target else "")
        try:
            path = urlsplit(self.url).path
        except ValueError:
            path = ""
        for prefix, reason in URL_PATH_STATUS:
            if path.startswith(prefix) and not self.has_article():
                return reason, path
        if self.has_article():
            return None
        if self.tree.css_first(ALBUM_SELECTOR) is not None:
            return "not-article", "album page"
        container = None
        for sel in STATUS_CONTAINERS:
            container = self.tree.css_first(sel)
            if container is not None:
                break
        del_reason = self.scripts.field("del_reason_id", text=self.scripts.js)
        if del_reason and del_reason != "0":
            reason_text = self.scripts.field("del_reason", text=self.scripts.js) or ""
            return "removed", reason_text or f"del_reason_id {del_reason}"
        message = self._message(container) if container is not None else self._page_text()
        lowered = message.lower()
        for reason, words in STATUS_WORDS:
            if any(w in lowered for w in words):
                return reason, message[:120]
        if container is not None:
            # the captcha shell: an empty message box its scripts would fill
            return ("unavailable", message[:120]) if message else ("verification", "empty message page")
        if not message and self.tree.css_first("title") is None and not self.meta:
            raise ParseError("no article and no page content", url=self.url)
        return "not-article", "no article body on the page"

    @staticmethod
    def _message(container: LexborNode) -> str:
        parts = [_text(n) for n in container.css(STATUS_MESSAGE_PARTS)]
        return " ".join(p for p in parts if p) or _text(container)

    def _page_text(self) -> str:
        body = self.tree.body
        if body is None:
            return ""
        for node in body.css("script, style, .weui-a11y_ref"):
            node.remove()
        return _text(body)[:2000]

    # -- metadata ----------------------------------------------------------------------------------

    def title(self) -> str:
        title = _first_text(self.tree, TITLE_SELECTORS)
        if title:
            return title
        for value in (
            self.meta_text("og:title"),
            _clean(self.var("msg_title")),
            _clean(self.field("title")),
            self.meta_text("twitter:title"),
            _text(self.tree.css_first("title")),
        ):
            if value:
                return value
        return ""

    def account(self) -> str | None:
        name = _first_text(self.tree, ACCOUNT_SELECTORS)
        if not name:
            name = _clean(self.var("nickname")) or _clean(self.field("nick_name"))
        if not name:
            name = _clean(self.var("name", ("window.",)))  # picture posts: window.name = "36氪"
        if not name:
            name = _first_text(self.tree, ACCOUNT_FALLBACK_SELECTORS)
        return name or None

    def author(self, account: str | None) -> str | None:
        node = self.tree.css_first(AUTHOR_SELECTOR)
        name = _text(node)
        if not name:
            name = _clean(self.var("author", ("var ",)))
        if not name and self.scripts.cgi:
            name = _clean(self.field("author"))
        if not name:
            name = _clean(self.meta.get("author"))
        if not name and node is None:
            name = self._legacy_byline(account)
        return name or None

    def _legacy_byline(self, account: str | None) -> str:
        for node in self.tree.css(LEGACY_BYLINE_SELECTOR):
            if node.css_first("[id]") is not None:
                continue
            text = _text(node)
            if text and text != account and not _wall_time(text) and text not in ("原创", "转载"):
                return text
        return ""

    def published(self) -> datetime | None:
        for value in (self.var("ct"), self.var("create_time", ("var ",))):
            ts = _timestamp(value)
            if ts:
                return ts
        if self.scripts.cgi:
            for key in ("ori_create_time", "create_timestamp", "create_time", "ori_send_time"):
                ts = _timestamp(self.field(key))
                if ts:
                    return ts
        ts = self._publish_time_script()
        if ts:
            return ts
        if self.scripts.cgi:
            wall = _wall_time(self.field("create_time"))
            if wall:
                return wall
        # date-only last resorts (midnight, Beijing)
        return _wall_time(self.var("publish_time", ("var ",))) or _wall_time(
            _text(self.tree.css_first(POST_DATE_SELECTOR))
        )

    def _publish_time_script(self) -> datetime | None:
        js = self.scripts.js
        for needle in ('getElementById("publish_time")', "getElementById('publish_time')"):
            i = js.find(needle)
            if i == -1:
                continue
            window = js[max(0, i - 400) : i + len(needle)]
            for pattern in _TS_SCRIPT:
                m = pattern.search(window)
                if m:
                    ts = _timestamp(m.group(1))
                    if ts:
                        return ts
        return None

    def summary(self) -> str:
        for value in (
            _clean(self.var("msg_desc")),
            self.meta_text("og:description"),
            self.meta_text("description"),
            _clean(self.field("desc")) if self.scripts.cgi else "",
        ):
            if value:
                return value
        return ""

    def cover(self) -> str | None:
        candidates = [self.var("msg_cdn_url"), self.meta.get("og:image"), self.var("cdn_url_1_1")]
        if self.scripts.cgi:
            candidates += [self.field("cdn_url_1_1"), self.field("cdn_url_235_1"), self.field("cdn_url")]
        candidates.append(self.meta.get("twitter:image"))
        for raw in candidates:
            url = clean_image_url(unescape(raw), self.url) if raw else None
            if url:
                return url
        return None

    def ids(self) -> dict[str, str]:
        """``__biz``/``mid``/``idx``/``sn`` from the page's own variables, then its links, then the URL."""
        ids: dict[str, str] = {}
        candidates = {
            "__biz": (self.var("biz"), self.field("bizuin") if self.scripts.cgi else ""),
            "mid": (self.var("mid"), self.var("appmsgid"), self.field("mid") if self.scripts.cgi else ""),
            "idx": (self.var("idx"), self.var("itemidx"), self.field("idx") if self.scripts.cgi else ""),
            "sn": (self.var("sn"), self.field("sn") if self.scripts.cgi else ""),
        }
        checks = {"__biz": _BIZ, "mid": _DIGITS, "idx": _DIGITS, "sn": _SN}
        for key, values in candidates.items():
            for value in values:
                value = value.strip()
                if value and checks[key].match(value):
                    ids[key] = value
                    break
        for link in (self.var("msg_link"), self.meta.get("og:url"), self.url):
            if len(ids) == 4:
                break
            if not link:
                continue
            try:
                found = wechat_ids(unescape(link).replace("\\x26", "&"))
            except InvalidURL:
                continue
            if "__biz" in ids and found.get("__biz") not in (None, ids["__biz"]):
                continue  # another article's link
            for key, value in found.items():
                if key not in ids and checks[key].match(value):
                    ids[key] = value
        return ids

    # -- bodies --------------------------------------------------------------------------------

    def article_body(self) -> tuple[str, tuple[str, ...]]:
        node = self.body_node()
        if node is not None:
            _strip_furniture(node)
            rendered = html_to_markdown(node, base_url=self.url)
            if rendered.markdown:
                return rendered.markdown, rendered.images
        # 2025 raw pages may leave #js_content empty and ship the body only as content_noencode
        content = self.field("content_noencode") if self.scripts.cgi else ""
        if content:
            frag = _fragment(content if _TAG.search(content) else _paragraphs_html(content), self.url, self.budget)
            if frag is not None and frag.parent is not None:
                body = frag.parent
                _strip_furniture(body)
                rendered = html_to_markdown(body, base_url=self.url)
                return rendered.markdown, rendered.images
        return "", ()

    def picture_images(self) -> list[str]:
        src = self.scripts.js
        for end in find_name(src, "window.picture_page_info_list"):
            urls = self._picture_list(src, end)
            if urls:
                return urls
        if self.scripts.cgi:
            for end in find_name(self.scripts.cgi, "picture_page_info_list"):
                urls = self._picture_list(self.scripts.cgi, end)
                if urls:
                    return urls
        # rendered captures: the swiper's images
        out: list[str] = []
        for img in self.tree.css(PICTURE_DOM_IMAGES):
            for attr in ("data-src", "src"):
                url = clean_image_url(img.attributes.get(attr), self.url)
                if url:
                    if url not in out:
                        out.append(url)
                    break
        return out

    def _picture_list(self, src: str, end: int) -> list[str]:
        i = end
        while i < len(src) and src[i] in " \t\r\n=:":
            i += 1
        if i >= len(src) or src[i] != "[":
            return []
        close = find_balanced(src, i)
        if close is None:
            return []
        urls: list[str] = []
        for item in _top_level_items(src[i + 1 : close - 1]):
            raw = self.scripts.field("cdn_url", text=_outer_level(item))
            url = clean_image_url(raw, self.url) if raw else None
            if url and url not in urls:
                urls.append(url)
        return urls

    def post_text(self, dom_selectors: Iterable[str], *, desc: bool) -> str:
        """Text of a picture post (``window.desc`` first) or text post: ``content_noencode``, the DOM."""
        for value in (
            self.var("desc", ("window.",)) if desc else "",
            self.field("content_noencode") if self.scripts.cgi else "",
        ):
            if value and value.strip():
                return value
        for sel in dom_selectors:
            node = self.tree.css_first(sel)
            if node is not None and node.text(deep=True).strip():
                return html_to_markdown(node, base_url=self.url).markdown
        return ""

    def share_comment(self) -> str:
        node = self.tree.css_first(SHARE_COMMENT)
        if node is not None:
            script = node.css_first("script")
            code = script.text() if script is not None else ""
            for s in node.css("script"):
                s.remove()
            text = node.text(deep=True, separator="\n")
            if text.strip():
                return text
            m = _SHARE_HTML.search(code)
            if m:
                return _decode(m.group(1)[1:-1])
        return self.scripts.field("guide_words") or "" if self.scripts.cgi else ""

    def original_account(self) -> str | None:
        name = _first_text(self.tree, ORIGINAL_ACCOUNT_SELECTORS)
        if not name and self.scripts.cgi:
            at = self.scripts.cgi.find("copyright_info:")
            if at != -1:
                name = _clean(self.scripts.field("platform", start=at))
        return name or None

    def original_url(self) -> str | None:
        node = self.tree.css_first(SHARE_SOURCE_LINK)
        raw = ""
        if node is not None:
            raw = node.attributes.get("data-url") or node.attributes.get("href") or ""
        if not raw and self.scripts.cgi:
            at = self.scripts.cgi.find("copyright_info:")
            if at != -1:
                raw = self.scripts.field("reprint_url", start=at) or ""
        if not raw:
            return None
        try:
            return canonical_url(unescape(raw))
        except InvalidURL:
            return None


def _top_level_items(array_body: str) -> Iterator[str]:
    """The ``{…}`` items of an array literal's body."""
    i = 0
    n = len(array_body)
    while i < n:
        j = array_body.find("{", i)
        if j == -1:
            return
        close = find_balanced(array_body, j)
        if close is None:
            return
        yield array_body[j:close]
        i = close


def _outer_level(obj: str) -> str:
    """An object literal with its nested objects and arrays blanked, so only its own keys remain."""
    out: list[str] = []
    i = 1
    n = len(obj) - 1
    while i < n:
        c = obj[i]
        if c in "{[":
            close = find_balanced(obj, i)
            if close is None:
                break
            out.append("{}")
            i = close
            continue
        if c in "'\"":
            m = _STRING_START.match(obj, i)
            if m:
                out.append(m.group(0))
                i = m.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)


# --- body surgery -------------------------------------------------------------------------------


def _strip_furniture(body: LexborNode) -> None:
    """Remove page chrome from a body node in place, keeping one-line mentions of embedded cards."""
    for node in body.css(_FURNITURE_QUERY):
        node.remove()
    _replace_audio_players(body)
    _replace_video_players(body)
    for sel, label, attrs in CARD_MENTIONS:
        for node in body.css(sel):
            if not _attached(node, body):
                continue
            name = next((normalize_text(node.attributes.get(a) or "") for a in attrs if node.attributes.get(a)), "")
            if not name:
                name = _text(node.css_first(CARD_TEXT_SELECTORS))
            _replace_with_html(node, f"<p>{escape(label)}：{escape(name)}</p>" if name else "")
    for tag in ("qqmusic", "mp-common-mpaudio"):
        for node in body.css(tag):
            # the Markdown writer reads the title from `name`; qqmusic calls it music_name
            if not node.attributes.get("name"):
                title = next((node.attributes.get(a) for a in AUDIO_TITLE_ATTRS if node.attributes.get(a)), None)
                if title:
                    node.attrs["name"] = title
    _drop_furniture_texts(body)


def _replace_audio_players(body: LexborNode) -> None:
    for player in body.css(AUDIO_PLAYERS):
        if not _attached(player, body):
            continue
        prev = player.prev
        while prev is not None and prev.tag == "-text" and not (prev.text_content or "").strip():
            prev = prev.prev
        if prev is not None and prev.tag in AUDIO_TAGS:
            player.remove()  # the tag itself already names the audio
            continue
        title = _text(player.css_first(AUDIO_TITLES))
        _replace_with_html(player, f'<mpvoice name="{escape(title)}"></mpvoice>' if title else "")


def _replace_video_players(body: LexborNode) -> None:
    for player in body.css(VIDEO_PLAYERS):
        if not _attached(player, body):
            continue
        url = ""
        for el in player.css("iframe, video, mpvideo"):
            url = next((el.attributes.get(a) or "" for a in VIDEO_URL_ATTRS if el.attributes.get(a)), "")
            if url and not url.startswith(("data:", "blob:")) and "_files/" not in url:
                break
            url = ""
        if not url:
            vid = player.attributes.get("data-mpvid") or player.attributes.get("data-vid") or ""
            if vid:
                url = f"https://mp.weixin.qq.com/mp/readtemplate?t=pages/video_player_tmpl&vid={vid}"
        _replace_with_html(player, f'<iframe data-src="{escape(url)}"></iframe>' if url else "")


def _drop_furniture_texts(body: LexborNode) -> None:
    doomed: list[LexborNode] = []
    for node in body.traverse(include_text=True):
        if node.tag != "-text":
            continue
        raw = node.text_content or ""
        if not raw.strip() or len(raw.strip()) > _FURNITURE_MAX:
            continue
        text = normalize_text(raw)
        if text not in FURNITURE_TEXTS:
            continue
        target = node
        parent = node.parent
        while parent is not None and parent.mem_id != body.mem_id and _text(parent) == text:
            target = parent
            parent = parent.parent
        doomed.append(target)
    for node in doomed:
        node.remove()


# --- entry point --------------------------------------------------------------------------------


def _head(page: str | bytes, size: int) -> str:
    """The first ``size`` characters; bytes are read as UTF-8, like the DOM parser reads them."""
    if isinstance(page, str):
        return page[:size]
    # final=False: a character cut at the sample's end is left out rather than replaced
    text, _ = codecs.utf_8_decode(page[: size * 4], "replace", False)
    return text[:size]


def _check_readable(page: str | bytes, url: str) -> None:
    if not isinstance(page, str | bytes):
        raise ParseError("not text", url=url)
    head = _head(page, 2048).lstrip("\ufeff \t\r\n")
    if not head:
        raise ParseError("empty page", url=url)
    if sum(1 for c in head[:1024] if ord(c) < 32 and c not in "\t\r\n\f") > 2:
        raise ParseError("binary data, not a web page", url=url)
    if head[0] in "{[":
        start = _head(page, 20_000)
        if "article_list" in start or "getalbum" in start:
            raise NotAnArticle("not-article", url=url, detail="album list API response")
        raise ParseError("JSON, not a web page", url=url)
    if "<" not in head:
        raise ParseError("no HTML markup", url=url)


def _article_url(ids: dict[str, str], url: str) -> str:
    if all(k in ids for k in ("__biz", "mid", "idx", "sn")):
        return wechat_url(ids["__biz"], ids["mid"], ids["idx"], ids["sn"])
    return canonical_url(url)


def parse_wechat(html: str | bytes, url: str, *, budget: Budget = DEFAULT_BUDGET) -> Article:
    """Parse one WeChat page. Raises NotAnArticle for status pages and ParseError for garbage.

    ``html`` is text, or the page's bytes read as UTF-8 (what WeChat serves; see
    :func:`parsers.decode.sniff_utf8`): invalid sequences become U+FFFD, as in a browser. ``budget``
    limits article HTML found in the page's data (the page itself is checked by :func:`parsers.parse`).
    """
    _check_readable(html, url)
    page = _Page(html, url, budget)
    status = page.status()
    if status is not None:
        raise NotAnArticle(status[0], url=url, detail=status[1])

    ids = page.ids()
    account = page.account()
    show_type = page.show_type()
    original_account: str | None = None
    original_url: str | None = None

    if show_type in PICTURE_TYPES:
        kind = "picture"
        images = page.picture_images()
        text = page.post_text(PICTURE_TEXT_SELECTORS, desc=True)
        html_body = _paragraphs_html(text) + "".join(f'<p><img src="{escape(u)}"></p>' for u in images)
        rendered = html_to_markdown(html_body, base_url=url)
        body, images_t = rendered.markdown, rendered.images
    elif show_type in TEXT_TYPES:
        kind = "text"
        text = page.post_text(TEXT_POST_SELECTORS, desc=False)
        rendered = html_to_markdown(_paragraphs_html(text), base_url=url)
        body, images_t = rendered.markdown, rendered.images
    elif page.is_share():
        kind = "share"
        original_url = page.original_url()
        original_account = page.original_account()
        comment = page.share_comment()
        if not comment.strip():
            raise NotAnArticle("not-article", url=url, detail=f"share card without a comment: {original_url}")
        original_title = _text(page.tree.css_first(SHARE_ORIGINAL_TITLE)) or page.title()
        link = ""
        if original_url:
            who = f"（{escape(original_account)}）" if original_account else ""
            link = f'<p>原文：<a href="{escape(original_url)}">{escape(original_title)}</a>{who}</p>'
        rendered = html_to_markdown(_paragraphs_html(comment) + link, base_url=url)
        body, images_t = rendered.markdown, ()
    else:
        kind = "video" if show_type in VIDEO_TYPES else "article"
        body, images_t = page.article_body()
        copyright_stat = page.var("_copyright_stat", ("var ",)) or page.var("copyright_stat", ("var ",))
        if copyright_stat == "2" or page.var("source_encode_biz", ("var ",)):
            original_account = page.original_account()
            original_url = page.original_url()

    title = page.title()
    if not title and body:
        title = normalize_text(body.split("\n", 1)[0].lstrip("#>*- "))[:60]
    return Article(
        url=_article_url(ids, url),
        source="wechat",
        kind=kind,
        title=title,
        published=page.published(),
        author=page.author(account),
        account=account,
        summary=page.summary(),
        cover=page.cover(),
        images=tuple(images_t),
        body=body,
        biz=ids.get("__biz"),
        mid=ids.get("mid"),
        idx=ids.get("idx"),
        sn=ids.get("sn"),
        original_account=original_account,
        original_url=original_url,
    )
