"""The loopback test server itself: proxying, TLS through CONNECT, scripted faults, recording."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from tests.localserver import LOOPBACK, LocalServer, Recorded, Reply, local_server


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    yield from local_server(tmp_path, monkeypatch)


def client(server: LocalServer, *, timeout: float = 5.0) -> httpx.Client:
    """A client configured explicitly (not from the environment) to use the server as its proxy."""
    return httpx.Client(
        proxy=server.proxy_url,
        verify=ssl.create_default_context(cafile=str(server.ca_file)),
        timeout=timeout,
        trust_env=False,
    )


def test_binds_loopback_only(server: LocalServer) -> None:
    host, port = server.address
    assert host == "127.0.0.1"
    assert server.proxy_url == f"http://127.0.0.1:{port}"


def test_plain_get_through_the_proxy_is_answered_and_recorded(server: LocalServer) -> None:
    server.route("mp.weixin.qq.com", "/s/abc", Reply.html("<p>正文</p>"))
    with client(server) as c:
        r = c.get("http://mp.weixin.qq.com/s/abc", headers={"X-Probe": "1"})
    assert r.status_code == 200
    assert r.text == "<p>正文</p>"
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    [seen] = server.requests
    assert (seen.method, seen.scheme, seen.host, seen.path, seen.proxied) == (
        "GET",
        "http",
        "mp.weixin.qq.com",
        "/s/abc",
        True,
    )
    assert seen.headers["x-probe"] == "1"
    assert server.connects == []


def test_https_through_connect_uses_a_certificate_from_the_test_ca(server: LocalServer) -> None:
    server.route("mp.weixin.qq.com", "/s/abc", Reply.html("secure"))
    with client(server) as c:
        r = c.get("https://mp.weixin.qq.com/s/abc")
    assert r.text == "secure"
    assert server.connects == ["mp.weixin.qq.com:443"]
    [seen] = server.requests
    assert (seen.scheme, seen.host, seen.proxied) == ("https", "mp.weixin.qq.com", True)


def test_environment_alone_routes_https_here(server: LocalServer) -> None:
    # the fixture set HTTPS_PROXY and SSL_CERT_FILE: a default client needs nothing else
    server.route("i.news.qq.com", "/web_feed/getPCList", Reply.json({"ret": 0, "data": []}))
    with httpx.Client(timeout=5.0) as c:
        r = c.post("https://i.news.qq.com/web_feed/getPCList", json={"channel": "news_news_top"})
    assert r.json() == {"ret": 0, "data": []}
    [seen] = server.requests_to("i.news.qq.com", "/web_feed/getPCList")
    assert seen.method == "POST"
    assert seen.json() == {"channel": "news_news_top"}
    assert seen.headers["content-type"] == "application/json"


def test_a_client_not_trusting_the_ca_is_refused(server: LocalServer, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    server.route("mp.weixin.qq.com", "/s/abc", Reply.html("secure"))
    strict = httpx.Client(proxy=server.proxy_url, verify=ssl.create_default_context(cafile=str(other)), trust_env=False)
    with strict, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        strict.get("https://mp.weixin.qq.com/s/abc")
    assert server.requests == []
    # the server thread notes the failed handshake just after the client gave up
    deadline = time.monotonic() + 5
    while not server.tls_failures and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.tls_failures == ["mp.weixin.qq.com"]


def test_sequence_plays_once_then_repeats_its_last_reply(server: LocalServer) -> None:
    server.route("news.qq.com", "/rain/a/X", [Reply(503), Reply(503), Reply.html("ok")])
    with client(server) as c:
        statuses = [c.get("http://news.qq.com/rain/a/X").status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert len(server.requests_to("news.qq.com", "/rain/a/X")) == 4


def test_query_specific_route_wins_over_path_route(server: LocalServer) -> None:
    server.route("news.qq.com", "/list", Reply.html("any"))
    server.route("news.qq.com", "/list?page=2", Reply.html("second"))
    with client(server) as c:
        assert c.get("http://news.qq.com/list?page=1").text == "any"
        assert c.get("http://news.qq.com/list?page=2").text == "second"
    assert [r.path for r in server.requests_to("news.qq.com", "/list")] == ["/list?page=1", "/list?page=2"]


def test_unknown_route_is_404_and_recorded(server: LocalServer) -> None:
    with client(server) as c:
        r = c.get("https://elsewhere.example/x")
    assert r.status_code == 404
    assert b"no route" in r.content
    assert server.requests[0].host == "elsewhere.example"


def test_retry_after_reply(server: LocalServer) -> None:
    server.route("news.qq.com", "/a", [Reply.retry_after(3), Reply.retry_after(1.5, status=503)])
    with client(server) as c:
        first, second = c.get("http://news.qq.com/a"), c.get("http://news.qq.com/a")
    assert (first.status_code, first.headers["retry-after"]) == (429, "3")
    assert (second.status_code, second.headers["retry-after"]) == (503, "1.5")


def test_redirect_and_verification_page(server: LocalServer) -> None:
    server.route("mp.weixin.qq.com", "/s/abc", Reply.redirect("/mp/wappoc_appmsgcaptcha?x=1"))
    server.route("mp.weixin.qq.com", "/mp/wappoc_appmsgcaptcha", Reply.verification())
    with client(server) as c:
        r = c.get("https://mp.weixin.qq.com/s/abc")
        assert (r.status_code, r.headers["location"]) == (302, "/mp/wappoc_appmsgcaptcha?x=1")
        page = c.get("https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?x=1")
    assert b"secitptpage/verify" in page.content


def test_reset_closes_without_an_answer(server: LocalServer) -> None:
    server.route("news.qq.com", "/r", Reply.reset())
    with client(server) as c:
        with pytest.raises(httpx.ReadError):
            c.get("http://news.qq.com/r")
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            c.get("https://news.qq.com/r")
    assert len(server.requests_to("news.qq.com", "/r")) == 2


def test_truncated_body_stops_short_of_its_content_length(server: LocalServer) -> None:
    server.route("news.qq.com", "/t", Reply.truncated(b"x" * 1000, sent=100))
    with client(server) as c:
        for url in ("http://news.qq.com/t", "https://news.qq.com/t"):
            with pytest.raises(httpx.RemoteProtocolError, match="received 100 bytes, expected 1000"):
                c.get(url)


def test_stall_outlasts_the_client_timeout(server: LocalServer) -> None:
    server.route("news.qq.com", "/s", Reply.stalled(5))
    with client(server, timeout=0.3) as c, pytest.raises(httpx.ReadTimeout):
        c.get("http://news.qq.com/s")
    assert len(server.requests_to("news.qq.com", "/s")) == 1


def test_delay_then_answer(server: LocalServer) -> None:
    server.route("news.qq.com", "/d", Reply(200, b"late", delay=0.05))
    with client(server) as c:
        assert c.get("http://news.qq.com/d").content == b"late"


def test_responder_sees_the_request(server: LocalServer) -> None:
    def echo(request: Recorded) -> Reply:
        return Reply.json({"page": request.json()["page"], "method": request.method})

    server.route("i.news.qq.com", "/web_feed/getPCList", echo)
    with client(server) as c:
        r = c.post("https://i.news.qq.com/web_feed/getPCList", json={"page": 3})
    assert r.json() == {"page": 3, "method": "POST"}


def test_direct_origin_form_request_uses_the_host_header(server: LocalServer) -> None:
    server.route("news.qq.com", "/direct", Reply.html("direct"))
    with httpx.Client(trust_env=False) as c:
        r = c.get(f"http://127.0.0.1:{server.port}/direct", headers={"Host": "news.qq.com"})
    assert r.text == "direct"
    [seen] = server.requests
    assert (seen.host, seen.proxied) == ("news.qq.com", False)


def test_apply_env_points_everything_here(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        assert os.environ[name] == server.proxy_url
    assert os.environ["SSL_CERT_FILE"] == str(server.ca_file)
    assert server.ca_file.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    for name in ("ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        assert name not in os.environ


def _refused(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1):
            return False
    except OSError:
        return True


def test_stop_closes_the_port_and_wakes_a_stall(tmp_path: Path) -> None:
    srv = LocalServer(tmp_path).start()
    port = srv.port
    srv.route("news.qq.com", "/s", Reply.stalled(25))
    with client(srv, timeout=0.2) as c, pytest.raises(httpx.ReadTimeout):
        c.get("http://news.qq.com/s")
    srv.stop()
    assert _refused(port)


def test_server_stops_by_itself_after_its_lifetime(tmp_path: Path) -> None:
    srv = LocalServer(tmp_path, lifetime=0.2).start()
    port = srv.port
    deadline = time.monotonic() + 10
    while not _refused(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _refused(port)
