"""WeChat Reading Web (weread.qq.com): the answers it gives, read without any I/O.

WeRead lists a WeChat official account's mass-sent posts to a logged-in user who has the account on
their shelf; that is the one route to an account's article list that still works (the admin-backend
trick stopped on 2026-07-29). Every endpoint, field name and error code below is data, because WeChat
moves them: correct them here and nowhere else. The session cookies are not this module's business
beyond reading a cookie file's text: the I/O (and the secrecy) lives in :mod:`ingest.weread`.

- an account's book id is ``MP_WXS_`` + the number its ``__biz`` base64-decodes to;
- a list answer holds ``reviews`` groups (one per mass send), each with ``subReviews`` (one per
  article); the paging ``offset`` counts groups, not articles;
- an article is ``https://mp.weixin.qq.com/s/<originalId>`` with every ``~`` made ``_`` (WeRead writes
  the short link's ``_`` as ``~``; WeChat answers 参数错误 to the ``~`` form);
- an error is a JSON ``errCode``: the login is gone, risk control, or something else.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

from parsers.dates import from_epoch
from parsers.errors import InvalidURL, JianbaoError, NotAnArticle, ParseError
from parsers.listings import Entry, Listing, PageNumber, clean_url
from parsers.urls import canonical_url, wechat_ids
from parsers.wechat import parse_wechat

# --- endpoints ----------------------------------------------------------------------------------------

HOST = "weread.qq.com"
ORIGIN = f"https://{HOST}"
LOGIN_UID_PATH = "/api/auth/getLoginUid"  # -> {"uid": …}
LOGIN_INFO_PATH = "/api/auth/getLoginInfo"  # ?uid=…&otp= long-polls ~70 s
CONFIRM_URL = ORIGIN + "/web/confirm?uid={uid}"  # what the QR code holds
# after the scan: the web app hands the tokens back to set the rest of its cookies (best effort here)
SESSION_INIT_PATH = "/web/login/session/init"  # POST {"vid", "pf": 0, "skey", "rt"}
RENEWAL_PATH = "/web/login/renewal"  # POST, cookies wr_vid + wr_rt -> Set-Cookie wr_skey
RENEWAL_BODY: dict[str, Any] = {"rq": "%2Fweb%2Fbook%2Fread", "ql": False}  # what the web app sends
# the shelf with each book's deep link (also the cheap "does the session work" call); `/web/shelf/bookIds`
# answers which of the book ids it is given are on the shelf, which lists nothing by itself
SHELF_PATH = "/web/shelf/sync?synckey=0&teenmode=0&album=1"
SHELF_ADD_PATH = "/mp/shelf/addToShelf"  # POST {"bookIds": [...]}
ARTICLES_PATH = "/web/mp/articles"  # ?bookId=MP_WXS_…&offset=<groups>
ARTICLE_URL = "https://mp.weixin.qq.com/s/{id}"
# an account's reader page; list calls made outside its context are reported to earn -2041, so they
# carry it as their Referer (its id is the `v` of the book's deep link on the shelf)
READER_URL = ORIGIN + "/web/mp/reader/{v}"

BOOK_ID_PREFIX = "MP_WXS_"
ID_WEREAD_CHAR, ID_WECHAT_CHAR = "~", "_"

# --- cookies ------------------------------------------------------------------------------------------

COOKIE_VID = "wr_vid"
COOKIE_SKEY = "wr_skey"  # short-lived: hours to a day
COOKIE_RT = "wr_rt"  # the refresh token that renews wr_skey
COOKIE_PREFIX = "wr_"  # every WeRead cookie; nothing else is kept from a cookie file
REQUIRED_COOKIES = (COOKIE_VID, COOKIE_SKEY)

# --- answer fields ------------------------------------------------------------------------------------

ERR_FIELDS = ("errCode", "errcode")
ERR_MESSAGE_FIELDS = ("errMsg", "errmsg")
ERR_NESTED = "data"  # some answers wrap the error one level down
ERR_LOGIN_GONE = frozenset({-2012, -2010})
ERR_RISK_CONTROL = frozenset({-2041})

F_REVIEWS = "reviews"
F_SUB_REVIEWS = "subReviews"
F_REVIEW = "review"
F_MP_INFO = "mpInfo"
F_TITLE = "title"
F_ORIGINAL_ID = "originalId"
F_COVER = "pic_url"
F_DIGEST = "content"
F_TIME = "time"
F_CREATE_TIME = "createTime"
F_REVIEW_ID = "reviewId"

F_UID = "uid"
F_SUCCEED = "succeed"
F_VID = ("webLoginVid", "vid")
F_ACCESS_TOKEN = ("accessToken", "skey")
F_REFRESH_TOKEN = ("refreshToken", "rt")
F_LOGIC_CODE = "logicCode"
LOGIC_WAITING = frozenset({"WAITING_SCAN", "WAITING_CONFIRM", "WAITING"})
LOGIC_TIMEOUT = frozenset({"LOGIN_TIMEOUT", "QRCODE_EXPIRED", "TIMEOUT"})

F_SHELF_IDS = ("books", "bookIds", "mpBookIds")
F_BOOK_ID = "bookId"
F_DEEP_LINK = "deepLink"
F_READER_ID = "v"  # the deep link's query parameter naming the reader page

SESSION_EXPIRED = "weread session expired: run jianbao login weread"

_ORIGINAL_ID = re.compile(r"^[\w~-]+$")
_DIGITS = re.compile(r"^\d+$")


# --- errors -------------------------------------------------------------------------------------------


class WeReadError(JianbaoError):
    """WeRead answered with an error code (``code``), or with something that is not its answer."""

    def __init__(self, reason: str, *, code: int | None = None, url: str | None = None) -> None:
        self.code = code
        super().__init__(reason, url=url)


class WeReadLoginExpired(WeReadError):
    """The session is gone (``-2012``/``-2010``) and could not be renewed: the user must log in again."""

    def __init__(self, reason: str = SESSION_EXPIRED, *, code: int | None = None) -> None:
        super().__init__(reason, code=code)


class WeReadRiskControl(WeReadError):
    """``-2041``: WeRead's risk control; ask nothing more for a while."""


