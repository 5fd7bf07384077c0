"""WeChat Reading Web (weread.qq.com) for ``wechat-account`` sources: the session, its client, login,
and discovery of an account's articles.

Secrecy is this module's first job. The session (cookies ``wr_vid``, ``wr_skey``, ``wr_rt``) is the
user's own WeChat account:

- it lives in a file beside config.toml (:data:`SESSION_FILE`, mode 0600, written atomically), or for
  containers in ``$JIANBAO_WEREAD_COOKIE``; never in the database, which people share and publish;
- it is sent by :class:`WeReadClient` only, a client of its own that can address nothing but
  ``https://weread.qq.com`` and never follows a redirect; article pages are fetched by the crawl's
  :class:`~ingest.fetch.Fetcher`, which never sees a cookie;
- neither :class:`Session`'s repr nor any error message carries a cookie value.

WeRead's side of things (paths, fields, codes) is data in :mod:`parsers.weread`. Limits: list calls
at most every ``[wechat] list_interval`` seconds and ``[wechat] list_daily_limit`` a day (counted in
the database, so overlapping cron runs share it); at most ``[wechat] follow_per_day`` accounts added to
the shelf a day; ``-2041`` (risk control) is waited out once, then ``weread.qq.com`` cools down across
runs through the host policy and every account source stops for the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from ingest.config import Config, SourceConfig
from ingest.errors import Blocked, ConfigError, DeadlineExceeded, PermanentFetchError, TransientFetchError
from ingest.fetch import RETRY_HTTP_CODES, map_error, proxy_secrets
from ingest.hosts import HostPaused, HostPolicy
from ingest.seen import SeenURLs
from parsers.article import SHANGHAI
from parsers.errors import InvalidURL, JianbaoError, ParseError
from parsers.listings import Cursor, Entry, Listing, PageNumber
from parsers.urls import canonical_url
from parsers.weread import (
    CONFIRM_URL,
    COOKIE_PREFIX,
    COOKIE_RT,
    COOKIE_SKEY,
    COOKIE_VID,
    HOST,
    LOGIN_INFO_PATH,
    LOGIN_UID_PATH,
    ORIGIN,
    RENEWAL_BODY,
    RENEWAL_PATH,
    SESSION_EXPIRED,
    SESSION_INIT_PATH,
    SHELF_ADD_PATH,
    SHELF_PATH,
    ArticleList,
    LoginInfo,
    WeReadError,
    WeReadLoginExpired,
    WeReadRiskControl,
    articles_path,
    biz_of_url,
    book_id,
    parse_answer,
    parse_article_biz,
    parse_article_list,
    parse_cookie_text,
    parse_login_info,
    parse_login_uid,
    parse_shelf,
)
from storage import accounts as stored
from storage import hoststate

SESSION_FILE = "weread-session.json"  # beside config.toml (the working folder when there is none)
ENV_COOKIE = "JIANBAO_WEREAD_COOKIE"  # a Cookie header value; wins over the file (containers)
KIND = "wechat-account"
NO_SESSION = "no weread session: run jianbao login weread"
RENEW_AFTER = timedelta(hours=2)  # wr_skey lasts hours to a day: renew before the first call past this age
POLL_TIMEOUT = 75.0  # getLoginInfo holds the request ~70 s
LOGIN_DEADLINE = 300.0  # give up waiting for the scan after this long
POLL_PAUSE = 1.0  # between two poll answers that came back at once
RISK_RETRY_WAIT = 60.0  # after a first -2041, wait this long and try once more
RISK_MIN_PAUSE = 3600.0  # -2041 twice: pause the rest of the day (Asia/Shanghai), at least this long
HEADERS = {"Accept": "application/json, text/plain, */*", "Referer": ORIGIN + "/", "Origin": ORIGIN}


# --- the session --------------------------------------------------------------------------------------


class SessionError(JianbaoError):
    """The session file or variable cannot be used (the message never quotes its content)."""


@dataclass(repr=False)
class Session:
    """The WeRead cookies and what is known of them. ``path`` is where renewals are saved (None: the
    session came from ``$JIANBAO_WEREAD_COOKIE`` and is renewed in memory only)."""

    cookies: dict[str, str]
    origin: str  # "qr", "cookie-file" or "env"
    created: datetime | None = None
    renewed: datetime | None = None
    expired: datetime | None = None  # when a crawl found it gone (kept so `stats` can say so offline)
    path: Path | None = None

    def __repr__(self) -> str:
        return f"Session(origin={self.origin!r}, path={str(self.path) if self.path else None!r})"

    @property
    def can_renew(self) -> bool:
        return bool(self.cookies.get(COOKIE_RT))

    def header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def to_json(self) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat(timespec="seconds") if d else None

        return {
            "cookies": self.cookies,
            "origin": self.origin,
            "created": iso(self.created),
            "renewed": iso(self.renewed),
            "expired": iso(self.expired),
        }


def session_path(config: Config) -> Path:
    return config.base_dir / SESSION_FILE


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def load_session(path: Path, *, environ: Mapping[str, str] = os.environ) -> Session | None:
    """The session to use: ``$JIANBAO_WEREAD_COOKIE`` when set, else the file at ``path``, else None."""
    raw = environ.get(ENV_COOKIE, "").strip()
    if raw:
        try:
            return Session(parse_cookie_text(raw), "env")
        except ParseError as exc:
            raise SessionError(f"{ENV_COOKIE}: {exc.reason}") from None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SessionError(f"cannot read the weread session ({type(exc).__name__})", url=str(path)) from None
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # a copy made with a wider mode: only its owner may read it
    try:
        data = json.loads(text)
        cookies = {str(k): str(v) for k, v in data["cookies"].items() if str(k).startswith(COOKIE_PREFIX)}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SessionError("not a weread session file: run jianbao login weread", url=str(path)) from None
    if not cookies.get(COOKIE_VID) or not cookies.get(COOKIE_SKEY):
        raise SessionError("the weread session has no wr_vid/wr_skey: run jianbao login weread", url=str(path))
    return Session(
        cookies,
        str(data.get("origin") or "file"),
        created=_when(data.get("created")),
        renewed=_when(data.get("renewed")),
        expired=_when(data.get("expired")),
        path=path,
    )


def save_session(session: Session, path: Path) -> None:
    """Write the session to ``path`` atomically, readable by its owner only (0600 from the first byte)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = json.dumps(session.to_json(), ensure_ascii=False, indent=1).encode("utf-8")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.fchmod(fd, 0o600)  # O_CREAT's mode is masked by umask, and an old tmp file keeps its own
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise SessionError(f"cannot save the weread session: {exc.strerror or exc}", url=str(path)) from None
    session.path = path


