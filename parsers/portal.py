"""Which part of a news portal page is the article, and what inside it is not.

A text-density judge in the spirit of GeneralNewsExtractor, over selectolax: every run of text is
owned by its nearest block element; prose (text outside links, with sentence punctuation) scores
for its block, that block's parent and, at falling weight, up to four ancestors. The leading
containers are damped by the share of their text that sits in links, by their distance from the
title, and when they sit in a footer, a comment list or a side column (class/id words, or a
footer's copyright and licence lines). The best container is the article's node.
Inside it, page furniture is cut by structure (class/id words, link-dense blocks, icons) and, once
rendered to Markdown, by phrase (recommendation headings, share/QR calls, editor lines). Selectors
and phrases are data, here at the top.
"""

from __future__ import annotations

import re
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

# --- data: structure ----------------------------------------------------------------------------------
BLOCK_TAGS = frozenset(
    {
        "div", "p", "td", "th", "li", "section", "article", "main", "dd", "dt", "blockquote", "h1", "h2",
        "h3", "h4", "h5", "h6", "figure", "figcaption", "center", "table", "tbody", "tr", "ul", "ol", "dl",
        "form", "header", "footer", "aside", "nav", "body", "pre", "address",
    }
)  # fmt: skip
# text under these is never the article's (the converter skips most of them too)
DEAD_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "textarea", "select", "option", "button", "head",
        "title", "svg", "iframe", "object", "embed", "canvas", "map", "input", "label",
    }
)  # fmt: skip
CONTAINER_TAGS = frozenset({"div", "section", "article", "main", "td", "font", "span", "body"})
# class/id words of page furniture; matched against the words of a class or id (split on - _ and
# case), so "post_comment_box" and "relatedNews" match but "commentary-article" needs both words
FURNITURE_WORDS = frozenset(
    {
        "comment", "comments", "cmt", "tie", "reply", "replies", "recommend", "recommends", "tuijian",
        "related", "relate", "relative", "xgyd", "share", "sharing", "bshare", "bdshare", "jiathis",
        "social", "qrcode", "erweima", "ewm", "qr", "ad", "ads", "sinaads", "advert", "adv", "banner",
        "sidebar", "aside", "nav", "navbar", "menu", "breadcrumb", "crumb", "footer", "copyright",
        "rank", "ranking", "hot", "hotnews", "paging", "pager", "pagination", "vote", "zan", "like",
        "toolbar", "tools", "download", "app", "appdown", "subscribe", "follow", "login", "disclaimer",
        "shenming", "statement", "keywords", "tags", "tag", "player", "video", "fenxiang", "jubao",
        "report", "feedback", "author", "editor", "bottom", "more",
    }
)  # fmt: skip
FURNITURE_TAGS = frozenset({"nav", "footer", "aside", "form", "menu"})
# furniture words that only count on a container with little prose of its own: an article's text
# can sit in "TRS_Editor" (a CMS's rich-text box), "article-video" or "report-text"
WEAK_WORDS = frozenset(
    {"video", "player", "author", "editor", "bottom", "more", "tag", "tags", "app", "report", "vote", "follow"}
)
# class/id words of a page region that is never the article (a container inside one loses)
REGION_WORDS = frozenset(
    {
        "footer", "foot", "copyright", "comment", "comments", "cmt", "tie", "reply", "sidebar", "aside",
        "side", "right", "nav", "navbar", "menu", "recommend", "tuijian", "related", "relate", "rank",
        "ranking", "hot", "hotnews", "live", "ad", "ads",
    }
)  # fmt: skip
CANDIDATES = 12
# what a site's footer names; two of them in a short block make it one, even without a class
FOOTER_MARKERS = re.compile(
    r"copyright|©|版权所有|ICP备|ICP证|公网安备|违法和不良信息举报|举报电话|客服电话|all rights reserved", re.I
)
FOOTER_MAX_CHARS = 1500
NEAR_TITLE = 300  # characters of page text between the title and its article's first prose: no cost
FAR_FROM_TITLE = 3000  # this many more divide a candidate's score by 2, twice as many by 3, ...
LINK_LOOKUP = 6  # ancestors checked for a link around a block
# how much of a block's prose its parent, grandparent... are credited with: the article's own
# container gets it whole; a little still reaches the wrapper of text nested in many sections
DEPTH_WEIGHTS = (1.0, 1.0, 0.5, 0.25, 0.125)
FURNITURE_PENALTY = 0.2
ICON_WORDS = frozenset({"icon", "logo", "avatar", "emoji", "face", "head", "qrcode", "erweima", "ewm", "ico"})
ICON_URL = re.compile(
    r"(?:favicon|/icons?/|[/_-]icon[s_.-]|/logo|logo[_.-]|avatar|/emoji|/face/|qrcode|erweima|/ewm|"
    r"weixin_\w*\.(?:png|jpe?g|gif)|/default_?head|/def_head|(?:next|prev|pre)_?page|/btn[_-])",
    re.I,
)
SMALL_IMAGE = 60  # px: a declared width or height this small is an icon or a button
_WORD_SPLIT = re.compile(r"[-_\s]+|(?<=[a-z])(?=[A-Z])")
_PUNCT = re.compile(r"[，。！？；：、,.!?;“”]")
_SPACE = re.compile(r"\s+")

