"""Polite, resilient HTTP fetching: one :class:`Fetcher` per crawl run.

Exits: the fetcher goes out through one or more *exits* (``[http] proxies``: http(s) or SOCKS5 proxies, or
``direct``; by default one exit, the ``proxy`` setting or the environment's). Each request picks the exit
whose turn for the host comes first among those not paused, benched or over their daily cap, counting the
requests already queued on each (least recently used on ties), so N exits fetch one host N at a time. An
exit that cannot be connected to ``BENCH_AFTER`` times in a row is benched for the run. What an exit is
called in logs, ``fetches`` and ``stats`` is :func:`exit_label`: never a proxy's user or password, which
are also scrubbed from every error message.

Politeness is the :class:`~ingest.hosts.HostPolicy`'s: every request to a host through an exit (retries
and redirect hops included) starts at least ``config.interval_for(host)`` seconds after the previous
one, one at a time, at most ``config.http.concurrency`` requests overall, and hosts never queue behind
each other's interval. A verification redirect, a long ``Retry-After`` or the daily cap stops that exit
for the host only, and the URL moves to another exit when one is usable; when none is, :class:`Blocked`.

Resilience: transient failures (timeouts, resets, truncated bodies, statuses in
:data:`RETRY_HTTP_CODES`) are retried ``config.http.retries`` times with exponential backoff and full
jitter; permanent answers raise at once. Every httpx error leaves this module as a
:class:`~ingest.errors.FetchError` subclass naming the URL.

``Retry-After`` policy: a server asking for at most ``backoff_max`` seconds gets that wait (or the
jittered backoff if longer). A server asking for more is not retried early, which would be rude, nor
waited for, which would stall the run: the host is paused for the time asked and :class:`Blocked` is
raised, so the URL stays pending for a later run.

Deadline: a request that has not finished ``http.max_time`` seconds after it was sent fails with
:class:`DeadlineExceeded` (a server trickling a byte a second would otherwise hold a worker forever).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import socket
import ssl
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
)

from ingest.config import Config
from ingest.errors import (
    Blocked,
    DeadlineExceeded,
    FetchError,
    InvalidURL,
    PermanentFetchError,
    TooLarge,
    TransientFetchError,
)
from ingest.hosts import HostPaused, HostPolicy, norm_host
from parsers.article import Page
from parsers.urls import mask_userinfo

# the one place retry policy lives: statuses worth asking again (567 is qq.com's rate limit)
RETRY_HTTP_CODES = frozenset({429, 500, 502, 503, 504, 520, 522, 524, 567})
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
BENCH_AFTER = 3  # connection failures in a row before an exit is benched for the run
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
    return norm_host(url.host)


def _port_ok(url: httpx.URL) -> bool:
    # httpx takes port 99999 and the socket layer fails on it inside a task group: refuse it here
    return url.port is None or 0 < url.port < 65536


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


def _unresolvable(exc: BaseException) -> bool:
    """A DNS failure somewhere in the exception's causes (retrying will not make a name resolve)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return True
        current = current.__cause__ or current.__context__
    return False