# --- results ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeReadArticle:
    """One article of an account's list. ``url`` is the short ``/s/`` link WeChat serves."""

    url: str
    title: str | None = None
    published: datetime | None = None
    cover: str | None = None
    digest: str | None = None
    review_id: str | None = None

    def entry(self) -> Entry:
        return Entry(self.url, self.title, self.published)


@dataclass(frozen=True, slots=True)
class ArticleList:
    """One page of an account's list: its articles, newest first, and the offset of the next page."""

    articles: tuple[WeReadArticle, ...]
    groups: int  # top-level groups on this page (what ``offset`` counts)
    next: PageNumber | None

    def listing(self) -> Listing:
        return Listing(tuple(a.entry() for a in self.articles), next=self.next)


@dataclass(frozen=True, slots=True)
class LoginInfo:
    """One ``getLoginInfo`` answer: ``state`` is ``waiting``, ``timeout`` or ``success``."""

    state: str
    vid: str | None = None
    access_token: str | None = None
    refresh_token: str | None = None

    def __repr__(self) -> str:  # never show the tokens, not even in a traceback
        return f"LoginInfo(state={self.state!r}, vid={'…' if self.vid else None})"


# --- reading answers ----------------------------------------------------------------------------------


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def _first(mapping: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if mapping.get(name) not in (None, ""):
            return mapping[name]
    return None


def error_code(data: Any) -> tuple[int, str] | None:
    """The non-zero error code (and its message) an answer carries, at its top or one level down."""
    for where in (data, data.get(ERR_NESTED) if isinstance(data, dict) else None):
        if not isinstance(where, dict):
            continue
        code = _as_int(_first(where, ERR_FIELDS))
        if code:
            message = _first(where, ERR_MESSAGE_FIELDS)
            return code, message if isinstance(message, str) else ""
    return None


def raise_for_error(data: Any) -> None:
    """Raise the typed error an answer's ``errCode`` stands for; nothing when it has none."""
    found = error_code(data)
    if found is None:
        return
    code, message = found
    if code in ERR_LOGIN_GONE:
        raise WeReadLoginExpired(code=code)
    detail = f" ({message[:80]})" if message else ""
    if code in ERR_RISK_CONTROL:
        raise WeReadRiskControl(f"weread risk control: errCode {code}{detail}", code=code)
    raise WeReadError(f"weread answered errCode {code}{detail}", code=code)


def parse_answer(data: bytes | str) -> Any:
    """A WeRead JSON answer, its error code raised as a typed error; ParseError when it is not JSON."""
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError("weread answer is not JSON") from exc
    raise_for_error(value)
    return value


def _article(review: Any, group: dict[str, Any]) -> WeReadArticle | None:
    if not isinstance(review, dict):
        return None
    info = review.get(F_MP_INFO)
    if not isinstance(info, dict):
        return None
    original = info.get(F_ORIGINAL_ID)
    if not isinstance(original, str) or not _ORIGINAL_ID.match(original.strip()):
        return None
    url = ARTICLE_URL.format(id=original.strip().replace(ID_WEREAD_CHAR, ID_WECHAT_CHAR))
    title = info.get(F_TITLE)
    digest = info.get(F_DIGEST)
    published = None
    for raw in (info.get(F_TIME), review.get(F_CREATE_TIME), group.get(F_CREATE_TIME)):
        published = from_epoch(raw) if raw not in (None, "") else None
        if published is not None:
            break
    review_id = review.get(F_REVIEW_ID)
    return WeReadArticle(
        url=url,
        title=(title.strip() or None) if isinstance(title, str) else None,
        published=published,
        cover=clean_url(info.get(F_COVER)),
        digest=(digest.strip() or None) if isinstance(digest, str) else None,
        review_id=review_id if isinstance(review_id, str) else None,
    )


def parse_article_list(data: bytes | str, *, offset: int = 0) -> ArticleList:
    """One ``/web/mp/articles`` answer fetched at ``offset``: articles newest first, then the next offset.

    A group is one mass send: its ``subReviews`` are its articles (a group without them is read as one
    article itself). An empty list ends the account; an entry without a usable ``originalId`` is
    skipped. Raises the typed WeRead errors for an ``errCode``, ParseError for an unreadable answer.
    """
    value = parse_answer(data)
    if not isinstance(value, dict):
        raise ParseError("weread article list is not a JSON object")
    groups = value.get(F_REVIEWS)
    if groups is None:
        groups = []
    if not isinstance(groups, list):
        raise ParseError(f"weread article list: {F_REVIEWS} is not a list")
    articles: list[WeReadArticle] = []
    seen: set[str] = set()
    for group in groups:
        if not isinstance(group, dict):
            continue
        subs = group.get(F_SUB_REVIEWS)
        reviews = [s.get(F_REVIEW) for s in subs if isinstance(s, dict)] if isinstance(subs, list) else []
        if not reviews:
            reviews = [group.get(F_REVIEW, group)]
        for review in reviews:
            article = _article(review, group)
            if article is not None and article.url not in seen:
                seen.add(article.url)
                articles.append(article)
    count = len(groups)
    return ArticleList(tuple(articles), count, PageNumber(offset + count) if count else None)


def parse_login_uid(data: bytes | str) -> str:
    value = parse_answer(data)
    uid = value.get(F_UID) if isinstance(value, dict) else None
    if not isinstance(uid, str | int) or isinstance(uid, bool) or not str(uid).strip():
        raise ParseError("weread login answer names no uid")
    return str(uid).strip()


def parse_login_info(data: bytes | str) -> LoginInfo:
    """One long-poll answer: success with the vid and tokens, still waiting, or the QR code expired."""
    value = parse_answer(data)
    if not isinstance(value, dict):
        raise ParseError("weread login answer is not a JSON object")
    vid = _first(value, F_VID)
    access = _first(value, F_ACCESS_TOKEN)
    refresh = _first(value, F_REFRESH_TOKEN)
    succeeded = value.get(F_SUCCEED) in (True, 1, "1", "true")
    if succeeded and vid not in (None, "") and isinstance(access, str) and access:
        return LoginInfo(
            "success",
            vid=str(vid),
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        )
    logic = value.get(F_LOGIC_CODE)
    if isinstance(logic, str) and logic.upper() in LOGIC_TIMEOUT:
        return LoginInfo("timeout")
    return LoginInfo("waiting")


def parse_shelf(data: bytes | str) -> dict[str, str | None]:
    """The accounts on the user's shelf: book id (``MP_WXS_…``) -> its reader page URL (None when the
    answer gives no deep link), whichever list the answer keeps them in."""
    value = parse_answer(data)
    found: dict[str, str | None] = {}

    def reader(link: Any) -> str | None:
        if not isinstance(link, str):
            return None
        m = re.search(r"[?&]" + re.escape(F_READER_ID) + r"=([\w-]+)", link)
        return READER_URL.format(v=m.group(1)) if m else None

    def walk(node: Any, depth: int) -> None:
        if depth > 4:
            return
        if isinstance(node, str):
            if node.startswith(BOOK_ID_PREFIX):
                found.setdefault(node, None)
        elif isinstance(node, list):
            for item in node:
                walk(item, depth + 1)
        elif isinstance(node, dict):
            book = node.get(F_BOOK_ID)
            if isinstance(book, str) and book.startswith(BOOK_ID_PREFIX):
                found[book] = reader(node.get(F_DEEP_LINK)) or found.get(book)
            for name in F_SHELF_IDS:
                if name in node:
                    walk(node[name], depth + 1)

    walk(value, 0)
    return found


# --- identities ---------------------------------------------------------------------------------------


def book_id(biz: str) -> str:
    """``MzA3MDM3NjE5NQ==`` -> ``MP_WXS_3070376195`` (a book id given is returned as it is).

    Accepts the ``__biz`` URL-encoded or without its padding; ParseError when it does not decode to a number.
    """
    raw = unquote(biz.strip())
    if raw.startswith(BOOK_ID_PREFIX) and _DIGITS.match(raw[len(BOOK_ID_PREFIX) :]):
        return raw
    padded = raw + "=" * (-len(raw) % 4)
    try:
        number = base64.b64decode(padded, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        number = ""
    if not _DIGITS.match(number):
        raise ParseError(f"not a WeChat __biz: {biz!r}")
    return BOOK_ID_PREFIX + number


def articles_path(book: str, offset: int) -> str:
    return f"{ARTICLES_PATH}?bookId={quote(book, safe='')}&offset={int(offset)}"


def biz_of_url(url: str) -> str | None:
    """The ``__biz`` a long WeChat link carries (a short ``/s/…`` link has none)."""
    try:
        biz = wechat_ids(url).get("__biz")
    except InvalidURL:
        return None
    return biz or None


def parse_article_biz(page: bytes | str, url: str) -> str:
    """The ``__biz`` of the account that published the article page at ``url`` (the WeChat parser's ids).

    ParseError when the page names none (a status page for a deleted article still may).
    """
    found = biz_of_url(url)
    if found:
        return found
    try:
        biz = parse_wechat(page, canonical_url(url)).biz
    except NotAnArticle as exc:
        raise ParseError(f"article page names no account ({exc.reason})", url=url) from exc
    except InvalidURL as exc:
        raise ParseError(exc.reason, url=url) from exc
    if not biz:
        raise ParseError("article page names no __biz", url=url)
    return biz


# --- cookie files -------------------------------------------------------------------------------------


def _weread_domain(domain: str) -> bool:
    domain = domain.strip().lstrip(".").lower()
    return domain == HOST or HOST.endswith("." + domain)


def parse_cookie_text(text: str) -> dict[str, str]:
    """The WeRead cookies (``wr_*``) in a cookie file a browser extension or the user wrote.

    Read: a ``Cookie:`` header value (``wr_vid=…; wr_skey=…``), a Netscape ``cookies.txt``, or a JSON
    export (a list of ``{"name", "value", "domain"}`` or one ``{name: value}`` object). Cookies of other
    domains and names are dropped. ParseError when ``wr_vid`` or ``wr_skey`` is missing; the message
    names the missing cookie, never a value.
    """
    text = text.lstrip("\ufeff").strip()
    cookies: dict[str, str] = {}
    if text.startswith(("[", "{")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ParseError("cookie file is not valid JSON") from exc
        items = data if isinstance(data, list) else [data]
        for item in items:
            if not isinstance(item, dict):
                continue
            if "name" in item and "value" in item:
                domain = item.get("domain") or HOST
                if isinstance(domain, str) and _weread_domain(domain):
                    cookies[str(item["name"])] = str(item["value"])
            else:
                cookies.update({str(k): str(v) for k, v in item.items() if isinstance(v, str | int)})
    elif any(line.count("\t") >= 6 for line in text.splitlines()):
        for line in text.splitlines():
            if line.startswith("#HttpOnly_"):
                line = line[len("#HttpOnly_") :]
            elif line.startswith("#") or not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) >= 7 and _weread_domain(fields[0]):
                cookies[fields[5].strip()] = fields[6].strip()
    else:
        header = re.sub(r"^\s*cookie\s*:\s*", "", " ".join(text.splitlines()), flags=re.I)
        for part in header.split(";"):
            name, sep, value = part.partition("=")
            if sep:
                cookies[name.strip()] = value.strip().strip('"')
    kept = {k: v for k, v in cookies.items() if k.startswith(COOKIE_PREFIX) and v}
    for name in REQUIRED_COOKIES:
        if name not in kept:
            raise ParseError(f"no {name} cookie for {HOST}")
    return kept