def remove_session(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


# --- the client ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Answer:
    """One answer's body and the WeRead cookies it set."""

    content: bytes
    cookies: dict[str, str]
    status: int


class WeReadClient:
    """Talks to ``https://weread.qq.com`` and nowhere else, with the session's cookies.

    ``policy`` paces requests to the host and keeps its cool-down (``-2041``) across runs; its ``state``
    (the store) counts list calls a day. ``transport``, ``sleep`` and ``clock`` are for tests.
    ``count_lists`` False (a dry run) checks nothing against the daily cap and writes nothing.
    """

    def __init__(
        self,
        config: Config,
        session: Session | None = None,
        *,
        policy: HostPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        count_lists: bool = True,
        persist: bool = True,
        risk_wait: float | None = None,
    ) -> None:
        self.config = config
        self.session = session
        self.policy = policy if policy is not None else HostPolicy(config, clock=clock, sleep=sleep, now=now)
        self._sleep = sleep
        self._clock = clock
        self._now = now
        self.count_lists = count_lists
        self.persist = persist
        self.risk_wait = RISK_RETRY_WAIT if risk_wait is None else risk_wait
        self.expired = False  # the session is gone for this run: no further call is made with it
        self.list_calls = 0
        self._checked_age = False
        self._last_list = -math.inf
        self._list_lock = asyncio.Lock()
        self._renew_lock = asyncio.Lock()
        options: dict[str, Any] = {"transport": transport} if transport is not None else {}
        if transport is None and config.http.proxy:
            options["proxy"] = config.http.proxy
        names = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
        self._proxy_secrets = proxy_secrets([config.http.proxy, *(os.environ.get(n, "") for n in names)])
        self._http = httpx.AsyncClient(
            base_url=ORIGIN,
            trust_env=transport is None,
            timeout=httpx.Timeout(config.http.timeout),
            follow_redirects=False,  # a cookie never follows a redirect anywhere
            headers={"User-Agent": config.http.user_agent, **HEADERS},
            **options,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> WeReadClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- one request -----------------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any,
        auth: bool,
        timeout: float | None,
        retries: bool,
        extra: Mapping[str, str] | None = None,
    ) -> _Answer:
        if not path.startswith("/"):
            raise ValueError("weread paths are absolute paths on its own host")  # never a full URL
        url = ORIGIN + path
        headers = {k: v for k, v in (extra or {}).items() if k.lower() != "cookie"}
        if auth:
            assert self.session is not None
            headers["Cookie"] = self.session.header()
        http = self.config.http
        # a long poll is allowed its own read timeout; nothing may trickle past max_time
        deadline = max(http.max_time, timeout + http.timeout) if timeout else http.max_time
        retrying = AsyncRetrying(
            sleep=self._sleep,
            stop=stop_after_attempt(http.retries + 1 if retries else 1),
            wait=wait_random_exponential(multiplier=http.backoff, max=http.backoff_max),
            retry=retry_if_exception_type(TransientFetchError) & retry_if_not_exception_type(DeadlineExceeded),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                try:
                    async with self.policy.turn(HOST), asyncio.timeout(deadline):
                        response = await self._http.request(
                            method,
                            path,
                            json=json_body,
                            headers=headers,
                            timeout=httpx.Timeout(http.timeout, read=timeout) if timeout else httpx.USE_CLIENT_DEFAULT,
                        )
                except TimeoutError:
                    raise DeadlineExceeded(f"no complete answer within {deadline:g} s (max_time)", url=url) from None
                except HostPaused as exc:
                    raise Blocked(f"{HOST} is paused ({exc.reason})", url=ORIGIN) from None
                except httpx.HTTPError as exc:
                    raise map_error(exc, url, HOST, self._secrets()) from None
                finally:
                    self._http.cookies.clear()  # cookies are sent from the session only, never from a jar
                if response.status_code in RETRY_HTTP_CODES:
                    raise TransientFetchError(f"HTTP {response.status_code}", url=url, status=response.status_code)
                cookies = {k: v for k, v in response.cookies.items() if k.startswith(COOKIE_PREFIX) and v}
                return _Answer(response.content, cookies, response.status_code)
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _secrets(self) -> list[str]:
        """What an error message must never echo: proxy credentials and (should httpx ever quote a
        header) the session's cookie values."""
        cookies = [v for v in (self.session.cookies.values() if self.session else ()) if len(v) >= 3]
        return sorted({*self._proxy_secrets, *cookies}, key=len, reverse=True)

    async def _once(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        auth: bool = True,
        timeout: float | None = None,
        retries: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> _Answer:
        """One request and its answer checked: WeRead's error codes raised as their typed errors."""
        answer = await self._send(
            method, path, json_body=json_body, auth=auth, timeout=timeout, retries=retries, extra=headers
        )
        if auth and answer.cookies and self.session is not None:
            # WeRead refreshes cookies as it pleases; the latest are the session
            self.session.cookies.update(answer.cookies)
            self._save()
        if 300 <= answer.status < 400:
            raise PermanentFetchError(f"weread answered HTTP {answer.status} (not followed)", url=ORIGIN + path)
        try:
            parse_answer(answer.content)
        except ParseError:
            if answer.status >= 400:
                raise PermanentFetchError(f"HTTP {answer.status}", url=ORIGIN + path, status=answer.status) from None
            raise ParseError("weread answer is not JSON", url=ORIGIN + path) from None
        return answer

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        before: Callable[[], Awaitable[None]] | None = None,
    ) -> bytes:
        """A logged-in request: renewed once with ``wr_rt`` when the login is gone, ``-2041`` waited out
        once; ``before`` runs before each attempt (the list calls' interval and daily cap)."""
        if self.session is None:
            raise WeReadLoginExpired(NO_SESSION)
        if self.expired:
            raise WeReadLoginExpired()
        await self._renew_when_old()
        renewed = risk_waited = False
        while True:
            if before is not None:
                await before()
            used = self.session.cookies.get(COOKIE_SKEY)
            try:
                content = (await self._once(method, path, json_body=json_body, headers=headers)).content
            except WeReadLoginExpired:
                if renewed:
                    self._mark_expired()
                    raise
                await self.renew(stale=used)
                renewed = True
            except WeReadRiskControl as exc:
                if risk_waited:
                    raise await self._pause_for_risk(exc) from None
                risk_waited = True
                await self._sleep(self.risk_wait)
            else:
                if self.session.expired is not None:
                    self.session.expired = None  # an earlier run's verdict: it works now
                    self._save()
                return content

    # -- the session's life ----------------------------------------------------------------------------

    async def renew(self, *, stale: str | None = None, final: bool = True) -> None:
        """A new ``wr_skey`` through ``wr_rt``; WeReadLoginExpired when WeRead will not give one.

        ``stale`` is the skey a rejected request carried: when another request renewed it meanwhile,
        there is nothing to do (renewing twice would trade the fresh skey for nothing). With ``final``
        False (renewing ahead of time) a refusal is not yet the session's end."""
        session = self.session
        if session is None:
            raise WeReadLoginExpired(NO_SESSION)
        async with self._renew_lock:
            if self.expired:
                raise WeReadLoginExpired()
            if stale is not None and session.cookies.get(COOKIE_SKEY) != stale:
                return
            if not session.can_renew:
                self._mark_expired(final)
                raise WeReadLoginExpired()
            before = session.cookies.get(COOKIE_SKEY)
            try:
                answer = await self._once("POST", RENEWAL_PATH, json_body=RENEWAL_BODY)
            except WeReadError:
                self._mark_expired(final)
                raise WeReadLoginExpired() from None
            fresh = answer.cookies.get(COOKIE_SKEY)
            if not fresh or fresh == before:
                self._mark_expired(final)
                raise WeReadLoginExpired()
            session.renewed = self._now()
            session.expired = None
            self._save()

    async def _renew_when_old(self) -> None:
        if self._checked_age or self.session is None:
            return
        self._checked_age = True
        session = self.session
        last = session.renewed or session.created
        if session.can_renew and last is not None and self._now() - last > RENEW_AFTER:
            # the skey may still work when renewal does not: let the call itself decide then
            with contextlib.suppress(WeReadLoginExpired):
                await self.renew(final=False)

    def _mark_expired(self, final: bool = True) -> None:
        if not final:
            return
        self.expired = True
        if self.session is not None and self.session.expired is None:
            self.session.expired = self._now()
            self._save()

    def _save(self) -> None:
        session = self.session
        if self.persist and session is not None and session.path is not None and session.origin != "env":
            with contextlib.suppress(SessionError):  # the run goes on with the session in memory
                save_session(session, session.path)

    async def _pause_for_risk(self, exc: WeReadRiskControl) -> Blocked:
        now = self._now().astimezone(SHANGHAI)
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), SHANGHAI)
        seconds = max((midnight - now).total_seconds(), RISK_MIN_PAUSE)
        waited = await self.policy.cool_down(
            HOST, seconds=seconds, reason=f"risk control ({exc.code})", rest_of_run=True
        )
        return Blocked(
            f"weread risk control ({exc.code}): account sources paused for {waited / 3600:.1f} h", url=ORIGIN
        )

    # -- endpoints -------------------------------------------------------------------------------------

    async def shelf(self) -> dict[str, str | None]:
        """The accounts on the user's shelf (book id -> reader page); also the one cheap call that says
        the session works."""
        return parse_shelf(await self.call("GET", SHELF_PATH))

    async def shelf_ids(self) -> frozenset[str]:
        return frozenset(await self.shelf())

    async def add_to_shelf(self, book_ids: list[str]) -> None:
        await self.call("POST", SHELF_ADD_PATH, json_body={"bookIds": book_ids})

    async def list_articles(self, book: str, offset: int, *, reader: str | None = None) -> bytes:
        """One page of an account's list (raw answer, error codes raised), paced and counted; ``reader``
        is the account's reader page, sent as the Referer a browser would send."""
        headers = {"Referer": reader} if reader else None
        data = await self.call("GET", articles_path(book, offset), headers=headers, before=self._list_turn)
        self.list_calls += 1
        return data

    async def _list_turn(self) -> None:
        async with self._list_lock:
            wait = self._last_list + self.config.wechat.list_interval - self._clock()
            if wait > 0:
                await self._sleep(wait)
            state = self.policy.state
            limit = self.config.wechat.list_daily_limit
            if (
                self.count_lists
                and state is not None
                and not await state.take(stored.LIST_COUNTER, day=self.policy.today(), limit=limit)
            ):
                raise Blocked(f"weread list calls: the daily limit of {limit} is reached", url=ORIGIN)
            self._last_list = self._clock()

    async def login_uid(self) -> str:
        return parse_login_uid((await self._once("GET", LOGIN_UID_PATH, auth=False)).content)

    async def login_info(self, uid: str, *, timeout: float) -> tuple[LoginInfo, dict[str, str]]:
        """One long poll; a poll that times out is still waiting."""
        path = f"{LOGIN_INFO_PATH}?uid={quote(uid, safe='')}&otp="
        try:
            answer = await self._once("GET", path, auth=False, timeout=timeout, retries=False)
        except TransientFetchError:
            return LoginInfo("waiting"), {}
        return parse_login_info(answer.content), answer.cookies


