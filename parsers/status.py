"""Anti-robot verification pages from any host, told apart before a parser reads one as an article.

A site that takes the visitor for a robot often answers 200 with a small page — "访问过于频繁，请稍后再试",
"请拖动滑块完成验证", "当前环境异常" — which the generic extractor would keep as a two-line article. Such
a page is small and says little besides the phrase; an article that merely quotes the phrase has text
around it. The check is cheap: pages over :data:`SMALL_PAGE` bytes are not looked at.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from parsers.decode import decode_html
from parsers.errors import NotAnArticle, ParseError

# a phrase from this list on a small page with little text is a verification page
VERIFICATION_PHRASES = (
    "访问过于频繁",
    "请求过于频繁",
    "操作过于频繁",
    "访问频率过高",
    "拖动滑块",
    "拖动下方滑块",
    "滑动验证",
    "滑块验证",
    "完成验证",
    "安全验证",
    "人机验证",
    "请完成验证",
)
# these also name other things ("环境异常" in a weather brief): only together with a word of VERIFY_WORDS
AMBIGUOUS_PHRASES = ("环境异常", "网络环境异常", "异常访问", "验证码")
VERIFY_WORDS = ("验证", "滑块", "captcha", "稍后再试")
SMALL_PAGE = 64 * 1024  # bytes; verification pages are a few KB, an article page with its furniture rarely this small
MAX_TEXT = 200  # visible characters (spaces aside) a verification page shows at most; a news brief has more
HIDDEN = ["script", "style", "noscript", "template", "svg"]


def verification_phrase(page: bytes | str, *, content_type: str | None = None) -> str | None:
    """The phrase that makes ``page`` a verification page, or None (also for pages too large to be one)."""
    if len(page) > SMALL_PAGE:
        return None
    try:
        html = decode_html(page, content_type=content_type)
    except ParseError:
        return None  # the parser says what is wrong with it
    if not any(p in html for p in (*VERIFICATION_PHRASES, *AMBIGUOUS_PHRASES)):
        return None  # the common case: no need to build a tree
    tree = LexborHTMLParser(html)
    tree.strip_tags(HIDDEN)
    text = tree.root.text(separator=" ") if tree.root is not None else ""
    if len("".join(text.split())) > MAX_TEXT:
        return None
    for phrase in VERIFICATION_PHRASES:
        if phrase in text:
            return phrase
    lowered = text.lower()
    for phrase in AMBIGUOUS_PHRASES:
        if phrase in text and any(w in lowered for w in VERIFY_WORDS if w != phrase):
            return phrase
    return None


def check_verification(page: bytes | str, url: str, *, content_type: str | None = None) -> None:
    """Raise ``NotAnArticle("verification")`` when ``page`` is a verification page, from any host."""
    phrase = verification_phrase(page, content_type=content_type)
    if phrase is not None:
        raise NotAnArticle("verification", url=url, detail=f"says {phrase!r}")
