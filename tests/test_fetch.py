"""ingest.fetch: retries, politeness, limits and redirects.

Unit tests drive the Fetcher through httpx.MockTransport on a virtual clock (sleep advances it, nothing
really waits); integration tests go through tests/localserver.py on 127.0.0.1 via the proxy variables.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import trustme

from ingest.config import BROWSER_UA, Config, build_config
from ingest.errors import (
    Blocked,
    FetchError,
    InvalidURL,
    PermanentFetchError,
    TooLarge,
    TransientFetchError,
)
from ingest.fetch import RETRY_HTTP_CODES, Fetcher, Page, retry_after_seconds
from tests.localserver import LocalServer, Reply, local_server

T = TypeVar("T")
WECHAT = "https://mp.weixin.qq.com/s/abc"
QQ = "https://news.qq.com/rain/a/20250207A07NZC00"
NO_WAIT = {"mp.weixin.qq.com": 0.0, "qq.com": 0.0, "default": 0.0}


def make_config(politeness: dict[str, float] | None = None, **http: Any) -> Config:
    return build_config({"http": http, "politeness": NO_WAIT if politeness is None else politeness})


class VirtualTime:
    """A clock that only moves when every task is waiting on it: sleeps take no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (self.now + max(seconds, 0.0), self._seq, future))
        self._seq += 1
        await future

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        async def drive() -> T:
            task = asyncio.ensure_future(coro)
            while True:
                for _ in range(200):  # let every runnable task run until it blocks
                    await asyncio.sleep(0)
                    if task.done():
                        return task.result()
                if not self._waiting:
                    task.cancel()
                    raise AssertionError("deadlock: tasks blocked on something other than virtual time")
                deadline = self._waiting[0][0]
                self.now = max(self.now, deadline)
                while self._waiting and self._waiting[0][0] <= deadline:
                    heapq.heappop(self._waiting)[2].set_result(None)

        return asyncio.run(drive())


class Server:
    """A scripted MockTransport: per-URL replies (played in order, the last repeating), calls recorded."""

    def __init__(self, vt: VirtualTime) -> None:
        self.vt = vt
        self.routes: dict[str, list[Any]] = {}
        self.counts: dict[str, int] = {}
        self.calls: list[tuple[float, httpx.Request]] = []
        self.in_flight: dict[str, int] = {}
        self.max_in_flight = 0
        self.max_in_flight_per_host: dict[str, int] = {}
        self.latency = 0.0

    def route(self, url: str, *replies: Any) -> None:
        self.routes[url] = list(replies)

    def urls(self) -> list[str]:
        return [str(r.url) for _, r in self.calls]

    def times(self, host: str) -> list[float]:
        return [t for t, r in self.calls if r.url.host == host]

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((self.vt.now, request))
        host = request.url.host
        self.in_flight[host] = self.in_flight.get(host, 0) + 1
        total = sum(self.in_flight.values())
        self.max_in_flight = max(self.max_in_flight, total)
        self.max_in_flight_per_host[host] = max(self.max_in_flight_per_host.get(host, 0), self.in_flight[host])
        try:
            if self.latency:
                await self.vt.sleep(self.latency)
            key = str(request.url)
            replies = self.routes.get(key)
            if replies is None:
                return httpx.Response(200, html=f"<p>{key}</p>")
            n = self.counts.get(key, 0)
            self.counts[key] = n + 1
            reply = replies[min(n, len(replies) - 1)]
            if isinstance(reply, BaseException):
                raise reply
            if isinstance(reply, int):
                return httpx.Response(reply, text=f"status {reply}")
            if callable(reply):
                result = reply(request)
                assert isinstance(result, httpx.Response)
                return result
            assert isinstance(reply, httpx.Response)
            return reply
        finally:
            self.in_flight[host] -= 1

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


class Chunks(httpx.AsyncByteStream):
    """A response body sent in chunks, optionally failing partway; counts what was pulled."""

    def __init__(self, chunks: list[bytes], *, fail_after: int | None = None) -> None:
        self.chunks = chunks
        self.fail_after = fail_after
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for n, chunk in enumerate(self.chunks):
            if self.fail_after is not None and n >= self.fail_after:
                raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
            self.pulled += 1
            yield chunk