async def login_qr(
    client: WeReadClient,
    *,
    show: Callable[[str], None],
    poll_timeout: float | None = None,
    deadline: float | None = None,
    pause: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Session:
    """The QR login: ask for a login uid, ``show`` the confirm URL (as a QR code), poll until WeChat says
    the user confirmed; the new session (not saved: the caller checks and saves it)."""
    # the module's constants are read now, not at import: tests shorten them
    poll_timeout = POLL_TIMEOUT if poll_timeout is None else poll_timeout
    deadline = LOGIN_DEADLINE if deadline is None else deadline
    pause = POLL_PAUSE if pause is None else pause
    uid = await client.login_uid()
    show(CONFIRM_URL.format(uid=quote(uid, safe="")))
    start = clock()
    while clock() - start < deadline:
        info, cookies = await client.login_info(uid, timeout=poll_timeout)
        if info.state == "success":
            assert info.vid is not None and info.access_token is not None
            jar = {**cookies, COOKIE_VID: info.vid, COOKIE_SKEY: info.access_token}
            if info.refresh_token:
                jar[COOKIE_RT] = info.refresh_token
            # the cookies the web app gets next; the tokens alone are a session too (the check decides)
            body = {"vid": info.vid, "pf": 0, "skey": info.access_token, "rt": info.refresh_token or ""}
            with contextlib.suppress(JianbaoError):
                jar.update((await client._once("POST", SESSION_INIT_PATH, json_body=body, auth=False)).cookies)
            at = now()
            return Session(jar, "qr", created=at, renewed=at)
        if info.state == "timeout":
            raise WeReadError("the QR code expired before it was confirmed: run jianbao login weread again")
        await sleep(pause)
    raise WeReadError(f"no confirmation within {deadline:g} s: run jianbao login weread again")


# --- discovery ----------------------------------------------------------------------------------------

Note = Callable[[str], None]


class WeReadAccounts:
    """The WeRead side of one crawl: one client (made when first needed), the shelf, follows, resumes.

    ``run_store`` runs a storage function on the importer's store thread; ``fetcher`` reads article
    pages (an ``article = "…"`` source's ``__biz``) without any cookie. With ``dry_run`` no counter
    and no row is written; a new account is still added to the shelf (WeRead lists only those), within
    the day's follow limit, and the session file still takes a renewal.
    """

    def __init__(
        self,
        config: Config,
        *,
        store: Any,
        run_store: Callable[..., Awaitable[Any]],
        policy: HostPolicy,
        dry_run: bool = False,
        client: WeReadClient | None = None,
        environ: Mapping[str, str] = os.environ,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.store = store
        self.run_store = run_store
        self.policy = policy
        self.dry_run = dry_run
        self.environ = environ
        self.now = now
        self.on_note: Note | None = None
        self._client = client
        self._client_lock = asyncio.Lock()
        self._shelf: dict[str, str | None] | None = None
        self._follow_lock = asyncio.Lock()
        self._said: set[str] = set()

    async def client(self) -> WeReadClient:
        async with self._client_lock:
            if self._client is None:
                session = load_session(session_path(self.config), environ=self.environ)
                if session is None:
                    raise WeReadLoginExpired(NO_SESSION)
                self._client = WeReadClient(
                    self.config,
                    session,
                    policy=self.policy,
                    now=self.now,
                    count_lists=not self.dry_run,
                    # renewals are saved even in a dry run: WeRead may have replaced wr_rt along the way
                )
            return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def note(self, message: str) -> None:
        """Say ``message`` once per run."""
        if message not in self._said:
            self._said.add(message)
            if self.on_note is not None:
                self.on_note(message)

    async def _write(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        if not self.dry_run:
            await self.run_store(fn, self.store, *args, **kwargs)

    async def resolve(self, source: SourceConfig, fetcher: Any) -> tuple[str, str]:
        """The source's (book id, biz): from ``biz``, or from its ``article``'s page (read once, kept)."""
        raw_biz, article = source.extra.get("biz"), source.extra.get("article")
        if not raw_biz and isinstance(article, str) and article:
            try:
                url = canonical_url(article)
            except InvalidURL as exc:
                raise ConfigError(f"source {source.name!r}: article {exc.reason}", key="article") from None
            raw_biz = biz_of_url(url) or await self.run_store(stored.biz_for_article, self.store, url)
            if not raw_biz:
                page = await fetcher.fetch(url)  # the crawl's fetcher: WeChat's pace, no cookie
                raw_biz = parse_article_biz(page.content, page.final_url or url)
                await self._write(stored.save_article_biz, url, raw_biz, at=self.now())
        if not isinstance(raw_biz, str) or not raw_biz:
            raise ConfigError(f"source {source.name!r} of kind {KIND!r} needs biz or article", key="biz")
        try:
            return book_id(raw_biz), raw_biz.strip()
        except ParseError as exc:
            raise ConfigError(f"source {source.name!r}: {exc.reason}", key="biz") from None

    async def follow(self, book: str, biz: str) -> tuple[bool, str | None]:
        """Make sure the account is on the shelf: (True, its reader page when known), or (False, None) when
        today's follow limit keeps it waiting. The shelf is read at most once a run (twice when the crawl
        added accounts to it), and only for accounts not known to be on it with their reader page."""
        async with self._follow_lock:
            state = await self.run_store(stored.load_account, self.store, book)
            if state is not None and state.followed is not None and (state.reader or self._shelf is not None):
                return True, state.reader
            client = await self.client()
            shelf = self._shelf
            if shelf is None:
                shelf = self._shelf = await client.shelf()
            if book in shelf:
                reader = shelf[book]
                await self._write(stored.save_followed, book, biz, at=self.now(), reader=reader)
                return True, reader
            limit = self.config.wechat.follow_per_day
            if not await self._may_follow(limit):
                self.note(f"weread: {limit} accounts a day added to the shelf already; the others wait for tomorrow")
                return False, None
            await client.add_to_shelf([book])
            # read again for the new account's reader page
            shelf = self._shelf = {**shelf, book: None, **await client.shelf()}
            reader = shelf.get(book)
            await self._write(stored.save_followed, book, biz, at=self.now(), reader=reader)
            return True, reader

    async def _may_follow(self, limit: int) -> bool:
        """One more follow today? Counted in the database; a dry run (which writes nothing) only looks:
        WeRead lists an account only from its reader page, so even a dry run must follow it first."""
        state = self.policy.state
        if self.dry_run:
            used = await self.run_store(
                hoststate.count_today, self.store, stored.FOLLOW_COUNTER, day=self.policy.today()
            )
            return bool(used < limit)
        return state is None or await state.take(stored.FOLLOW_COUNTER, day=self.policy.today(), limit=limit)

    async def resume_offset(self, book: str) -> int | None:
        state = await self.run_store(stored.load_account, self.store, book)
        return state.resume if state is not None else None


@dataclass(frozen=True, slots=True)
class _Page:
    """What :func:`ingest.sources.page_through` reads of a fetched listing."""

    url: str
    final_url: str
    content: bytes
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


class _AccountWalk:
    """One account's list as a listing fetcher for the shared paging loop: each list call paced and
    counted by the client, the offset in hand saved first so an interrupted walk resumes there."""

    def __init__(self, accounts: WeReadAccounts, client: WeReadClient, book: str, biz: str, reader: str | None) -> None:
        self.accounts = accounts
        self.client = client
        self.book = book
        self.biz = biz
        self.reader = reader
        self.pages = 0
        self.last: ArticleList | None = None
        self.save_offsets = True

    def request(self, offset: int) -> Any:
        from ingest.sources import ListingRequest  # sources dispatches to this module

        url = ORIGIN + articles_path(self.book, offset)
        return ListingRequest(url, lambda data, _final: self._parse(data, offset), label=f"{self.book} offset {offset}")

    def follow(self, cursor: Cursor) -> Any:
        return self.request(cursor.number) if isinstance(cursor, PageNumber) else None

    @staticmethod
    def _parse(data: bytes, offset: int) -> Listing:
        return parse_article_list(data, offset=offset).listing()

    async def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        referer: str | None = None,
    ) -> _Page:
        offset = _offset_of(url)
        if self.save_offsets and offset > 0:
            await self.accounts._write(stored.save_resume, self.book, self.biz, offset)
        data = await self.client.list_articles(self.book, offset, reader=self.reader)
        self.pages += 1
        page = parse_article_list(data, offset=offset)
        self.last = page
        if page.articles:
            await self.accounts._write(stored.save_listed, self.book, self.biz, page.articles, at=self.accounts.now())
        return _Page(url, url, data)


def _offset_of(url: str) -> int:
    value = url.rsplit("offset=", 1)[-1]
    return int(value) if value.isdigit() else 0


async def fetch_account(
    source: SourceConfig,
    accounts: WeReadAccounts,
    seen: SeenURLs,
    *,
    fetcher: Any,
    pages: int,
) -> AsyncIterator[Entry]:
    """The new articles of a ``wechat-account`` source, newest first, through its WeRead list.

    Pages from the newest until a page brings nothing new or ``pages`` list calls were made. A walk
    cut short (risk control, the daily cap, a stop, ``--max``) leaves the offset it was at in the
    database; the next run, once the newest pages bring nothing new, picks up there. (Offsets count from
    the newest group, so posts published in between shift it a little: a page overlaps, nothing is
    skipped unless a whole page of groups was published meanwhile.)
    """
    from ingest.sources import page_through  # sources dispatches to this module

    book, biz = await accounts.resolve(source, fetcher)
    followed, reader = await accounts.follow(book, biz)
    if not followed:
        return
    client = await accounts.client()
    owed = await accounts.resume_offset(book)
    budget = max(1, pages)
    walk = _AccountWalk(accounts, client, book, biz, reader)
    # the newest pages first; an interruption here is owed only when nothing older was owed already
    walk.save_offsets = owed is None
    async for entry in page_through(walk, walk.request(0), seen, pages=budget, follow=walk.follow):
        yield entry
    if owed is None:
        if walk.pages > 1:
            await accounts._write(stored.save_resume, book, biz, None)
        return
    if walk.pages >= budget:
        return  # still owed; the next run goes on
    walk.save_offsets = True
    before = walk.pages
    async for entry in page_through(walk, walk.request(owed), seen, pages=budget - before, follow=walk.follow):
        yield entry
    # the budget ran out with more to come: still owed, from the next page on; otherwise paid
    left = walk.last.next.number if walk.pages >= budget and walk.last and walk.last.next else None
    await accounts._write(stored.save_resume, book, biz, left)


# --- for the CLI --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionStatus:
    """What ``login weread --status`` and ``stats`` say (never a cookie)."""

    path: str
    origin: str | None  # None: no session
    created: datetime | None = None
    renewed: datetime | None = None
    expired: datetime | None = None
    error: str | None = None  # the session file or variable cannot be read

    def line(self) -> str:
        if self.error:
            return f"weread session: unusable ({self.error})"
        if self.origin is None:
            return "weread session: none (run jianbao login weread)"
        where = f"from ${ENV_COOKIE}" if self.origin == "env" else f"{self.path} ({self.origin})"

        def day(d: datetime | None) -> str:
            return d.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if d else "never"

        state = f"expired {day(self.expired)}: run jianbao login weread" if self.expired else "logged in"
        return f"weread session: {state}; {where}; created {day(self.created)}, last renewed {day(self.renewed)}"


def session_status(config: Config, *, environ: Mapping[str, str] = os.environ) -> SessionStatus:
    """The session's state as far as it is known without asking WeRead."""
    path = session_path(config)
    try:
        session = load_session(path, environ=environ)
    except SessionError as exc:
        return SessionStatus(str(path), None, error=exc.reason)
    if session is None:
        return SessionStatus(str(path), None)
    return SessionStatus(str(path), session.origin, session.created, session.renewed, session.expired)


@dataclass(frozen=True, slots=True)
class AccountsUsage:
    """The accounts' bookkeeping for ``stats``: followed, owing older pages, today's calls against the caps."""

    followed: int
    owed: int
    list_calls: int
    list_limit: int
    follows: int
    follow_limit: int

    def line(self) -> str:
        return (
            f"weread accounts: {self.followed} followed, {self.owed} owing older pages; today "
            f"{self.list_calls} of {self.list_limit} list calls, {self.follows} of {self.follow_limit} follows"
        )


def accounts_usage(store: Any, config: Config, *, now: datetime | None = None) -> AccountsUsage:
    day = (now or datetime.now(UTC)).astimezone(SHANGHAI).date().isoformat()
    known = stored.accounts(store)
    return AccountsUsage(
        followed=sum(1 for a in known if a.followed is not None),
        owed=sum(1 for a in known if a.resume is not None),
        list_calls=hoststate.count_today(store, stored.LIST_COUNTER, day=day),
        list_limit=config.wechat.list_daily_limit,
        follows=hoststate.count_today(store, stored.FOLLOW_COUNTER, day=day),
        follow_limit=config.wechat.follow_per_day,
    )


async def check_session(client: WeReadClient) -> int:
    """One cheap call with the session (renewing it when WeRead asks): the number of accounts on the shelf."""
    return sum(1 for b in await client.shelf_ids())


__all__ = [
    "ENV_COOKIE",
    "KIND",
    "NO_SESSION",
    "SESSION_EXPIRED",
    "SESSION_FILE",
    "AccountsUsage",
    "Session",
    "SessionError",
    "SessionStatus",
    "WeReadAccounts",
    "WeReadClient",
    "accounts_usage",
    "check_session",
    "fetch_account",
    "load_session",
    "login_qr",
    "remove_session",
    "save_session",
    "session_path",
    "session_status",
]
