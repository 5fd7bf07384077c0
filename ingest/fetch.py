"""Polite, resilient HTTP fetching: one :class:`Fetcher` per crawl run.

Politeness: every request to a host (retries and redirect hops included) starts at least
``config.interval_for(host)`` seconds after the previous one; one request per host is in flight at a
time, at most ``config.http.concurrency`` overall, and hosts never queue behind each other's interval.

Resilience: transient failures (timeouts, resets, truncated bodies, statuses in
:data:`RETRY_HTTP_CODES`) are retried ``config.http.retries`` times with exponential backoff and full
jitter; permanent answers raise at once. Every httpx error leaves this module as a
:class:`~ingest.errors.FetchError` subclass naming the URL.

``Retry-After`` policy: a server asking for at most ``backoff_max`` seconds gets that wait (or the
jittered backoff if longer). A server asking for more is not retried early, which would be rude, nor
waited for, which would stall the run: the host is paused for the time asked and :class:`Blocked` is
raised, so the URL stays pending for a later run.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from ingest.config import Config
from ingest.errors import Blocked, FetchError, InvalidURL, PermanentFetchError, TooLarge, TransientFetchError

# the one place retry policy lives: statuses worth asking again (567 is qq.com's rate limit)
RETRY_HTTP_CODES = frozenset({429, 500, 502, 503, 504, 520, 522, 524, 567})
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
_HELD_LOCATION = "x-jianbao-location"

# a redirect whose Location contains one of these is an answer, not a detour
DELETED_MARKERS = ("babygohome",)  # qq.com's "this article was deleted" page
VERIFY_MARKERS = ("/mp/wappoc_appmsgcaptcha", "mp/verify", "secitptpage/verify")  # WeChat's captcha

BROWSER_HEADERS: dict[str, str] = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "Accept-Language": "zh-CN,zh;q=0.9",
}
JSON_ACCEPT = "application/json, text/plain, */*"
# extra headers per host suffix, the longest matching suffix wins (so WeChat gets no qq Referer);
# WeChat serves its full article only to a desktop browser, which the configured user agent is
SOURCE_HEADERS: dict[str, dict[str, str]] = {
    "mp.weixin.qq.com": {},
    "qq.com": {"Referer": "https://news.qq.com/"},
}


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched page: ``url`` as requested, ``final_url`` after redirects, lower-case ``headers`` keys."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    content: bytes
    fetched_at: datetime

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


@dataclass(slots=True)
class _Hop:
    """One answered request: either a redirect (``location``) or a page (``content``)."""

    url: httpx.URL
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    location: str | None = None
    content: bytes = b""


def retry_after_seconds(value: str | None, *, date: str | None = None) -> float | None:
    """Seconds asked by a ``Retry-After`` header (delta-seconds or HTTP date); None when absent or garbled.

    An HTTP date is measured against the response's own ``Date`` header when there is one, so a skewed
    local clock does not turn "in 30 s" into "now" or "in an hour".
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    now = datetime.now(UTC)
    if date:
        with contextlib.suppress(TypeError, ValueError, IndexError):
            now = parsedate_to_datetime(date)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _host_of(url: httpx.URL) -> str:
    return url.host.lower().rstrip(".")


def _headers_for(host: str) -> dict[str, str]:
    best: tuple[int, dict[str, str]] | None = None
    for suffix, extra in SOURCE_HEADERS.items():
        if (host == suffix or host.endswith("." + suffix)) and (best is None or len(suffix) > best[0]):
            best = (len(suffix), extra)
    return dict(best[1]) if best else {}


async def _hold_location(response: httpx.Response) -> None:
    # httpx prepares the next request of every redirect even when not following it, and raises on a
    # Location it cannot parse (javascript:, weixin://); redirects are judged and followed in _follow
    location = response.headers.get("location")
    if location is not None:
        del response.headers["location"]
        response.headers[_HELD_LOCATION] = location