class MaxRng(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


class MinRng(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return a


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def server(vt: VirtualTime) -> Server:
    return Server(vt)


def run_with(
    vt: VirtualTime,
    server: Server,
    config: Config,
    body: Callable[[Fetcher], Awaitable[T]],
    *,
    rng: random.Random | None = None,
) -> T:
    async def main() -> T:
        async with Fetcher(
            config, transport=server.transport(), clock=vt.clock, sleep=vt.sleep, rng=rng or random.Random(1)
        ) as fetcher:
            return await body(fetcher)

    return vt.run(main())


def fetch_one(vt: VirtualTime, server: Server, url: str, config: Config | None = None, **kwargs: Any) -> Page:
    rng = kwargs.pop("rng", None)
    return run_with(vt, server, config or make_config(), lambda f: f.fetch(url, **kwargs), rng=rng)


# -- pages ---------------------------------------------------------------------------------------------


def test_page_carries_the_answer(vt: VirtualTime, server: Server) -> None:
    server.route(WECHAT, httpx.Response(200, content=b"<p>hi</p>", headers={"Content-Type": "text/html"}))
    page = fetch_one(vt, server, WECHAT)
    assert (page.url, page.final_url, page.status, page.content) == (WECHAT, WECHAT, 200, b"<p>hi</p>")
    assert page.content_type == "text/html"
    assert page.headers["content-type"] == "text/html"
    assert page.fetched_at.tzinfo is not None
    assert abs(page.fetched_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_invalid_urls_are_refused_before_any_request(vt: VirtualTime, server: Server) -> None:
    for url in ("ftp://mp.weixin.qq.com/s/abc", "not a url", "https:///nohost"):
        with pytest.raises(InvalidURL):
            fetch_one(vt, server, url)
    assert server.calls == []


# -- retries -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(RETRY_HTTP_CODES))
def test_retry_statuses_are_retried(vt: VirtualTime, server: Server, status: int) -> None:
    server.route(QQ, status, 200)
    page = fetch_one(vt, server, QQ)
    assert page.status == 200
    assert len(server.calls) == 2


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ConnectTimeout("timed out"),
        httpx.PoolTimeout("timed out"),
        httpx.WriteTimeout("timed out"),
        httpx.ReadError("[Errno 104] Connection reset by peer"),
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ProxyError("502 Bad Gateway"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_transport_failures_are_retried(vt: VirtualTime, server: Server, error: Exception) -> None:
    server.route(WECHAT, error, 200)
    assert fetch_one(vt, server, WECHAT).status == 200
    assert len(server.calls) == 2


def test_truncated_body_is_retried(vt: VirtualTime, server: Server) -> None:
    broken = Chunks([b"<p>", b"half", b"never"], fail_after=2)
    whole = httpx.Response(200, content=b"<p>whole</p>")
    server.route(QQ, httpx.Response(200, headers={"Content-Length": "100"}, stream=broken), whole)
    page = fetch_one(vt, server, QQ)
    assert page.content == b"<p>whole</p>"
    assert broken.pulled == 2
    assert len(server.calls) == 2


def test_gives_up_after_the_configured_retries(vt: VirtualTime, server: Server) -> None:
    server.route(QQ, 503)
    with pytest.raises(TransientFetchError) as info:
        fetch_one(vt, server, QQ, make_config(retries=3))
    err = info.value
    assert len(server.calls) == 4
    assert (err.status, err.url, err.reason) == (503, QQ, "HTTP 503 after 4 attempts")
    assert isinstance(err.__cause__, TransientFetchError)


def test_gives_up_on_repeated_timeouts_with_the_cause_named(vt: VirtualTime, server: Server) -> None:
    server.route(QQ, httpx.ReadTimeout("timed out"))
    with pytest.raises(TransientFetchError) as info:
        fetch_one(vt, server, QQ, make_config(retries=2))
    assert info.value.status is None
    assert info.value.reason.startswith("timeout (ReadTimeout")
    assert info.value.reason.endswith("after 3 attempts")
    assert len(server.calls) == 3


def test_zero_retries_means_one_attempt(vt: VirtualTime, server: Server) -> None:
    server.route(QQ, 503)
    with pytest.raises(TransientFetchError, match=r"after 1 attempt$"):
        fetch_one(vt, server, QQ, make_config(retries=0))
    assert len(server.calls) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 451, 501])
def test_permanent_statuses_are_not_retried(vt: VirtualTime, server: Server, status: int) -> None:
    server.route(QQ, status)
    with pytest.raises(PermanentFetchError) as info:
        fetch_one(vt, server, QQ)
    assert (info.value.status, info.value.reason, info.value.url) == (status, f"HTTP {status}", QQ)
    assert len(server.calls) == 1
    assert vt.sleeps == []


def test_babygohome_redirect_means_deleted(vt: VirtualTime, server: Server) -> None:
    server.route(QQ, httpx.Response(302, headers={"Location": "https://news.qq.com/babygohome/?pgv_ref=404"}))
    with pytest.raises(PermanentFetchError) as info:
        fetch_one(vt, server, QQ)
    assert (info.value.reason, info.value.status) == ("deleted", 302)
    assert server.urls() == [QQ]


def test_certificate_failure_is_permanent(vt: VirtualTime, server: Server) -> None:
    server.route(QQ, httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"))
    with pytest.raises(PermanentFetchError, match="TLS certificate rejected"):
        fetch_one(vt, server, QQ)
    assert len(server.calls) == 1


@pytest.mark.parametrize(
    "error",
    [
        httpx.UnsupportedProtocol("no"),
        httpx.LocalProtocolError("bad header"),
        httpx.DecodingError("bad gzip"),
        httpx.TooManyRedirects("loop"),
        httpx.StreamConsumed(),
        httpx.InvalidURL("bad"),
        httpx.CloseError("close"),
        httpx.WriteError("write"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_no_httpx_exception_escapes(vt: VirtualTime, server: Server, error: Exception) -> None:
    server.route(QQ, error)
    with pytest.raises(FetchError) as info:
        fetch_one(vt, server, QQ, make_config(retries=1))
    assert info.value.url == QQ
    assert type(error).__name__ in info.value.reason


# -- backoff and Retry-After ---------------------------------------------------------------------------


def test_backoff_doubles_up_to_its_cap(vt: VirtualTime, server: Server) -> None:
    server.route(QQ, 503)
    with pytest.raises(TransientFetchError):
        fetch_one(vt, server, QQ, make_config(retries=5, backoff=1.0, backoff_max=8.0), rng=MaxRng())
    assert vt.sleeps == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert [t for t, _ in server.calls] == [0.0, 1.0, 3.0, 7.0, 15.0, 23.0]


def test_backoff_jitter_is_full_and_bounded(vt: VirtualTime, server: Server) -> None:
    server.route(QQ, 503)
    with pytest.raises(TransientFetchError):
        fetch_one(vt, server, QQ, make_config(retries=6, backoff=1.0, backoff_max=8.0), rng=random.Random(42))
    ceilings = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert len(vt.sleeps) == len(ceilings)
    assert all(0.0 <= s <= c for s, c in zip(vt.sleeps, ceilings, strict=True))
    assert vt.sleeps != ceilings  # jittered, not the bare exponential

    vt2 = VirtualTime()
    server2 = Server(vt2)
    server2.route(QQ, 503)
    with pytest.raises(TransientFetchError):
        fetch_one(vt2, server2, QQ, make_config(retries=3), rng=MinRng())
    assert vt2.sleeps == [0.0, 0.0, 0.0]  # full jitter reaches down to zero


def test_retry_after_seconds_is_honoured(vt: VirtualTime, server: Server) -> None:
    server.route(QQ, httpx.Response(429, headers={"Retry-After": "7"}), 200)
    fetch_one(vt, server, QQ, make_config(backoff=1.0, backoff_max=60.0), rng=MaxRng())
    assert vt.sleeps == [7.0]
    assert [t for t, _ in server.calls] == [0.0, 7.0]


def test_retry_after_http_date_is_measured_against_the_date_header(vt: VirtualTime, server: Server) -> None:
    sent = datetime(2020, 1, 1, 12, 0, 0, tzinfo=UTC)  # a server clock far from ours
    headers = {"Date": format_datetime(sent, usegmt=True)}
    headers["Retry-After"] = format_datetime(sent + timedelta(seconds=12), usegmt=True)
    server.route(QQ, httpx.Response(503, headers=headers), 200)
    fetch_one(vt, server, QQ, make_config(backoff=1.0), rng=MinRng())
    assert vt.sleeps == [12.0]


def test_retry_after_delays_other_urls_on_the_host(vt: VirtualTime, server: Server) -> None:
    other = "https://news.qq.com/rain/a/20250207A07NZC01"
    server.route(QQ, httpx.Response(429, headers={"Retry-After": "9"}))

    async def body(f: Fetcher) -> float:
        with pytest.raises(TransientFetchError):
            await f.fetch(QQ)
        await f.fetch(other)
        return vt.now

    run_with(vt, server, make_config(retries=0), body)
    assert server.times("news.qq.com") == [0.0, 9.0]


def test_retry_after_beyond_backoff_max_pauses_the_host(vt: VirtualTime, server: Server) -> None:
    server.route(QQ, httpx.Response(429, headers={"Retry-After": "3600"}))

    async def body(f: Fetcher) -> tuple[bool, bool]:
        with pytest.raises(Blocked) as info:
            await f.fetch(QQ)
        assert info.value.status == 429
        with pytest.raises(Blocked):
            await f.fetch("https://news.qq.com/other")
        await f.fetch(WECHAT)  # another host is not affected
        paused = f.policy.paused_now("news.qq.com")
        vt.now += 3601
        return paused, f.policy.paused_now("news.qq.com")

    assert run_with(vt, server, make_config(backoff_max=60.0), body) == (True, False)
    assert server.urls() == [QQ, WECHAT]  # no retry, nothing sent to the paused host
    assert vt.sleeps == []


@pytest.mark.parametrize(
    ("value", "date", "expected"),
    [
        ("120", None, 120.0),
        (" 1.5 ", None, 1.5),
        ("0", None, 0.0),
        ("-3", None, None),
        ("soon", None, None),
        ("", None, None),
        (None, None, None),
        ("Wed, 01 Jan 2020 12:00:30 GMT", "Wed, 01 Jan 2020 12:00:00 GMT", 30.0),
        ("Wed, 01 Jan 2020 11:59:00 GMT", "Wed, 01 Jan 2020 12:00:00 GMT", 0.0),
    ],
)
def test_retry_after_parsing(value: str | None, date: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value, date=date) == expected


def test_retry_after_date_without_date_header_uses_now() -> None:
    future = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    seconds = retry_after_seconds(future)
    assert seconds is not None and 3500 < seconds <= 3600
    assert retry_after_seconds("Wed, 01 Jan 2020 12:00:00 GMT") == 0.0


# -- politeness ----------------------------------------------------------------------------------------


def _sequential(urls: list[str]) -> Callable[[Fetcher], Awaitable[None]]:
    async def body(f: Fetcher) -> None:
        for url in urls:
            await f.fetch(url)

    return body


def test_wechat_requests_are_five_seconds_apart(vt: VirtualTime, server: Server) -> None:
    urls = [f"https://mp.weixin.qq.com/s/{n}" for n in range(3)]
    run_with(vt, server, make_config(politeness={}), _sequential(urls))
    assert server.times("mp.weixin.qq.com") == [0.0, 5.0, 10.0]


def test_qq_requests_are_one_second_apart(vt: VirtualTime, server: Server) -> None:
    urls = [f"https://news.qq.com/rain/a/{n}" for n in range(3)]
    run_with(vt, server, make_config(politeness={}), _sequential(urls))
    assert server.times("news.qq.com") == [0.0, 1.0, 2.0]


def test_zero_interval_never_waits(vt: VirtualTime, server: Server) -> None:
    urls = [f"https://mp.weixin.qq.com/s/{n}" for n in range(3)]
    run_with(vt, server, make_config(), _sequential(urls))
    assert server.times("mp.weixin.qq.com") == [0.0, 0.0, 0.0]
    assert vt.sleeps == []


def test_the_interval_counts_from_the_previous_start(vt: VirtualTime, server: Server) -> None:
    server.latency = 3.0  # a slow answer already used up part of the interval

    urls = [f"https://mp.weixin.qq.com/s/{n}" for n in range(2)]
    run_with(vt, server, make_config(politeness={}), _sequential(urls))
    assert server.times("mp.weixin.qq.com") == [0.0, 5.0]


def test_retries_respect_the_interval(vt: VirtualTime, server: Server) -> None:
    server.route(WECHAT, 503, 200)
    run_with(vt, server, make_config(politeness={}, backoff=0.5), lambda f: f.fetch(WECHAT), rng=MaxRng())
    assert server.times("mp.weixin.qq.com") == [0.0, 5.0]


def test_redirect_hops_respect_the_interval(vt: VirtualTime, server: Server) -> None:
    server.route(WECHAT, httpx.Response(302, headers={"Location": "/s/moved"}))
    page = run_with(vt, server, make_config(politeness={}), lambda f: f.fetch(WECHAT))
    assert page.final_url == "https://mp.weixin.qq.com/s/moved"
    assert server.times("mp.weixin.qq.com") == [0.0, 5.0]


def test_hosts_proceed_in_parallel(vt: VirtualTime, server: Server) -> None:
    wechat = [f"https://mp.weixin.qq.com/s/{n}" for n in range(3)]
    qq = [f"https://news.qq.com/rain/a/{n}" for n in range(3)]

    async def body(f: Fetcher) -> None:
        await asyncio.gather(*(f.fetch(u) for u in wechat + qq))

    run_with(vt, server, make_config(politeness={}, concurrency=4), body)
    assert server.times("mp.weixin.qq.com") == [0.0, 5.0, 10.0]
    assert server.times("news.qq.com") == [0.0, 1.0, 2.0]  # never queued behind WeChat's 5 s


def test_concurrency_is_bounded_overall_and_one_per_host(vt: VirtualTime, server: Server) -> None:
    server.latency = 1.0
    urls = [f"https://h{n}.example/{k}" for n in range(6) for k in range(3)]

    async def body(f: Fetcher) -> None:
        await asyncio.gather(*(f.fetch(u) for u in urls))

    run_with(vt, server, make_config(concurrency=2), body)
    assert len(server.calls) == 18
    assert server.max_in_flight == 2
    assert set(server.max_in_flight_per_host.values()) == {1}


def test_one_request_per_host_in_flight(vt: VirtualTime, server: Server) -> None:
    server.latency = 2.0
    urls = [f"https://news.qq.com/rain/a/{n}" for n in range(4)]

    async def body(f: Fetcher) -> None:
        await asyncio.gather(*(f.fetch(u) for u in urls))

    run_with(vt, server, make_config(concurrency=4), body)
    assert server.max_in_flight_per_host == {"news.qq.com": 1}
    assert server.times("news.qq.com") == [0.0, 2.0, 4.0, 6.0]


# -- headers -------------------------------------------------------------------------------------------


def test_wechat_gets_browser_headers(vt: VirtualTime, server: Server) -> None:
    fetch_one(vt, server, WECHAT)
    sent = server.calls[0][1].headers
    assert sent["User-Agent"] == BROWSER_UA
    assert "Chrome/" in sent["User-Agent"] and "Windows NT" in sent["User-Agent"]
    assert sent["Accept-Language"] == "zh-CN,zh;q=0.9"
    assert sent["Accept"].startswith("text/html")
    assert "Referer" not in sent  # WeChat is under qq.com but gets no news.qq.com Referer


def test_configured_user_agent_is_used(vt: VirtualTime, server: Server) -> None:
    fetch_one(vt, server, WECHAT, make_config(user_agent="jianbao-test/1"))
    assert server.calls[0][1].headers["User-Agent"] == "jianbao-test/1"


def test_qq_gets_a_referer_unless_one_is_given(vt: VirtualTime, server: Server) -> None:
    async def body(f: Fetcher) -> None:
        await f.fetch(QQ)
        await f.fetch(QQ, referer="https://new.qq.com/ch/tech/")
        await f.fetch(QQ, headers={"Referer": "https://x.qq.com/", "X-Extra": "1"})

    run_with(vt, server, make_config(), body)
    sent = [r.headers for _, r in server.calls]
    assert [h["Referer"] for h in sent] == [
        "https://news.qq.com/",
        "https://new.qq.com/ch/tech/",
        "https://x.qq.com/",
    ]
    assert sent[2]["X-Extra"] == "1"


def test_post_json(vt: VirtualTime, server: Server) -> None:
    feed = "https://i.news.qq.com/web_feed/getPCList"
    server.route(feed, httpx.Response(200, json={"ret": 0}))
    page = fetch_one(vt, server, feed, method="POST", json={"base_req": {"from": "pc"}, "channel_id": "news"})
    assert json.loads(page.content) == {"ret": 0}
    request = server.calls[0][1]
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"base_req": {"from": "pc"}, "channel_id": "news"}
    assert request.headers["Accept"].startswith("application/json")
    assert request.headers["Referer"] == "https://news.qq.com/"


# -- size limit ----------------------------------------------------------------------------------------


def test_body_over_max_bytes_stops_streaming(vt: VirtualTime, server: Server) -> None:
    body = Chunks([b"x" * 1000] * 10)
    server.route(QQ, httpx.Response(200, stream=body))
    with pytest.raises(TooLarge) as info:
        fetch_one(vt, server, QQ, make_config(max_bytes=2500))
    assert body.pulled == 3  # read up to the limit, not to the end
    assert info.value.url == QQ
    assert len(server.calls) == 1  # never retried


def test_large_content_length_is_refused_before_reading(vt: VirtualTime, server: Server) -> None:
    body = Chunks([b"x" * 10])
    server.route(QQ, httpx.Response(200, headers={"Content-Length": "5000000000"}, stream=body))
    with pytest.raises(TooLarge, match="Content-Length"):
        fetch_one(vt, server, QQ, make_config(max_bytes=1000))
    assert body.pulled == 0


def test_body_of_exactly_max_bytes_is_kept(vt: VirtualTime, server: Server) -> None:
    server.route(QQ, httpx.Response(200, stream=Chunks([b"x" * 600, b"y" * 400])))
    page = fetch_one(vt, server, QQ, make_config(max_bytes=1000))
    assert page.content == b"x" * 600 + b"y" * 400


# -- redirects -----------------------------------------------------------------------------------------


def test_redirects_are_followed(vt: VirtualTime, server: Server) -> None:
    old = "http://new.qq.com/omn/20250207/20250207A07NZC00.html"
    server.route(old, httpx.Response(301, headers={"Location": QQ}))
    page = fetch_one(vt, server, old)
    assert (page.url, page.final_url) == (old, QQ)
    assert server.urls() == [old, QQ]


def test_post_303_becomes_get_but_307_keeps_the_body(vt: VirtualTime, server: Server) -> None:
    a, b = "https://i.news.qq.com/a", "https://i.news.qq.com/b"
    server.route(a, httpx.Response(303, headers={"Location": "/done"}))
    server.route(b, httpx.Response(307, headers={"Location": "/b2"}))

    async def body(f: Fetcher) -> None:
        await f.fetch(a, method="POST", json={"k": 1})
        await f.fetch(b, method="POST", json={"k": 2})

    run_with(vt, server, make_config(), body)
    methods = [(str(r.url), r.method, r.content) for _, r in server.calls]
    assert methods[1] == ("https://i.news.qq.com/done", "GET", b"")
    assert methods[3][:2] == ("https://i.news.qq.com/b2", "POST")
    assert json.loads(methods[3][2]) == {"k": 2}


@pytest.mark.parametrize("location", ["weixin://dl/business", "javascript:alert(1)", "file:///etc/passwd"])
def test_redirect_to_non_http_is_refused(vt: VirtualTime, server: Server, location: str) -> None:
    server.route(WECHAT, httpx.Response(302, headers={"Location": location}))
    with pytest.raises(PermanentFetchError, match="non-http"):
        fetch_one(vt, server, WECHAT)
    assert len(server.calls) == 1


def test_redirect_loop_gives_up(vt: VirtualTime, server: Server) -> None:
    server.route(WECHAT, httpx.Response(302, headers={"Location": WECHAT}))
    with pytest.raises(PermanentFetchError, match="more than 10 redirects"):
        fetch_one(vt, server, WECHAT)
    assert len(server.calls) == 11


def test_redirect_without_location_is_permanent(vt: VirtualTime, server: Server) -> None:
    server.route(WECHAT, httpx.Response(302))
    with pytest.raises(PermanentFetchError, match="without Location"):
        fetch_one(vt, server, WECHAT)


@pytest.mark.parametrize(
    "location",
    [
        "https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?poc_token=x&target_url=y",
        "/mp/verify?x=1",
        "https://mp.weixin.qq.com/mp/secitptpage/verify?x=1",
    ],
)
def test_verification_redirect_blocks_and_pauses_the_host_for_the_run(
    vt: VirtualTime, server: Server, location: str
) -> None:
    server.route(WECHAT, httpx.Response(302, headers={"Location": location}))
    other = "https://mp.weixin.qq.com/s/other"

    async def body(f: Fetcher) -> list[bool]:
        states = []
        with pytest.raises(Blocked) as info:
            await f.fetch(WECHAT)
        assert (info.value.reason, info.value.status) == ("verification", 302)
        states.append(f.policy.paused_now("mp.weixin.qq.com"))
        with pytest.raises(Blocked):
            await f.fetch(other)
        vt.now += 3600  # asking again in the same run would only earn another captcha
        states.append(f.policy.paused_now("mp.weixin.qq.com"))
        states.append(f.policy.paused_now("news.qq.com"))
        return states

    assert run_with(vt, server, make_config(cooldown=60.0), body) == [True, True, False]
    assert server.urls() == [WECHAT]  # the verification page itself is never requested


# -- pausing -------------------------------------------------------------------------------------------


def test_paused_host_is_refused_without_a_request(vt: VirtualTime, server: Server) -> None:
    async def body(f: Fetcher) -> None:
        f.policy.pause_for_run("MP.weixin.qq.com")
        with pytest.raises(Blocked, match="paused"):
            await f.fetch(WECHAT)
        await f.fetch(QQ)
        vt.now += 1e9
        assert f.policy.paused_now("mp.weixin.qq.com")

    run_with(vt, server, make_config(), body)
    assert server.urls() == [QQ]


def test_pause_for_seconds_expires_and_never_shortens(vt: VirtualTime, server: Server) -> None:
    async def body(f: Fetcher) -> None:
        await f.policy.cool_down("news.qq.com", seconds=30, reason="test")
        await f.policy.cool_down("news.qq.com", seconds=5, reason="test")  # a shorter pause does not cut the longer one
        vt.now += 10
        with pytest.raises(Blocked):
            await f.fetch(QQ)
        vt.now += 21
        await f.fetch(QQ)

    run_with(vt, server, make_config(), body)
    assert server.times("news.qq.com") == [31.0]


def test_pause_during_the_politeness_wait_stops_the_queued_request(vt: VirtualTime, server: Server) -> None:
    async def body(f: Fetcher) -> None:
        await f.fetch("https://mp.weixin.qq.com/s/1")
        queued = asyncio.ensure_future(f.fetch("https://mp.weixin.qq.com/s/2"))
        await asyncio.sleep(0)
        f.policy.pause_for_run("mp.weixin.qq.com")
        with pytest.raises(Blocked):
            await queued

    run_with(vt, server, make_config(politeness={}), body)
    assert server.urls() == ["https://mp.weixin.qq.com/s/1"]


# -- integration through tests/localserver.py ----------------------------------------------------------


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    yield from local_server(tmp_path, monkeypatch)


def fast_config(**http: Any) -> Config:
    settings: dict[str, Any] = {"timeout": 1.0, "backoff": 0.01, "backoff_max": 0.05, "retries": 3}
    settings.update(http)
    return make_config(**settings)


def real_fetch(config: Config, url: str, **kwargs: Any) -> Page:
    async def main() -> Page:
        async with Fetcher(config) as fetcher:
            return await fetcher.fetch(url, **kwargs)

    return asyncio.run(main())


def test_live_https_through_connect_retries_503(local: LocalServer) -> None:
    local.route("mp.weixin.qq.com", "/s/abc", [Reply(503), Reply(503), Reply.html("<p>正文</p>")])
    page = real_fetch(fast_config(), WECHAT)
    assert page.content.decode() == "<p>正文</p>"
    assert page.content_type == "text/html; charset=utf-8"
    seen = local.requests_to("mp.weixin.qq.com", "/s/abc")
    assert len(seen) == 3
    assert all(r.scheme == "https" and r.proxied for r in seen)
    assert seen[0].headers["accept-language"] == "zh-CN,zh;q=0.9"
    assert "mp.weixin.qq.com:443" in local.connects


def test_live_truncated_body_is_retried(local: LocalServer) -> None:
    url = "http://news.qq.com/rain/a/20250207A07NZC00"
    local.route("news.qq.com", "/rain/a/20250207A07NZC00", [Reply.truncated(b"x" * 5000, sent=100), Reply.html("ok")])
    assert real_fetch(fast_config(), url).content == b"ok"
    assert len(local.requests_to("news.qq.com")) == 2


def test_live_stall_times_out_and_is_retried(local: LocalServer) -> None:
    local.route("news.qq.com", "/slow", [Reply.stalled(10), Reply.html("ok")])
    page = real_fetch(fast_config(timeout=0.3), "https://news.qq.com/slow")
    assert page.content == b"ok"
    assert len(local.requests_to("news.qq.com", "/slow")) == 2


def test_live_stall_gives_up_as_timeout(local: LocalServer) -> None:
    local.route("news.qq.com", "/slow", Reply.stalled(10))
    with pytest.raises(TransientFetchError, match=r"^.*timeout \(ReadTimeout.*after 2 attempts$"):
        real_fetch(fast_config(timeout=0.2, retries=1), "http://news.qq.com/slow")


def test_live_reset_is_retried(local: LocalServer) -> None:
    local.route("news.qq.com", "/r", [Reply.reset(), Reply.html("ok")])
    assert real_fetch(fast_config(), "http://news.qq.com/r").content == b"ok"


def test_live_post_to_the_qq_feed(local: LocalServer) -> None:
    local.route("i.news.qq.com", "/web_feed/getPCList", Reply.json({"ret": 0, "data": [{"id": "A"}]}))
    page = real_fetch(fast_config(), "https://i.news.qq.com/web_feed/getPCList", method="POST", json={"page": 1})
    assert json.loads(page.content) == {"ret": 0, "data": [{"id": "A"}]}
    [seen] = local.requests_to("i.news.qq.com")
    assert (seen.method, seen.json(), seen.headers["referer"]) == ("POST", {"page": 1}, "https://news.qq.com/")


def test_live_404_and_deleted_redirect(local: LocalServer) -> None:
    local.route("news.qq.com", "/gone", Reply.redirect("https://news.qq.com/babygohome/"))
    with pytest.raises(PermanentFetchError, match="HTTP 404"):
        real_fetch(fast_config(), "https://news.qq.com/missing")
    with pytest.raises(PermanentFetchError, match="deleted"):
        real_fetch(fast_config(), "https://news.qq.com/gone")
    assert [r.path for r in local.requests] == ["/missing", "/gone"]


def test_live_untrusted_certificate_is_permanent(
    local: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "unrelated-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    local.route("mp.weixin.qq.com", "/s/abc", Reply.html("x"))
    with pytest.raises(PermanentFetchError, match="certificate"):
        real_fetch(fast_config(), WECHAT)
    assert local.requests == []


def test_live_configured_proxy_overrides_the_environment(local: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # discard port: would fail if used
    local.route("mp.weixin.qq.com", "/s/abc", Reply.html("via config"))
    page = real_fetch(fast_config(proxy=local.proxy_url), WECHAT)
    assert page.content == b"via config"


def test_live_politeness_spacing(local: LocalServer) -> None:
    urls = [f"http://news.qq.com/p{n}" for n in range(3)]
    for n in range(3):
        local.route("news.qq.com", f"/p{n}", Reply.html("ok"))
    config = build_config({"http": {"timeout": 2.0}, "politeness": {"qq.com": 0.3, "default": 0.0}})

    async def main() -> None:
        async with Fetcher(config) as fetcher:
            await asyncio.gather(*(fetcher.fetch(u) for u in urls))

    asyncio.run(main())
    arrivals = [r.at for r in local.requests_to("news.qq.com")]
    assert len(arrivals) == 3
    # a lower bound only (the fetcher may be slower, never faster); slack for connection setup
    assert all(b - a >= 0.25 for a, b in itertools.pairwise(arrivals))