# --- data: phrases (checked on the rendered Markdown's paragraphs) -----------------------------------
# a short paragraph holding one of these is furniture, whatever else it says
FURNITURE_PHRASES = re.compile(
    r"扫描?.{0,8}二维码|扫一扫|用微信扫|分享到[:：]|分享至好友|点击进入|点击投票|点击查看更多|下载.{0,8}客户端|"
    r"客户端下载|网友评论仅供|更多猛料|返回.{0,6}首页|我要反馈|文章关键词|打印本页|关闭窗口|调整字体|放大字体|"
    r"缩小字体|收藏本文|特别声明[:：]?以上内容|本平台仅提供信息存储服务|Notice: The content above|"
    r"您的浏览器暂时无法播放|延伸\s*·\s*推荐|声明：.{0,40}(?:仅供参考|不构成)|版权所有|未经授权，?不得"
)
SHORT_PARAGRAPH = 80
# these are furniture only as a whole line of a few words (a heading over a list, a button): in a
# sentence they are news ("群众举报后，…", "扫码支付的骗局")
FURNITURE_LABELS = re.compile(
    r"二维码|扫码|分享|相关新闻|相关阅读|相关文章|推荐|延伸阅读|"
    r"猜你喜欢|你可能会喜欢|举报|跟贴|评论|人参与|已有\d+|关键词[:：]|标签[:：]|字号|上一篇|下一篇|上一页|"
    r"下一页|点击播放|自动播放|查看更多|【纠错】|点击关注|欢迎关注|阅读原文|阅读全文|展开全文|赞赏|收藏"
)
LABEL_LINE = 14
# an editor line or a source line at the end; the source is kept as the account when nothing better
EDITOR_LINE = re.compile(r"^[(（【\[]?\s*(?:责任编辑|责编|编辑|校对|审核|编审|值班编辑|实习编辑|美编|排版)\s*[:：|丨]")
SOURCE_LINE = re.compile(r"^[(（【\[]?\s*(?:本文)?(?:来源|稿源|出处)\s*[:：|丨]\s*([^\s)）】\]]{2,30})")
# from the first of these on, the rest of the article is a re-post's footer (follow calls, menus)
END_MARKERS = re.compile(
    r"扫描下方二维码|长按(?:识别)?二维码|识别二维码|扫码关注|长按关注|点击菜单栏|点【在看】|看都看完了|"
    r"点击.{0,6}关注我们|关注我们.{0,6}公众号|^\W*END\W*$"
)


def _words(node: LexborNode) -> set[str]:
    attrs = node.attributes
    raw = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
    if not raw.strip():
        return set()
    return {w.lower() for w in _WORD_SPLIT.split(raw) if w}