def scrub(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` without any URL userinfo, nor any of ``secrets`` (proxy users and passwords) in any form."""
    text = mask_userinfo(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def proxy_secrets(entries: Sequence[str]) -> list[str]:
    """Users and passwords of proxy URLs, as written and percent-decoded (an error may echo either);
    the longest first, so a password is never half-replaced through a shorter user name."""
    found: set[str] = set()
    for entry in entries:
        try:
            parts = urlsplit(entry)
            raw = [parts.username or "", parts.password or ""]
        except ValueError:
            continue
        # a secret of one or two characters would garble every message and hide little
        found.update(f for f in (*raw, *(unquote(r) for r in raw)) if len(f) >= 3)
    return sorted(found, key=len, reverse=True)


def map_error(exc: Exception, url: str, host: str = "", secrets: Sequence[str] = ()) -> FetchError:
    """Turn an httpx exception into the jianbao error a caller can act on (never echoing a proxy's secret)."""
    detail = scrub(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, secrets)
    if isinstance(exc, httpx.TimeoutException):
        return TransientFetchError(f"timeout ({detail})", url=url)
    if isinstance(exc, httpx.RemoteProtocolError):
        # also what a body shorter than its Content-Length looks like
        return TransientFetchError(f"truncated or broken response ({detail})", url=url)
    if isinstance(exc, httpx.ProxyError):
        return TransientFetchError(f"proxy error ({detail})", url=url)
    if isinstance(exc, httpx.ConnectError) and _unresolvable(exc):
        return PermanentFetchError(f"cannot resolve {host or 'the host'} — no network?", url=url)
    if isinstance(exc, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(exc):
        # retrying will not make a certificate trusted
        return PermanentFetchError(f"TLS certificate rejected ({detail})", url=url)
    if isinstance(exc, httpx.NetworkError):
        return TransientFetchError(f"connection error ({detail})", url=url)
    if isinstance(exc, httpx.DecodingError):
        # a gzip stream cut short decodes badly: same cause as truncation
        return TransientFetchError(f"broken content encoding ({detail})", url=url)
    return PermanentFetchError(f"request failed ({detail})", url=url)


@dataclass(slots=True)
class Exit:
    """One way out: ``label`` is what logs, ``fetches`` and ``stats`` show (never a proxy's credentials)."""

    label: str
    client: httpx.AsyncClient
    failures: int = 0  # connection failures in a row
    benched: bool = False


class _ExitDown(Exception):
    """Internal: the exit was benched while this request used it; try another."""


class _ExitPaused(Exception):
    """Internal: the host may not be asked through this exit any more (paused while waiting, daily cap)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def exit_label(entry: str) -> str:
    """``direct``, or the proxy's scheme, host and port: short, and free of userinfo."""
    if entry == "direct":
        return "direct"
    try:
        parts = urlsplit(entry)
        port = f":{parts.port}" if parts.port else ""
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        return f"{parts.scheme}://{host}{port}" if host else mask_userinfo(entry)
    except ValueError:
        return mask_userinfo(entry)


def exit_labels(entries: Sequence[str]) -> list[str]:
    """:func:`exit_label` of each entry, a gateway given with several users numbered ``#2``, ``#3`` in
    config order (the label keys cool-downs and counts across runs, so it must not depend on a secret)."""
    labels: list[str] = []
    for entry in entries:
        label = exit_label(entry)
        n = 1
        while (label if n == 1 else f"{label}#{n}") in labels:
            n += 1
        labels.append(label if n == 1 else f"{label}#{n}")
    return labels


def _tls_context() -> ssl.SSLContext | bool:
    """Certificates to trust when the environment is not consulted: ``SSL_CERT_FILE`` still counts."""
    cafile = os.environ.get("SSL_CERT_FILE")
    if cafile and os.path.exists(cafile):
        return ssl.create_default_context(cafile=cafile)
    return True


OnRetry = Callable[[str, int, int, float], None]  # host, next attempt, attempts in all, seconds to wait
OnWarning = Callable[[str], None]


class Fetcher:
    """Fetch pages politely; use as ``async with Fetcher(config) as f: page = await f.fetch(url)``.

    ``policy`` is the host policy (intervals, cool-downs, daily caps); without one a memory-only policy
    is made. ``transport`` (one exit) or ``transports`` (label -> transport, one exit each), ``clock``,
    ``sleep`` and ``rng`` are for tests: mock transports, a fake clock and a sleep that advances it, a
    seeded jitter source. ``on_retry`` hears of each retry before its wait, ``on_warning`` of a benched exit.
    """

    def __init__(
        self,
        config: Config,
        *,
        policy: HostPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        on_retry: OnRetry | None = None,
        on_warning: OnWarning | None = None,
    ) -> None:
        self._config = config
        self._http = config.http
        self._clock = clock
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self.policy = policy if policy is not None else HostPolicy(config, clock=clock, sleep=sleep)
        self.on_retry = on_retry
        self.on_warning = on_warning
        self._secrets: list[str] = []
        if transports:
            self.exits = [Exit(label, self._client(transport=t)) for label, t in transports.items()]
        elif transport is not None:
            self.exits = [Exit("", self._client(transport=transport))]
        elif self._http.proxies:
            self.exits = [
                Exit(label, self._client(proxy=None if p == "direct" else p, trust_env=False))
                for label, p in zip(exit_labels(self._http.proxies), self._http.proxies, strict=True)
            ]
            self._secrets = proxy_secrets(self._http.proxies)
        else:
            # trust_env: HTTP(S)_PROXY / ALL_PROXY / NO_PROXY, and (httpx 0.28) SSL_CERT_FILE / SSL_CERT_DIR
            self.exits = [Exit("", self._client(proxy=self._http.proxy or None))]
            names = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
            self._secrets = proxy_secrets([self._http.proxy, *(os.environ.get(n, "") for n in names)])
        self._slots = asyncio.Semaphore(self._http.concurrency)
        self._queued: Counter[tuple[str, str]] = Counter()  # requests holding or waiting for (host, exit)

    def _client(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
    ) -> httpx.AsyncClient:
        options: dict[str, Any] = {}
        if transport is not None:
            options["transport"] = transport
        elif proxy:
            options["proxy"] = proxy
        if not trust_env:
            options["verify"] = _tls_context()
        return httpx.AsyncClient(
            trust_env=trust_env,
            timeout=httpx.Timeout(self._http.timeout),
            follow_redirects=False,
            headers={"User-Agent": self._http.user_agent, **BROWSER_HEADERS},
            limits=httpx.Limits(max_connections=max(self._http.concurrency, 1) * 2),
            event_hooks={"response": [_hold_location]},
            **options,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for exit in self.exits:
            await exit.client.aclose()

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

        Raises InvalidURL when ``url`` is not http(s) with a host, Blocked when every exit is paused for
        the host or answered with verification, PermanentFetchError for 4xx and deleted articles,
        TooLarge past ``max_bytes``, DeadlineExceeded past ``max_time``, and TransientFetchError once
        retries are exhausted.
        """
        try:
            start = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise InvalidURL(f"not a valid URL ({exc})", url=url) from exc
        if start.scheme not in ("http", "https") or not start.host:
            raise InvalidURL("not an http(s) URL with a host", url=url)
        if not _port_ok(start):
            raise InvalidURL(f"port {start.port} out of range 1-65535", url=url)

        host = _host_of(start)
        sent = _headers_for(host)
        if json is not None:
            sent["Accept"] = JSON_ACCEPT
        if referer is not None:
            sent["Referer"] = referer
        sent.update(headers or {})

        # what each exit said: a verification page, a long Retry-After, a cap reached while waiting
        tried: dict[str, Blocked] = {}
        while True:
            exit = await self._choose_exit(host, tried, url)
            key = (host, exit.label)
            self._queued[key] += 1
            try:
                return await self._attempts(url, start, method.upper(), json, sent, exit)
            except Blocked as exc:
                # it is about this exit's address: another exit may still be welcome
                if len(self.exits) == 1:
                    raise
                tried[exit.label] = exc
            except _ExitPaused as exc:
                tried[exit.label] = Blocked(f"host {host} is paused ({exc.reason})", url=url)
            except _ExitDown:
                tried[exit.label] = Blocked("exit benched", url=url)
            finally:
                self._queued[key] -= 1
                if not self._queued[key]:
                    del self._queued[key]

    async def _choose_exit(self, host: str, tried: Mapping[str, Blocked], url: str) -> Exit:
        """The usable exit whose turn for ``host`` comes first, counting the requests already queued on
        it (least recently used on ties); Blocked, saying why, when no exit may ask the host now."""
        usable: list[Exit] = []
        reasons: list[str] = []
        for exit in self.exits:
            if exit.label in tried:
                continue
            if exit.benched:
                reasons.append("exit benched")
                continue
            reason = await self.policy.paused(host, exit.label)
            if reason:
                reasons.append(reason)
            else:
                usable.append(exit)
        if usable:
            now = self._clock()
            interval = self.policy.interval(host)

            def turn_comes(e: Exit) -> tuple[float, float]:
                free = self.policy.next_free(host, e.label)
                return max(free, now) + self._queued[(host, e.label)] * interval, free

            return min(usable, key=turn_comes)
        blocked = list(tried.values())
        if len(self.exits) == 1:
            if blocked:
                raise blocked[0]
            raise Blocked(f"host {host} is paused ({reasons[0] if reasons else 'exit benched'})", url=url)
        if blocked and all(b.reason == "verification" for b in blocked) and not reasons:
            raise Blocked("verification", url=url, status=blocked[-1].status)
        # the pause reasons, not "host X is paused (…)" once per exit
        said = [b.reason for b in blocked if b.reason != "exit benched"] + reasons
        said = [r.partition(" is paused (")[2][:-1] or r for r in said] or ["exit benched"]
        said = ["verification page" if r == "verification" else r for r in said]
        why = "; ".join(dict.fromkeys(said))
        raise Blocked(f"every exit is paused for {host} ({why})", url=url)

    async def exit_blocked(self, host: str, label: str, *, reason: str = "verification page") -> None:
        """A verification page through this exit: cool it down for the host (persisted, doubling) for the
        rest of the run, count it for ``stats``, and say so once while other exits go on."""
        first = not self.policy.paused_now(host, label)
        seconds = await self.policy.cool_down(host, label, reason=reason, rest_of_run=True)
        await self.policy.count("verification", host, label)
        if first and len(self.exits) > 1 and self.on_warning is not None:
            self.on_warning(f"{host} via exit {label}: {reason}, cooling down {seconds:g} s; the other exits go on")

    def paused_hosts(self) -> dict[str, str]:
        """Hosts no exit may ask any more in this run, and why (for the summary: said once, not per URL)."""
        benched = [e.label for e in self.exits if e.benched]
        return self.policy.paused_hosts([e.label for e in self.exits], benched)

    async def _attempts(
        self, url: str, start: httpx.URL, method: str, json: Any, headers: dict[str, str], exit: Exit
    ) -> Page:
        attempts = 0
        total = self._http.retries + 1
        host = _host_of(start)

        def before_sleep(state: RetryCallState) -> None:
            if self.on_retry is not None and state.next_action is not None:
                self.on_retry(host, state.attempt_number + 1, total, state.next_action.sleep)

        retrying = AsyncRetrying(
            sleep=self._sleep,
            stop=stop_after_attempt(total),
            wait=self._wait,
            retry=retry_if_exception_type(TransientFetchError) & retry_if_not_exception_type(DeadlineExceeded),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    return await self._follow(url, start, method, json, headers, exit)
        except DeadlineExceeded:
            raise
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

    async def _follow(
        self, url: str, start: httpx.URL, method: str, json: Any, headers: dict[str, str], exit: Exit
    ) -> Page:
        """One attempt: the request and its redirect chain, all through one exit."""
        current = start
        for _ in range(MAX_REDIRECTS + 1):
            hop = await self._request(current, method, json, headers, exit, requested=url)
            if hop.location is None:
                return Page(
                    url=url,
                    final_url=str(hop.url),
                    status=hop.status,
                    headers=hop.headers,
                    content=hop.content,
                    fetched_at=datetime.now(UTC),
                    exit=exit.label,
                )
            location = hop.location
            if any(marker in location for marker in DELETED_MARKERS):
                raise PermanentFetchError("deleted", url=url, status=hop.status)
            try:
                scheme = urlsplit(location).scheme.lower()
            except ValueError as exc:
                raise PermanentFetchError(
                    f"redirect to an invalid URL {location!r}", url=url, status=hop.status
                ) from exc
            if scheme and scheme not in ("http", "https"):
                raise PermanentFetchError(f"redirect to a non-http URL {location!r}", url=url, status=hop.status)
            try:
                target = current.join(location)
            except (httpx.InvalidURL, ValueError) as exc:
                raise PermanentFetchError(
                    f"redirect to an invalid URL {location!r}", url=url, status=hop.status
                ) from exc
            if target.scheme not in ("http", "https") or not target.host or not _port_ok(target):
                raise PermanentFetchError(f"redirect to an unusable URL {location!r}", url=url, status=hop.status)
            if any(marker in target.path for marker in VERIFY_MARKERS):
                await self.exit_blocked(_host_of(current), exit.label)
                raise Blocked("verification", url=url, status=hop.status)
            if hop.status == 303 or (hop.status in (301, 302) and method == "POST"):
                # what browsers do: the body is not re-sent to the new place
                method, json = "GET", None
            current = target
        raise PermanentFetchError(f"more than {MAX_REDIRECTS} redirects", url=url)

    async def _request(
        self, url: httpx.URL, method: str, json: Any, headers: dict[str, str], exit: Exit, *, requested: str
    ) -> _Hop:
        """Send one request when the host's turn comes through this exit; read the body of a 2xx answer."""
        host = _host_of(url)
        try:
            async with self.policy.turn(host, exit.label), self._slots:
                try:
                    async with asyncio.timeout(self._http.max_time):
                        hop = await self._send(url, method, json, headers, exit, requested=requested)
                except TimeoutError as exc:
                    raise DeadlineExceeded(
                        f"no complete answer within {self._http.max_time:g} s (max_time)", url=requested
                    ) from exc
                except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                    self._connection_failed(exc, exit)
                    raise map_error(exc, requested, host, self._secrets) from exc
        except HostPaused as exc:
            if len(self.exits) > 1:
                raise _ExitPaused(exc.reason) from None
            raise Blocked(f"host {host} is paused ({exc.reason})", url=requested) from None
        exit.failures = 0
        return hop

    def _connection_failed(self, exc: Exception, exit: Exit) -> None:
        """Count connection failures of an exit; with others to fall back on, bench it after a few."""
        if not isinstance(exc, httpx.ConnectError | httpx.ProxyError) or _unresolvable(exc):
            return
        exit.failures += 1
        if len(self.exits) > 1 and exit.failures >= BENCH_AFTER:
            exit.benched = True
            if self.on_warning is not None:
                self.on_warning(f"exit {exit.label} benched for this run after {exit.failures} failed connections")
            raise _ExitDown(exit.label) from exc

    async def _send(
        self, url: httpx.URL, method: str, json: Any, headers: dict[str, str], exit: Exit, *, requested: str
    ) -> _Hop:
        host = _host_of(url)

        async def trace(event: str, info: Mapping[str, Any]) -> None:
            # the request goes on the wire (after a proxy's CONNECT, if any): the interval counts from here
            if event.endswith("send_request_headers.started"):
                self.policy.sending(host, exit.label)

        extensions = {"trace": trace}
        async with exit.client.stream(method, url, json=json, headers=headers, extensions=extensions) as response:
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
                    waited = await self.policy.cool_down(
                        host, exit.label, seconds=asked, reason=f"HTTP {status} asked to wait {asked:g} s"
                    )
                    raise Blocked(
                        f"HTTP {status} asking to retry after {asked:g} s: {host} paused for {waited:g} s",
                        url=requested,
                        status=status,
                    )
                if asked is not None:
                    # other fetches to this host wait too, not just this URL's retry
                    self.policy.defer(host, exit.label, asked)
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