def _map_error(exc: Exception, url: str) -> FetchError:
    """Turn an httpx exception into the jianbao error a caller can act on."""
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return TransientFetchError(f"timeout ({detail})", url=url)
    if isinstance(exc, httpx.RemoteProtocolError):
        # also what a body shorter than its Content-Length looks like
        return TransientFetchError(f"truncated or broken response ({detail})", url=url)
    if isinstance(exc, httpx.ProxyError):
        return TransientFetchError(f"proxy error ({detail})", url=url)
    if isinstance(exc, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(exc):
        # retrying will not make a certificate trusted
        return PermanentFetchError(f"TLS certificate rejected ({detail})", url=url)
    if isinstance(exc, httpx.NetworkError):
        return TransientFetchError(f"connection error ({detail})", url=url)
    if isinstance(exc, httpx.DecodingError):
        # a gzip stream cut short decodes badly: same cause as truncation
        return TransientFetchError(f"broken content encoding ({detail})", url=url)
    return PermanentFetchError(f"request failed ({detail})", url=url)


class Fetcher:
    """Fetch pages politely; use as ``async with Fetcher(config) as f: page = await f.fetch(url)``.

    ``transport``, ``clock``, ``sleep`` and ``rng`` are for tests: a mock transport, a fake clock and a
    sleep that advances it, a seeded jitter source. With a ``transport`` no proxy is mounted.
    """

    def __init__(
        self,
        config: Config,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._http = config.http
        self._clock = clock
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        options: dict[str, Any] = {}
        if transport is not None:
            options["transport"] = transport
        elif self._http.proxy:
            options["proxy"] = self._http.proxy
        # trust_env: HTTP(S)_PROXY / ALL_PROXY / NO_PROXY, and (httpx 0.28) SSL_CERT_FILE / SSL_CERT_DIR
        self._client = httpx.AsyncClient(
            trust_env=True,
            timeout=httpx.Timeout(self._http.timeout),
            follow_redirects=False,
            headers={"User-Agent": self._http.user_agent, **BROWSER_HEADERS},
            limits=httpx.Limits(max_connections=max(self._http.concurrency, 1) * 2),
            event_hooks={"response": [_hold_location]},
            **options,
        )
        self._slots = asyncio.Semaphore(self._http.concurrency)
        self._host_locks: dict[str, asyncio.Lock] = {}
        self._last_start: dict[str, float] = {}
        self._not_before: dict[str, float] = {}  # from Retry-After: no request to the host before this
        self._paused_until: dict[str, float] = {}
        self._strikes: dict[str, int] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- pausing ---------------------------------------------------------------------------------------

    def pause_host(self, host: str, seconds: float | None = None) -> None:
        """Refuse requests to ``host`` for ``seconds`` (None: the rest of this run); pauses only extend."""
        host = host.lower().rstrip(".")
        until = math.inf if seconds is None else self._clock() + max(0.0, seconds)
        self._paused_until[host] = max(until, self._paused_until.get(host, -math.inf))

    def is_paused(self, host: str) -> bool:
        return self._paused_until.get(host.lower().rstrip("."), -math.inf) > self._clock()

    def _cool_down(self, host: str) -> None:
        """Pause ``host`` after a redirect to WeChat's captcha: ``http.cooldown`` s, doubled per strike.

        In memory, for this run; the crawl pipeline keeps its own persisted strikes and may extend this.
        """
        host = host.lower().rstrip(".")
        strikes = self._strikes.get(host, 0)
        self._strikes[host] = strikes + 1
        self.pause_host(host, self._http.cooldown * 2.0 ** min(strikes, 30))

    def _refuse_if_paused(self, host: str, url: str) -> None:
        if self.is_paused(host):
            raise Blocked(f"host {host} is paused", url=url)

    # -- fetching --------------------------------------------------------------------------------------

    async def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        referer: str | None = None,
    ) -> Page:
        """Fetch ``url`` following redirects; a :class:`Page` for a 2xx answer, else a FetchError.

        Raises InvalidURL when ``url`` is not http(s) with a host, Blocked for a paused host or a
        verification redirect, PermanentFetchError for 4xx and deleted articles, TooLarge past
        ``max_bytes``, and TransientFetchError once retries are exhausted.
        """
        try:
            start = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise InvalidURL(f"not a valid URL ({exc})", url=url) from exc
        if start.scheme not in ("http", "https") or not start.host:
            raise InvalidURL("not an http(s) URL with a host", url=url)

        host = _host_of(start)
        sent = _headers_for(host)
        if json is not None:
            sent["Accept"] = JSON_ACCEPT
        if referer is not None:
            sent["Referer"] = referer
        sent.update(headers or {})

        attempts = 0
        retrying = AsyncRetrying(
            sleep=self._sleep,
            stop=stop_after_attempt(self._http.retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(TransientFetchError),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    return await self._follow(url, start, method.upper(), json, sent)
        except TransientFetchError as exc:
            raise TransientFetchError(
                f"{exc.reason} after {attempts} attempt{'s' if attempts != 1 else ''}",
                url=url,
                status=exc.status,
                retry_after=exc.retry_after,
            ) from exc
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        """Full jitter over an exponential ceiling, never shorter than a (capped) Retry-After."""
        ceiling = min(self._http.backoff_max, self._http.backoff * 2.0 ** min(state.attempt_number - 1, 60))
        wait = self._rng.uniform(0.0, ceiling)
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, TransientFetchError) and exc.retry_after is not None:
            wait = max(wait, min(exc.retry_after, self._http.backoff_max))
        return wait

    async def _follow(self, url: str, start: httpx.URL, method: str, json: Any, headers: dict[str, str]) -> Page:
        """One attempt: the request and its redirect chain."""
        current = start
        for _ in range(MAX_REDIRECTS + 1):
            hop = await self._request(current, method, json, headers, requested=url)
            if hop.location is None:
                return Page(
                    url=url,
                    final_url=str(hop.url),
                    status=hop.status,
                    headers=hop.headers,
                    content=hop.content,
                    fetched_at=datetime.now(UTC),
                )
            location = hop.location
            if any(marker in location for marker in DELETED_MARKERS):
                raise PermanentFetchError("deleted", url=url, status=hop.status)
            scheme = urlsplit(location).scheme.lower()
            if scheme and scheme not in ("http", "https"):
                raise PermanentFetchError(f"redirect to a non-http URL {location!r}", url=url, status=hop.status)
            try:
                target = current.join(location)
            except httpx.InvalidURL as exc:
                raise PermanentFetchError(
                    f"redirect to an invalid URL {location!r}", url=url, status=hop.status
                ) from exc
            if target.scheme not in ("http", "https") or not target.host:
                raise PermanentFetchError(f"redirect to an unusable URL {location!r}", url=url, status=hop.status)
            if any(marker in target.path for marker in VERIFY_MARKERS):
                self._cool_down(_host_of(current))
                raise Blocked("verification", url=url, status=hop.status)
            if hop.status == 303 or (hop.status in (301, 302) and method == "POST"):
                # what browsers do: the body is not re-sent to the new place
                method, json = "GET", None
            current = target
        raise PermanentFetchError(f"more than {MAX_REDIRECTS} redirects", url=url)

    async def _request(
        self, url: httpx.URL, method: str, json: Any, headers: dict[str, str], *, requested: str
    ) -> _Hop:
        """Send one request when the host's turn comes; read the body of a 2xx answer."""
        host = _host_of(url)
        self._refuse_if_paused(host, requested)
        lock = self._host_locks.setdefault(host, asyncio.Lock())
        async with lock:
            await self._wait_turn(host)
            # another fetch may have paused the host while this one waited
            self._refuse_if_paused(host, requested)
            async with self._slots:
                self._last_start[host] = self._clock()
                try:
                    return await self._send(url, method, json, headers, requested=requested)
                except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                    raise _map_error(exc, requested) from exc

    async def _wait_turn(self, host: str) -> None:
        not_before = max(
            self._last_start.get(host, -math.inf) + self._config.interval_for(host),
            self._not_before.get(host, -math.inf),
        )
        delay = not_before - self._clock()
        if delay > 0:
            await self._sleep(delay)

    async def _send(self, url: httpx.URL, method: str, json: Any, headers: dict[str, str], *, requested: str) -> _Hop:
        host = _host_of(url)
        async with self._client.stream(method, url, json=json, headers=headers) as response:
            status = response.status_code
            got = {k.lower(): v for k, v in response.headers.items()}
            if status in REDIRECT_CODES:
                location = response.headers.get(_HELD_LOCATION)
                if not location:
                    raise PermanentFetchError(f"HTTP {status} without Location", url=requested, status=status)
                return _Hop(url=response.url, status=status, headers=got, location=location)
            if status in RETRY_HTTP_CODES:
                asked = retry_after_seconds(response.headers.get("retry-after"), date=response.headers.get("date"))
                if asked is not None and asked > self._http.backoff_max:
                    self.pause_host(host, asked)
                    raise Blocked(
                        f"HTTP {status} asking to retry after {asked:g} s (over backoff_max)",
                        url=requested,
                        status=status,
                    )
                if asked is not None:
                    # other fetches to this host wait too, not just this URL's retry
                    self._not_before[host] = max(self._not_before.get(host, -math.inf), self._clock() + asked)
                raise TransientFetchError(f"HTTP {status}", url=requested, status=status, retry_after=asked)
            if not 200 <= status < 300:
                raise PermanentFetchError(f"HTTP {status}", url=requested, status=status)
            content = await self._read_limited(response, requested)
            return _Hop(url=response.url, status=status, headers=got, content=content)

    async def _read_limited(self, response: httpx.Response, requested: str) -> bytes:
        limit = self._http.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > limit:
            raise TooLarge(
                f"Content-Length {int(declared)} over max_bytes {limit}",
                url=requested,
                status=response.status_code,
            )
        chunks: list[bytes] = []
        size = 0
        # decoded bytes are counted, so a small gzip bomb cannot get past the limit either
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"body over max_bytes {limit}", url=requested, status=response.status_code)
            chunks.append(chunk)
        return b"".join(chunks)