def main_block(tree: LexborHTMLParser, heading: LexborNode | None = None) -> LexborNode | None:
    """The node holding the article's text, or None when the page has no prose at all.

    ``heading`` (the title's element, when known) makes distance count: an article follows its
    title closely, a footer or a comment list with more prose comes thousands of characters later.
    """
    body = tree.body
    if body is None:
        return None
    prose: dict[int, list[Any]] = {}  # block id -> [block, prose score, position of its first text]
    blocks: dict[int, LexborNode | None] = {}  # element id -> the block its text counts for (None: none)
    pos = 0  # non-space characters of page text so far
    for node in body.traverse(include_text=True):
        if node.tag != "-text":
            continue
        raw = node.text_content
        if not raw or raw.isspace():
            continue
        n = len(raw.strip())  # inner spaces are rare in Chinese text; close enough to count
        pos += n
        block = _block_of(node.parent, blocks)
        if block is not None:
            key = block.mem_id
            acc = prose.get(key)
            if acc is None:
                acc = prose[key] = [block, 0.0, pos - n]
            acc[1] += n + 8 * len(_PUNCT.findall(raw))
    scores: dict[int, list[Any]] = {}  # container id -> [node, score, position of its first prose]
    for block, credit, start in prose.values():
        # a block of a few link words is navigation; prose needs sentences or some length
        if credit < 12:
            continue
        chain: list[LexborNode] = []
        up: LexborNode | None = block
        linked = False
        for _ in range(LINK_LOOKUP):
            if up is None:
                break
            if up.tag == "a":
                linked = True  # a card in a list of stories: its text is a link's
                break
            chain.append(up)
            up = up.parent
        if linked:
            continue
        for anc, weight in zip(chain, DEPTH_WEIGHTS, strict=False):
            k = anc.mem_id
            st = scores.get(k)
            if st is None:
                st = scores[k] = [anc, 0.0, start]
            st[1] += credit * weight
            st[2] = min(st[2], start)
    title_at = _position(heading, prose)
    ranked = sorted(
        ((score, start, node) for node, score, start in scores.values() if node.tag in CONTAINER_TAGS),
        key=lambda r: -r[0],
    )
    best: LexborNode | None = None
    best_score = 0.0
    # the leaders only, damped by their link text and their distance from the title; a footer, a
    # comment list or a side column is also known by its own or an ancestor's class/id words
    for score, start, node in ranked[:CANDIDATES]:
        score *= (1.0 - _link_density(node)) ** 2
        if title_at is not None:
            score /= 1.0 + max(0, abs(start - title_at) - NEAR_TITLE) / FAR_FROM_TITLE
        if _in_furniture(node) or _is_site_footer(node):
            score *= FURNITURE_PENALTY
        if score > best_score * 1.001 or (best is not None and score >= best_score * 0.999 and _inside(node, best)):
            best, best_score = node, score
    return best


def _block_of(node: LexborNode | None, blocks: dict[int, LexborNode | None]) -> LexborNode | None:
    """The nearest block element at or above ``node``; None inside a link or a dead element.

    Remembered for every element on the way up, so text nested 1,000 levels deep is not walked up
    1,000 levels once per text."""
    chain: list[int] = []
    found: LexborNode | None = None
    while node is not None:
        key = node.mem_id
        if key in blocks:
            found = blocks[key]
            break
        chain.append(key)
        tag = node.tag
        if tag in DEAD_TAGS or tag == "a":
            break  # link text is no prose
        if tag in BLOCK_TAGS:
            found = node
            break
        node = node.parent
    for key in chain:
        blocks[key] = found
    return found


def _position(heading: LexborNode | None, prose: dict[int, list[Any]]) -> int | None:
    node = heading
    while node is not None and node.tag not in BLOCK_TAGS:
        node = node.parent
    entry = prose.get(node.mem_id) if node is not None else None
    return int(entry[2]) if entry is not None else None


def _link_density(node: LexborNode) -> float:
    text = len(_SPACE.sub("", node.text(deep=True)))
    if not text:
        return 1.0
    link = sum(len(_SPACE.sub("", a.text(deep=True))) for a in node.css("a"))
    return min(link / text, 1.0)


def _is_site_footer(node: LexborNode) -> bool:
    """A short block naming two or more of a site footer's things (copyright, licence, hotline)."""
    text = node.text(deep=True)
    if len(text) > FOOTER_MAX_CHARS:
        return False
    return len({m.group(0).lower() for m in FOOTER_MARKERS.finditer(text)}) >= 2


def _in_furniture(node: LexborNode | None) -> bool:
    while node is not None and node.tag not in ("body", "html"):
        if _words(node) & REGION_WORDS:
            return True
        node = node.parent
    return False


def _inside(node: LexborNode, other: LexborNode) -> bool:
    """True when ``node`` is a descendant of ``other`` (ties go to the tighter node)."""
    up = node.parent
    target = other.mem_id
    while up is not None:
        if up.mem_id == target:
            return True
        up = up.parent
    return False


