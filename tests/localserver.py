"""A real HTTP server on 127.0.0.1 posing as qq.com and WeChat, for end-to-end tests.

It is a forward proxy that never forwards: absolute-form requests (``GET http://host/path``) and
``CONNECT host:443`` tunnels are answered from a route table, the tunnels with TLS terminated here
using a per-host certificate from a throwaway ``trustme`` CA. Code under test runs unchanged with
``HTTPS_PROXY``/``HTTP_PROXY`` pointing here and ``SSL_CERT_FILE`` naming the CA, and reaches nothing
but this server. Faults (resets, stalls, truncated bodies, sequences like 503, 503, 200) are
scripted per route; every request is recorded.

    def test_retry(tmp_path, monkeypatch):
        with LocalServer(tmp_path) as server:
            server.route("mp.weixin.qq.com", "/s/abc", [Reply(503), Reply(200, body=b"<html>ok</html>")])
            server.apply_env(monkeypatch)           # proxies + SSL_CERT_FILE, before the client exists
            ...fetch https://mp.weixin.qq.com/s/abc...
            assert [r.path for r in server.requests_to("mp.weixin.qq.com")] == ["/s/abc", "/s/abc"]

The server stops at the end of the ``with`` block, or by itself after ``lifetime`` seconds.
"""

from __future__ import annotations

import contextlib
import json as jsonlib
import socket
import socketserver
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import pytest
import trustme

LOOPBACK = "127.0.0.1"
MAX_STALL = 30.0  # a stall never outlives this, nor the server
MAX_BODY = 10_000_000  # request bodies larger than this are refused

Fault = Literal["reset", "stall", "truncate", "cut", "trickle"]

# our own minimal stand-in for WeChat's captcha shell: identified by PAGE_MID, no readable text
VERIFICATION_PAGE = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'><title></title>"
    b"<script>var PAGE_MID='mmbizwap:secitptpage/verify.html';</script></head>"
    b"<body><div id='js_verify' class='weui-msg'></div></body></html>"
)


@dataclass(frozen=True)
class Reply:
    """How to answer one request.

    ``fault``: ``"reset"`` closes the connection with a TCP RST before any answer; ``"stall"`` sends
    nothing for ``stall`` seconds (capped at MAX_STALL) and then closes; ``"truncate"`` announces
    ``len(body)`` in Content-Length, sends only ``sent`` bytes of it and closes; ``"cut"`` does the same
    but ends with a TCP RST (a reset mid-body); ``"trickle"`` sends the body one byte every ``stall``
    seconds. ``delay`` waits before a normal answer.
    """

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    fault: Fault | None = None
    stall: float = 5.0
    sent: int = 0
    delay: float = 0.0

    @classmethod
    def html(cls, text: str | bytes, *, status: int = 200, charset: str = "utf-8") -> Reply:
        body = text.encode(charset) if isinstance(text, str) else text
        return cls(status, body, {"Content-Type": f"text/html; charset={charset}"})

    @classmethod
    def json(cls, data: Any, *, status: int = 200) -> Reply:
        body = jsonlib.dumps(data, ensure_ascii=False).encode("utf-8")
        return cls(status, body, {"Content-Type": "application/json; charset=utf-8"})

    @classmethod
    def redirect(cls, location: str, *, status: int = 302) -> Reply:
        return cls(status, b"", {"Location": location})

    @classmethod
    def retry_after(cls, seconds: float | str, *, status: int = 429) -> Reply:
        value = seconds if isinstance(seconds, str) else f"{seconds:g}"
        return cls(status, b"slow down", {"Retry-After": value})

    @classmethod
    def reset(cls) -> Reply:
        return cls(fault="reset")

    @classmethod
    def stalled(cls, seconds: float) -> Reply:
        return cls(fault="stall", stall=seconds)

    @classmethod
    def truncated(cls, body: bytes, *, sent: int) -> Reply:
        if not 0 <= sent < len(body):
            raise ValueError("a truncated reply sends fewer bytes than its body")
        return cls(200, body, {"Content-Type": "text/html; charset=utf-8"}, fault="truncate", sent=sent)

    @classmethod
    def cut(cls, body: bytes, *, sent: int) -> Reply:
        if not 0 <= sent < len(body):
            raise ValueError("a cut reply sends fewer bytes than its body")
        return cls(200, body, {"Content-Type": "text/html; charset=utf-8"}, fault="cut", sent=sent)

    @classmethod
    def trickled(cls, body: bytes, *, every: float) -> Reply:
        """Headers at once, then one byte of ``body`` every ``every`` seconds (a server that never quite stalls)."""
        return cls(200, body, {"Content-Type": "text/html; charset=utf-8"}, fault="trickle", stall=every)

    @classmethod
    def verification(cls) -> Reply:
        return cls.html(VERIFICATION_PAGE)


