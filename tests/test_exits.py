"""A pool of exits (issue 11), end to end: three loopback forward proxies in front of the stand-in site.

Each exit is its own :class:`LocalServer` (all three pose as WeChat with one throwaway CA) and records
what passed through it, so the tests can see, per exit, when each request arrived. Intervals are a
fraction of a second; the only timing assertions are the politeness gaps, which are lower bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ingest.config import build_config
from ingest.errors import ConfigError
from ingest.fetch import Fetcher, exit_label, exit_labels, map_error
from ingest.pipeline import Importer
from storage import Store
from tests.conftest import Env
from tests.localserver import LocalServer, Recorded, Reply
from tests.pages import wechat_ids, wechat_long_url, wechat_page

WX = "mp.weixin.qq.com"
INTERVAL = 0.2
# the interval counts from when a request goes on the wire; its arrival at the proxy lags that by the
# loopback and by any moment this busy machine keeps the process from the CPU
JITTER = 0.05
SECRET = "secret"
URLS_SOURCE = '[[sources]]\nname = "backlog"\nkind = "urls"\npath = "urls.txt"\n'
CAPTCHA = "https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?poc_token=x&target_url=y"


def article_reply(request: Recorded) -> Reply:
    """Any WeChat long link: the article its ``mid`` names."""
    mid = parse_qs(urlsplit(request.path).query).get("mid", ["0"])[0]
    return Reply.html(wechat_page(int(mid) - int(wechat_ids(0)["mid"])))


@dataclass
class Pool:
    env: Env
    servers: list[LocalServer]
    proxies: list[str]  # as configured: the second one carries user:secret

    @property
    def labels(self) -> list[str]:
        return exit_labels(self.proxies)

    def configure(
        self, *, n: int | None = None, extra: str = "", sources: str = "", interval: float = INTERVAL
    ) -> None:
        chosen = self.proxies[: n or len(self.proxies)]
        listed = ", ".join(json.dumps(p) for p in chosen)
        self.env.write_config(sources=sources, wechat=interval, extra_http=f"proxies = [{listed}]\n{extra}")

    def serve(self, server: LocalServer, replies: Reply | list[Reply] | None = None) -> None:
        server.route(WX, "/s", replies if replies is not None else article_reply)

    def wx(self, server: LocalServer) -> list[Recorded]:
        return [r for r in server.requests_to(WX) if r.path.startswith("/s")]


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[Pool]:
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(LocalServer(tmp_path, lifetime=120))
        servers = [first]
        for name in ("b", "c"):
            folder = tmp_path / f"exit-{name}"
            folder.mkdir()
            server = LocalServer(folder, lifetime=120)
            server.ca = first.ca  # one CA for every exit: SSL_CERT_FILE names the first one's
            servers.append(stack.enter_context(server))
        proxies = [
            f"http://127.0.0.1:{servers[0].port}",
            f"http://user:{SECRET}@127.0.0.1:{servers[1].port}",
            f"http://127.0.0.1:{servers[2].port}",
        ]
        for server in servers:
            server.route(WX, "/s", article_reply)
        yield Pool(Env(tmp_path, first), servers, proxies)


def urls(numbers: range) -> list[str]:
    return [wechat_long_url(n) for n in numbers]


def import_urls(pool: Pool, numbers: range, *args: str) -> tuple[int, str]:
    result = pool.env.run("import", *args, *urls(numbers))
    return result.code, result.out + result.err


def everything_stored(env: Env) -> str:
    """Every value of every table, as text: where a leaked secret would show."""
    con = sqlite3.connect(env.db)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = []
        for table in tables:
            with contextlib.suppress(sqlite3.OperationalError):  # contentless search tables cannot be read
                rows.extend(repr(row) for row in con.execute(f'SELECT * FROM "{table}"'))
        assert any("fetches" in t for t in tables) and rows
        return "\n".join(rows)
    finally:
        con.close()


# --- politeness per exit ----------------------------------------------------------------------------


def test_three_exits_fetch_one_host_side_by_side_each_at_its_interval(pool: Pool) -> None:
    pool.configure()
    code, text = import_urls(pool, range(1, 13))
    assert code == 0, text
    assert pool.env.count("articles") == 12
    per_exit = [pool.wx(s) for s in pool.servers]
    # spread over every exit, least recently used first: none is left idle, none does it all
    assert all(len(reqs) >= 2 for reqs in per_exit), [len(r) for r in per_exit]
    assert sum(len(reqs) for reqs in per_exit) == 12
    for reqs in per_exit:
        gaps = [b.at - a.at for a, b in itertools.pairwise(reqs)]
        assert min(gaps) >= INTERVAL - JITTER, gaps
    # the exits interleave: while one waits out its interval, the others ask
    merged = sorted((r.at, i) for i, reqs in enumerate(per_exit) for r in reqs)
    order = [i for _, i in merged]
    switches = sum(1 for a, b in itertools.pairwise(order) if a != b)
    assert switches >= 6, order
    # the fetch log names the exit, never its credentials
    by_exit = dict(pool.env.sql("select exit, count(*) from fetches group by exit"))
    assert set(by_exit) == set(pool.labels) and sum(by_exit.values()) == 12
    assert SECRET not in text and SECRET not in everything_stored(pool.env)


def test_a_crawl_spreads_one_source_over_the_exits(pool: Pool) -> None:
    (pool.env.path / "urls.txt").write_text("\n".join(urls(range(1, 9))) + "\n", encoding="utf-8")
    pool.configure(n=2, sources=URLS_SOURCE)
    result = pool.env.run("crawl", "-v")
    assert result.code == 0, result.out + result.err
    assert pool.env.count("articles") == 8
    a, b = (pool.wx(s) for s in pool.servers[:2])
    assert len(a) >= 2 and len(b) >= 2
    # both exits busy at once: each one's requests fall between the other's first and last
    assert a[0].at < b[-1].at and b[0].at < a[-1].at
    for reqs in (a, b):
        gaps = [y.at - x.at for x, y in itertools.pairwise(reqs)]
        assert min(gaps) >= INTERVAL - JITTER, gaps


# --- verification pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["page", "redirect"])
def test_a_verification_on_one_exit_moves_the_url_and_the_exit_stays_cooled_down(pool: Pool, how: str) -> None:
    pool.configure(n=2, interval=0.05)
    captcha = Reply.verification() if how == "page" else Reply.redirect(CAPTCHA)
    pool.serve(pool.servers[0], captcha)
    bad, good = pool.labels[0], pool.labels[1]

    code, text = import_urls(pool, range(1, 5))
    assert code == 0, text  # every URL stored through the other exit in the same run
    assert pool.env.count("articles") == 4
    assert len(pool.wx(pool.servers[0])) == 1  # then paused for the rest of the run
    assert len(pool.wx(pool.servers[1])) == 4
    assert f"{WX} via exit {bad}: verification page" in text and text.count("cooling down") == 1
    assert dict(pool.env.sql("select exit, count(*) from fetches where outcome = 'stored' group by exit")) == {good: 4}
    [(until, strikes)] = pool.env.sql("select until, strikes from host_state where host = ? and exit = ?", (WX, bad))
    assert strikes == 1
    assert datetime.fromisoformat(str(until)) > datetime.now(UTC) + timedelta(seconds=50)  # cooldown 60 s
    exits = {(e["exit"], e["host"]): e for e in json.loads(pool.env.run("stats", "--json").out)["exits"]}
    assert (exits[bad, WX]["requests"], exits[bad, WX]["verification"]) == (1, 1)
    assert (exits[good, WX]["requests"], exits[good, WX]["verification"]) == (4, 0)
    if how == "redirect":
        return  # the rest (persisted, doubling) is the same cool-down, whichever way the page came

    # the next run leaves the exit alone: its cool-down is in the database
    code, text = import_urls(pool, range(5, 8))
    assert code == 0, text
    assert len(pool.wx(pool.servers[0])) == 1
    assert pool.env.count("articles") == 7

    # once it has cooled down it is asked again; a second verification page in a row doubles the pause
    pool.env.sql_write("update host_state set until = ? where exit = ?", ("2000-01-01T00:00:00+00:00", bad))
    code, text = import_urls(pool, range(8, 10))
    assert code == 0, text
    assert len(pool.wx(pool.servers[0])) == 2
    [(until, strikes)] = pool.env.sql("select until, strikes from host_state where host = ? and exit = ?", (WX, bad))
    assert strikes == 2
    assert datetime.fromisoformat(str(until)) > datetime.now(UTC) + timedelta(seconds=110)  # 120 s

    stats = pool.env.run("stats")
    assert stats.code == 0, stats.err
    row = next(line for line in stats.out.splitlines() if line.strip().startswith(bad) and WX in line)
    assert "2 in a row" in row  # cooling down until …, after 2 verification pages in a row


def test_a_long_retry_after_on_one_exit_moves_the_url_and_is_remembered(pool: Pool) -> None:
    pool.configure(n=2, interval=0.05)
    pool.serve(pool.servers[0], Reply.retry_after(3600))
    slow = pool.labels[0]
    code, text = import_urls(pool, range(1, 4))
    assert code == 0, text
    assert pool.env.count("articles") == 3
    assert len(pool.wx(pool.servers[0])) == 1
    [(until, reason)] = pool.env.sql("select until, reason from host_state where exit = ?", (slow,))
    assert "3600" in str(reason)
    assert datetime.fromisoformat(str(until)) > datetime.now(UTC) + timedelta(minutes=59)
    code, text = import_urls(pool, range(4, 6))
    assert code == 0, text
    assert len(pool.wx(pool.servers[0])) == 1  # the next run waits as the server asked


def test_when_every_exit_is_cooling_down_the_crawl_leaves_the_urls_pending_and_says_so_once(pool: Pool) -> None:
    (pool.env.path / "urls.txt").write_text("\n".join(urls(range(1, 11))) + "\n", encoding="utf-8")
    pool.configure(n=2, sources=URLS_SOURCE)
    for server in pool.servers[:2]:
        pool.serve(server, Reply.verification())
    result = pool.env.run("crawl")
    text = result.out + result.err
    assert result.code == 0, text  # pending is not failed: cron tries again later
    assert pool.env.count("articles") == 0
    assert all(len(pool.wx(s)) == 1 for s in pool.servers[:2])  # one verification page each, then quiet
    summary = [line for line in text.splitlines() if line.startswith("crawl:")]
    assert len(summary) == 1 and "10 blocked" in summary[0] and "0 failed" in summary[0]
    assert f"paused: {WX} (every exit: " in summary[0]
    assert text.count("every exit") == 1  # not a line per URL
    # nothing settled: the next run (cooled down) fetches them
    assert pool.env.sql("select count(*) from fetches where outcome = 'failed'") == [(0,)]


# --- daily caps -------------------------------------------------------------------------------------


def test_the_daily_cap_per_exit_carries_over_between_runs(pool: Pool) -> None:
    pool.configure(n=2, extra=f'[http.daily_limit]\n"{WX}" = 3\n', interval=0.05)
    code, text = import_urls(pool, range(1, 6))
    assert code == 0, text
    assert pool.env.count("articles") == 5

    code, text = import_urls(pool, range(6, 10))
    assert code == 1, text
    assert pool.env.count("articles") == 6  # 3 a day through each of the two exits
    assert sum(len(pool.wx(s)) for s in pool.servers[:2]) == 6
    blocked = [line for line in text.splitlines() if line.startswith("blocked")]
    assert len(blocked) == 3 and all("daily limit of 3 reached" in line for line in blocked), text
    counts = dict(pool.env.sql("select key, count from daily_counts where key like 'pages %'"))
    assert counts == {f"pages {WX} via {label}": 3 for label in pool.labels[:2]}
    # over the limit is pending, not failed: nothing settled, no attempt logged as failed
    assert pool.env.sql("select count(*) from fetches where outcome = 'failed'") == [(0,)]
    stats = pool.env.run("stats", "--json")
    exits = json.loads(stats.out)["exits"]
    assert {(e["exit"], e["host"], e["requests"]) for e in exits} == {(label, WX, 3) for label in pool.labels[:2]}
    table = pool.env.run("stats").out
    rows = [line.split() for line in table.splitlines() if line.strip().startswith("http://127.0.0.1")]
    assert sorted(row[:5] for row in rows) == sorted([label, WX, "3", "/", "3"] for label in pool.labels[:2])

    # a cron crawl on the same day: the URLs stay pending, the source has not failed, said once
    (pool.env.path / "urls.txt").write_text("\n".join(urls(range(6, 10))) + "\n", encoding="utf-8")
    pool.configure(n=2, extra=f'[http.daily_limit]\n"{WX}" = 3\n', interval=0.05, sources=URLS_SOURCE)
    crawl = pool.env.run("crawl")
    text = crawl.out + crawl.err
    assert crawl.code == 0, text
    assert sum(len(pool.wx(s)) for s in pool.servers[:2]) == 6  # nothing more asked
    assert text.count("daily limit of 3 reached") == 1 and "3 blocked" in text, text  # one of the 4 is stored
    assert f"paused: {WX} (every exit: daily limit of 3 reached)" in text


def test_overlapping_runs_share_the_daily_cap(pool: Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    pool.env.server.apply_env(monkeypatch)
    config = build_config(
        {"http": {"proxies": pool.proxies[:1], "daily_limit": {WX: 4}}, "politeness": {WX: 0.02}},
        base_dir=pool.env.path,
    )
    db = pool.env.path / "shared.db"
    Store(db).close()  # migrated once, before two writers meet

    async def run(numbers: range) -> list[str]:
        store = Store(db)
        importer = Importer(store, config)
        outcomes: list[str] = []
        try:
            await importer.import_urls(urls(numbers), on_outcome=lambda o: outcomes.append(o.status))
        finally:
            await importer.aclose()
            store.close()
        return outcomes

    async def both() -> list[list[str]]:
        return list(await asyncio.gather(run(range(1, 6)), run(range(11, 16))))

    first, second = asyncio.run(both())
    assert (first + second).count("stored") == 4
    assert (first + second).count("blocked") == 6
    assert len(pool.wx(pool.servers[0])) == 4


# --- credentials ------------------------------------------------------------------------------------


def test_credentials_are_masked_in_every_output_and_table(pool: Pool, tmp_path: Path) -> None:
    # a fourth exit that nobody answers: its connections fail and it is benched with one warning
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    dead_proxy = f"http://admin:{SECRET}-too@127.0.0.1:{dead}"
    listed = ", ".join(json.dumps(p) for p in [pool.proxies[1], dead_proxy])
    (pool.env.path / "urls.txt").write_text("\n".join(urls(range(1, 6))) + "\n", encoding="utf-8")
    pool.env.write_config(
        sources=URLS_SOURCE,
        wechat=0.05,
        extra_http=f"proxies = [{listed}]\n",
    )
    outputs = []
    crawl = pool.env.run("crawl", "-v")
    outputs.append(crawl.out + crawl.err)
    assert crawl.code == 0, outputs[-1]
    assert pool.env.count("articles") == 5
    assert f"warning: exit http://127.0.0.1:{dead} benched for this run after 3 failed connections" in outputs[-1]
    imported = pool.env.run("import", "-v", wechat_long_url(6), "https://mp.weixin.qq.com/s/missing")
    outputs.append(imported.out + imported.err)
    for args in (("stats",), ("stats", "--json"), ("show", wechat_long_url(1)), ("crawl", "--dry-run")):
        result = pool.env.run(*args)
        outputs.append(result.out + result.err)
    text = "\n".join(outputs)
    assert f"http://127.0.0.1:{pool.servers[1].port}" in text  # the exits are named …
    assert SECRET not in text and "admin" not in text  # … without their users and passwords
    stored = everything_stored(pool.env)
    assert f"http://127.0.0.1:{pool.servers[1].port}" in stored
    assert SECRET not in stored and "admin" not in stored


def test_error_messages_from_httpx_never_echo_a_proxy_secret() -> None:
    config = build_config({"http": {"proxies": ["direct", f"socks5://us%40er:{SECRET}%21@127.0.0.1:1080"]}})
    fetcher = Fetcher(config)
    try:
        assert [e.label for e in fetcher.exits] == ["direct", "socks5://127.0.0.1:1080"]
        echoed = httpx.ProxyError(f"cannot reach socks5://us%40er:{SECRET}%21@127.0.0.1:1080 (us@er / {SECRET}!)")
        error = map_error(echoed, "https://mp.weixin.qq.com/s/x", WX, fetcher._secrets)
        assert SECRET not in str(error) and "us@er" not in str(error) and "us%40er" not in str(error)
        assert "proxy error" in str(error)
    finally:
        asyncio.run(fetcher.aclose())


def test_exit_labels_and_bad_proxies_are_named_without_credentials() -> None:
    assert exit_label("direct") == "direct"
    assert exit_label(f"socks5h://u:{SECRET}@proxy.example:1080") == "socks5h://proxy.example:1080"
    assert exit_label(f"http://u:{SECRET}@[::1]:3128") == "http://[::1]:3128"
    # one gateway, several users (providers pick the address by user): numbered, never named by user
    assert exit_labels([f"http://a:{SECRET}@gw:8000", f"http://b:{SECRET}@gw:8000"]) == [
        "http://gw:8000",
        "http://gw:8000#2",
    ]
    for bad in (
        [f"ftp://u:{SECRET}@x:21"],
        [f"http://u:{SECRET}@x:99999"],
        ["direct", "direct"],
        [f"socks4://u:{SECRET}@x:1"],
    ):
        with pytest.raises(ConfigError) as caught:
            build_config({"http": {"proxies": bad}})
        assert SECRET not in str(caught.value) and "http.proxies[" in str(caught.value)


# --- SOCKS5 -----------------------------------------------------------------------------------------


class Socks5:
    """A minimal SOCKS5 server on 127.0.0.1 (user/password auth, CONNECT) that tunnels every connection
    into ``upstream``, a LocalServer: port 443 through an HTTP CONNECT to it, others as they are."""

    def __init__(self, upstream: LocalServer) -> None:
        self.upstream = upstream
        self.logins: list[tuple[str, str]] = []
        self.targets: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    @staticmethod
    def _read(sock: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def _serve(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError), client:
            _, count = self._read(client, 2)
            methods = self._read(client, count)
            if 2 not in methods:
                client.sendall(b"\x05\xff")
                return
            client.sendall(b"\x05\x02")
            _, ulen = self._read(client, 2)
            user = self._read(client, ulen).decode()
            password = self._read(client, self._read(client, 1)[0]).decode()
            self.logins.append((user, password))
            client.sendall(b"\x01\x00")
            _, _, _, kind = self._read(client, 4)
            if kind == 3:
                host = self._read(client, self._read(client, 1)[0]).decode()
            else:
                host = socket.inet_ntop(
                    socket.AF_INET if kind == 1 else socket.AF_INET6, self._read(client, 4 if kind == 1 else 16)
                )
            port = int.from_bytes(self._read(client, 2), "big")
            self.targets.append(f"{host}:{port}")
            upstream = socket.create_connection(self.upstream.address)
            if port == 443:
                upstream.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
                head = b""
                while b"\r\n\r\n" not in head:
                    head += self._read(upstream, 1)
            client.sendall(b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00")
            pump = threading.Thread(target=self._pipe, args=(upstream, client), daemon=True)
            pump.start()
            self._pipe(client, upstream)
            pump.join(timeout=5)

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def test_a_socks5_exit_with_a_password_fetches_and_is_labelled_without_it(pool: Pool) -> None:
    socks = Socks5(pool.servers[2])
    try:
        proxy = f"socks5://reader:{SECRET}@127.0.0.1:{socks.port}"
        pool.env.write_config(wechat=0, extra_http=f"proxies = [{json.dumps(proxy)}]\n")
        code, text = import_urls(pool, range(1, 3))
        assert code == 0, text
        assert socks.logins == [("reader", SECRET)] * len(socks.logins) and socks.logins
        assert all(t == f"{WX}:443" for t in socks.targets)
        assert len(pool.wx(pool.servers[2])) == 2
        label = f"socks5://127.0.0.1:{socks.port}"
        assert pool.env.sql("select distinct exit from fetches") == [(label,)]
        assert SECRET not in text and SECRET not in everything_stored(pool.env)
    finally:
        socks.close()