def strip_furniture(node: LexborNode) -> None:
    """Cut what is not the article out of its node: furniture by class/id, link lists, icons."""
    total = _prose_len(node)
    # past this much text, every element's text and link text come from one pass up from the leaves
    # (asking each nested element for its text is quadratic in the nesting: 1,000 levels over 2 MB)
    sizes = text_sizes(node) if total > SIZES_FROM_LEAVES else None
    root = node.mem_id
    doomed: set[int] = set()
    order: list[LexborNode] = []
    keep: list[LexborNode] = []
    cut_above: dict[int, bool] = {}  # element id -> an ancestor below the node is cut (per sweep)

    def doom(el: LexborNode) -> None:
        doomed.add(el.mem_id)
        order.append(el)

    def spared(el: LexborNode) -> bool:
        # not the node itself, nor inside a part already cut. Elements come in document order, so
        # an ancestor's fate is settled before its descendants are asked about
        if el.mem_id == root or el.mem_id in doomed:
            return False
        chain: list[int] = []
        cut = False
        parent = el.parent
        while parent is not None and parent.mem_id != root:
            key = parent.mem_id
            if key in doomed:
                cut = True
                break
            if key in cut_above:
                cut = cut_above[key]
                break
            chain.append(key)
            parent = parent.parent
        for key in chain:
            cut_above[key] = cut
        return not cut

    def prose_len(el: LexborNode) -> int:
        return sizes[0].get(el.mem_id, 0) if sizes is not None else _prose_len(el)

    def link_len(el: LexborNode) -> int:
        if sizes is not None:
            return sizes[1].get(el.mem_id, 0)
        return sum(len(_SPACE.sub("", a.text(deep=True))) for a in el.css("a"))

    for el in node.css("[class], [id], nav, footer, aside, form, menu"):
        if el.tag in ("img", "a", "p", "span", "strong", "b", "em", "i", "font") or not spared(el):
            continue
        hit = _words(el) & FURNITURE_WORDS or ({el.tag} & FURNITURE_TAGS)
        if not hit:
            continue
        own = prose_len(el)
        # never the bulk of the article: a wrapper named "article-share-wrap" can hold it all
        if own > 0.4 * total or (hit <= WEAK_WORDS and own > 200):
            continue
        if hit <= WEAK_WORDS:
            keep.append(el)  # a player's chrome goes, the article's video stays
        doom(el)
    cut_above.clear()  # each sweep cuts more: what was spared may no longer be
    for el in node.css("ul, ol, dl, div, table, p, section, nav, header, footer, aside"):
        if not spared(el):
            continue
        text = prose_len(el)
        if text < 4 or text >= 0.4 * max(total, 1):
            continue
        if link_len(el) / text >= 0.7:
            doom(el)
    cut_above.clear()
    for img in node.css("img"):
        if spared(img) and is_icon(img):
            doom(img)
    for el in keep:
        _hoist_media(el)
    for el in order:
        el.decompose()


def _hoist_media(el: LexborNode) -> None:
    """Move the videos and embedded players out of ``el`` (about to go), just before it."""
    for media in el.css("video, iframe"):
        attrs = media.attributes
        if media.tag == "video" and not attrs.get("src"):
            source = media.css_first("source[src]")
            if source is None:
                continue
            media.attrs["src"] = source.attributes.get("src") or ""
        if attrs.get("src") or attrs.get("data-src") or media.tag == "video":
            el.insert_before(media)


def is_icon(img: LexborNode) -> bool:
    attrs = img.attributes
    for name in ("width", "height"):
        value = (attrs.get(name) or "").strip().lower().removesuffix("px")
        if value.isdigit() and 0 < int(value) <= SMALL_IMAGE:
            return True
    if _words(img) & ICON_WORDS:
        return True
    src = " ".join(attrs.get(n) or "" for n in ("src", "data-src", "data-original"))
    return bool(ICON_URL.search(src))


def _prose_len(node: LexborNode) -> int:
    return len(_SPACE.sub("", node.text(deep=True)))


SIZES_FROM_LEAVES = 50_000  # characters; real articles are below, where asking each element is quicker


def text_sizes(root: LexborNode) -> tuple[dict[int, int], dict[int, int]]:
    """Non-space characters of text under each element of ``root`` and of link text under it (the
    text of every ``<a>`` below, nested ones counted again), by ``mem_id``; one pass from the leaves up.
    What :func:`_prose_len` and a sum over ``css("a")`` say, without reading any text twice."""
    text: dict[int, int] = {}
    links: dict[int, int] = {}
    for node in reversed(list(root.traverse(include_text=True))):
        key = node.mem_id
        if node.tag == "-text":
            own, own_links = len(_SPACE.sub("", node.text_content or "")), 0
        else:
            own, own_links = text.get(key, 0), links.get(key, 0)
            if node.tag == "a":
                own_links += own
        if key == root.mem_id:
            break
        parent = node.parent
        if parent is None:
            continue
        up = parent.mem_id
        if own:
            text[up] = text.get(up, 0) + own
        if own_links:
            links[up] = links.get(up, 0) + own_links
    return text, links