Responder = Callable[["Recorded"], Reply]


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it; ``at`` is ``time.monotonic()`` on arrival."""

    at: float
    method: str
    scheme: str  # "https" inside a CONNECT tunnel
    host: str
    path: str  # path and query, as sent
    headers: dict[str, str]  # lower-case keys
    body: bytes
    proxied: bool  # absolute-form or tunnelled, i.e. the client used us as its proxy

    def json(self) -> Any:
        return jsonlib.loads(self.body)


class _Route:
    def __init__(self, replies: Sequence[Reply] | Responder) -> None:
        self._replies = replies
        self._next = 0
        self._lock = threading.Lock()

    def reply(self, request: Recorded) -> Reply:
        if callable(self._replies):
            return self._replies(request)
        with self._lock:
            # a sequence is played once, then its last reply answers every later request
            reply = self._replies[min(self._next, len(self._replies) - 1)]
            self._next += 1
            return reply


class _SocketWriter:
    """A wfile over any socket (TLS included) that never writes partially."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def write(self, data: bytes) -> int:
        self._sock.sendall(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    @property
    def closed(self) -> bool:
        return False


class LocalServer:
    """Threaded fake origin + forward proxy on 127.0.0.1 (see the module docstring)."""

    def __init__(self, directory: Path, *, lifetime: float = 120.0, idle_timeout: float = 10.0) -> None:
        self.ca = trustme.CA()
        self.ca_file = Path(directory) / "localserver-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.requests: list[Recorded] = []
        self.connects: list[str] = []  # "host:port" of every CONNECT
        self.tls_failures: list[str] = []  # hosts whose client refused our certificate
        self._routes: dict[tuple[str, str], _Route] = {}
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._stop = threading.Event()
        self._lifetime = lifetime
        self._idle_timeout = idle_timeout
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # -- setup -----------------------------------------------------------------------------------------

    def route(self, host: str, path: str, replies: Reply | Sequence[Reply] | Responder) -> None:
        """Answer ``host`` + ``path`` (with its query, if the route names one) with ``replies``.

        A request matches its exact path+query first, then its path alone; anything else gets 404.
        """
        if isinstance(replies, Reply):
            replies = [replies]
        if not callable(replies) and not replies:
            raise ValueError("a route needs at least one reply")
        with self._lock:
            self._routes[(host.lower(), path)] = _Route(replies)

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def address(self) -> tuple[str, int]:
        """The listening socket's own (host, port), as the OS reports it."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def proxy_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """Environment for a client that should see only this server, TLS trusting its CA."""
        return {
            "HTTP_PROXY": self.proxy_url,
            "HTTPS_PROXY": self.proxy_url,
            "http_proxy": self.proxy_url,
            "https_proxy": self.proxy_url,
            "SSL_CERT_FILE": str(self.ca_file),
        }

    def apply_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point proxies and SSL_CERT_FILE here; drop variables that could route around us."""
        for name in ("ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "SSL_CERT_DIR"):
            monkeypatch.delenv(name, raising=False)
        for name, value in self.env.items():
            monkeypatch.setenv(name, value)

    def requests_to(self, host: str, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.host == host.lower() and (path is None or r.path == path or r.path.split("?")[0] == path)
            ]

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> Self:
        httpd = _Server((LOOPBACK, 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="localserver", daemon=True
        )
        self._thread.start()
        # a forgotten server must not outlive the test session
        self._timer = threading.Timer(self._lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.cancel()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            # wakes handler threads blocked reading a kept-alive connection
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- used by the handler -----------------------------------------------------------------------------

    def _context_for(self, host: str) -> ssl.SSLContext:
        with self._lock:
            ctx = self._contexts.get(host)
            if ctx is None:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                self.ca.issue_cert(host).configure_cert(ctx)
                self._contexts[host] = ctx
            return ctx

    def _record(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            route = self._routes.get((request.host, request.path)) or self._routes.get(
                (request.host, request.path.split("?")[0])
            )
        if route is None:
            return Reply(404, f"localserver: no route for {request.host}{request.path}".encode())
        return route.reply(request)

    def _track(self, sock: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._sockets.add(sock)
            else:
                self._sockets.discard(sock)

    def _wait(self, seconds: float) -> None:
        self._stop.wait(min(max(seconds, 0.0), MAX_STALL))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LocalServer

    def server_bind(self) -> None:
        # HTTPServer.server_bind would resolve our name with getfqdn(), a DNS lookup we never need
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = LOOPBACK, int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    tls_host: str | None = None

    @property
    def owner(self) -> LocalServer:
        return self.server.owner

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.owner._idle_timeout)  # an idle kept-alive connection ends by itself
        # head and body go out in separate writes: with Nagle's algorithm and the client's delayed ACK,
        # each answer would wait ~40 ms for nothing
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.owner._track(self.connection, add=False)
            if self.tls_host is not None:
                # the tunnel's TLS socket took over the fd: socketserver only knows the detached one
                self.connection.close()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean

    def do_CONNECT(self) -> None:
        target = self.path
        host = target.rsplit(":", 1)[0].strip("[]").lower()
        with self.owner._lock:
            self.owner.connects.append(target)
        if self.tls_host is not None or not host:
            self._plain(400, b"bad CONNECT")
            return
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        raw = self.connection
        self.owner._track(raw, add=False)
        try:
            tls = self.owner._context_for(host).wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            with self.owner._lock:
                self.owner.tls_failures.append(host)
            self.close_connection = True
            return
        self.tls_host = host
        self.connection = tls
        self.owner._track(tls, add=True)
        self.rfile = tls.makefile("rb")
        self.wfile = _SocketWriter(tls)  # type: ignore[assignment]
        self.close_connection = False

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = do_GET

    def _serve(self) -> None:
        target = self.path
        proxied = self.tls_host is not None
        if self.tls_host is not None:
            host, scheme = self.tls_host, "https"
        elif target.lower().startswith(("http://", "https://")):
            parts = urlsplit(target)
            # httpx writes an IPv6 literal without its brackets here (http://::1/x): the Host header has them
            host = parts.hostname or _host_header(self.headers.get("Host", ""))
            host, scheme, proxied = host.lower(), parts.scheme.lower(), True
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
        else:
            host, scheme = _host_header(self.headers.get("Host", "")).lower(), "http"
        try:
            body = self._read_body()
        except ValueError as exc:
            self._plain(400, str(exc).encode())
            return
        request = Recorded(
            at=time.monotonic(),
            method=self.command,
            scheme=scheme,
            host=host,
            path=target,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            proxied=proxied,
        )
        self._answer(self.owner._record(request))

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else b""

    def _answer(self, reply: Reply) -> None:
        if reply.fault == "reset":
            # SO_LINGER 0: close() sends RST instead of FIN, as a dropped connection does
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.owner._track(self.connection, add=False)
            self.connection.close()
            return
        if reply.fault == "stall":
            self.owner._wait(reply.stall)
            self.close_connection = True
            return
        if reply.delay:
            self.owner._wait(reply.delay)
        headers = dict(reply.headers)
        if not any(k.lower() == "content-length" for k in headers):
            headers["Content-Length"] = str(len(reply.body))
        body = reply.body
        if reply.fault in ("truncate", "cut"):
            body = reply.body[: reply.sent]
            headers["Connection"] = "close"
            self.close_connection = True
        if reply.fault == "trickle":
            body = b""
            headers["Connection"] = "close"
            self.close_connection = True
        try:
            reason = HTTPStatus(reply.status).phrase
        except ValueError:
            reason = "Unknown"
        head = f"HTTP/1.1 {reply.status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.wfile.write(head.encode("latin-1") + b"\r\n")
        if self.command != "HEAD":
            self.wfile.write(body)
        if reply.fault == "cut":
            self._reset()
        elif reply.fault == "trickle":
            self._trickle(reply.body, reply.stall)

    def _reset(self) -> None:
        # SO_LINGER 0: close() sends RST instead of FIN, as a dropped connection does
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.owner._track(self.connection, add=False)
        self.connection.close()

    def _trickle(self, body: bytes, every: float) -> None:
        deadline = time.monotonic() + MAX_STALL
        for i in range(len(body)):
            if self.owner._stop.is_set() or time.monotonic() > deadline:
                break
            try:
                self.wfile.write(body[i : i + 1])
            except OSError:
                break  # the client gave up: what a trickle is for
            self.owner._wait(every)

    def _plain(self, status: int, body: bytes) -> None:
        self.close_connection = True
        self._answer(Reply(status, body, {"Connection": "close"}))


def _host_header(value: str) -> str:
    """The host of a Host header: ``[::1]:8080`` -> ``::1``, ``example.com:80`` -> ``example.com``."""
    value = value.strip()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    return value.rsplit(":", 1)[0]


def local_server(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    """Body of a pytest fixture: a started server with the environment pointing at it.

    @pytest.fixture
    def server(tmp_path, monkeypatch):
        yield from local_server(tmp_path, monkeypatch)
    """
    with LocalServer(directory) as server:
        server.apply_env(monkeypatch)
        yield server
