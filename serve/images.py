"""The image proxy: signed URLs, fetches with the Referer each CDN wants, a size-capped disk cache.

WeChat's and qq.com's image CDNs refuse a foreign ``Referer``, so pages and feeds point every image
at ``/img?a=ID&u=URL&s=SIG``. What keeps this from being an open proxy:

- ``SIG`` is an HMAC over the article id and the URL with a secret kept in ``serve.secret`` beside
  config.toml (created on first run, mode 0600), never in the database. Only this server mints them.
- ``URL`` must be an image of article ``ID`` as stored (its cover, its image list, or its body), so
  only hosts found in stored articles are ever fetched, even if the secret leaked.
- Every request of the fetch, each redirect hop included, goes through :class:`GuardTransport`:
  http(s) only (the Fetcher also refuses other redirect schemes), never a literal loopback, private,
  link-local or otherwise non-global address (``127.0.0.1``, ``10.0.0.1``, ``[::1]``, ``2130706433``),
  never ``localhost``. Without a proxy, the host name is resolved and refused when any address it
  resolves to is non-global. Through a proxy (``[http] proxy`` or ``HTTPS_PROXY``), the proxy does
  the resolving and connecting, so names are not resolved here: the proxy decides where a name leads
  (the tests rely on this: their stand-in CDN answers as ``mmbiz.qpic.cn`` through a loopback proxy).
  A name that resolves to a public address when checked and to a private one when connected (DNS
  rebinding) is not caught: that would need the checked address pinned into the connection.
- The answer must say ``image/*`` and stay under ``[http] max_bytes`` (the Fetcher's limit).

Fetching uses :class:`ingest.fetch.Fetcher` (politeness per host, retries, size limit) and the
Referer rule of ``export --images download`` (:func:`ingest.export.referer_for`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import os
import secrets
import socket
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx

from ingest.config import Config
from ingest.errors import PermanentFetchError
from ingest.export import file_stem, referer_for
from ingest.fetch import Fetcher
from ingest.images import looks_like_image
from parsers.article import Article

SECRET_FILE = "serve.secret"
SIG_BYTES = 16
CACHE_MAGIC = b"JBIMG1\n"
DEFAULT_CACHE_CONTROL = "public, max-age=2592000"  # an image URL of a stored article does not change
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
EVICT_TO = 0.9  # after passing the cap, evict down to this share of it, so eviction runs rarely


class ImageRefused(PermanentFetchError):
    """The proxy will not fetch this: a non-public address, a non-image answer."""


# -- signing -------------------------------------------------------------------------------------------


def load_secret(folder: Path) -> bytes:
    """The HMAC key in ``folder/serve.secret``, created (mode 0600) when missing."""
    path = folder / SECRET_FILE
    with contextlib.suppress(FileNotFoundError):
        return _read_secret(path)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it meanwhile
        return _read_secret(path)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32) + "\n")
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    if len(text) < 32:
        raise ValueError(f"{path}: secret too short (delete the file to make a new one)")
    return text.encode("ascii")


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(self, article_id: int, url: str) -> str:
        mac = hmac.new(self._secret, f"{article_id}\n{url}".encode(), hashlib.sha256).digest()[:SIG_BYTES]
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    def check(self, article_id: int, url: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(article_id, url), signature)

    def path(self, article_id: int, url: str) -> str:
        """``/img?…`` for one image of one article (relative: callers prefix the base URL)."""
        return "/img?" + urlencode({"a": article_id, "u": url, "s": self.sign(article_id, url)})


def belongs_to(url: str, article: Article) -> bool:
    """Whether ``url`` is an image the stored article shows: its cover, its image list or in its body."""
    return url == article.cover or url in article.images or f"({url})" in article.body or f"({url} " in article.body


# -- address checks ------------------------------------------------------------------------------------


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        # the forms inet_aton reads (127.1, 0x7f000001, 2130706433) reach the same address
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def proxied(url: httpx.URL, config: Config) -> bool:
    """Whether the request goes through a proxy, which then resolves the name (httpx's own rules)."""
    if config.http.proxy:
        return True
    found = urllib.request.getproxies_environment()
    if not (found.get(url.scheme) or found.get("all")):
        return False
    return not urllib.request.proxy_bypass(url.host)  # NO_PROXY


async def check_target(url: httpx.URL, config: Config) -> None:
    """Refuse a request to anything but a public http(s) host (see the module docstring)."""
    requested = str(url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ImageRefused("not an http(s) URL", url=requested)
    host = url.host.lower().rstrip(".")
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        raise ImageRefused(f"refused: {host} is a local name", url=requested)
    ip = _literal_ip(host)
    if ip is not None:
        if not is_public(ip):
            raise ImageRefused(f"refused: {host} is not a public address", url=requested)
        return
    if proxied(url, config):
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, url.port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ImageRefused(f"cannot resolve {host} ({exc})", url=requested) from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not is_public(address):
            raise ImageRefused(f"refused: {host} resolves to {address}, not a public address", url=requested)


_HELD = "x-jianbao-guard-location"


async def _hold_location(response: httpx.Response) -> None:
    # httpx prepares a redirect's next request even when not following it, and raises on a Location
    # it cannot parse (javascript:): held here, handed back to the Fetcher, which judges redirects
    location = response.headers.get("location")
    if location is not None:
        del response.headers["location"]
        response.headers[_HELD] = location


class GuardTransport(httpx.AsyncBaseTransport):
    """A transport that checks every request's target, then sends it through an ordinary client
    (proxies from the environment or ``[http] proxy``, ``SSL_CERT_FILE``): the Fetcher keeps its
    politeness, retries, redirect handling and size limit, and each redirect hop is checked here."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._client = httpx.AsyncClient(
            trust_env=True,
            proxy=config.http.proxy or None,
            timeout=httpx.Timeout(config.http.timeout),
            follow_redirects=False,
            event_hooks={"response": [_hold_location]},
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await check_target(request.url, self._config)
        response = await self._client.send(request, stream=True)
        headers = response.headers.copy()
        if _HELD in headers:
            headers["location"] = headers.pop(_HELD)
        return httpx.Response(
            status_code=response.status_code,
            headers=headers,
            stream=response.stream,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._client.aclose()


# -- disk cache ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CachedImage:
    content_type: str
    cache_control: str
    body: bytes


class DiskCache:
    """Image bytes by URL under ``folder``, at most ``cap_bytes`` in all; the least recently used go.

    A file's mtime is its last use (touched on every hit). Files are written whole under a temporary
    name and renamed, so a reader never sees half an image."""

    def __init__(self, folder: Path, cap_bytes: int) -> None:
        self.folder = folder
        self.cap = cap_bytes
        self._lock = threading.Lock()
        self._size: int | None = None  # bytes in the folder, counted on first use

    def _path(self, url: str) -> Path:
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return self.folder / digest[:2] / digest

    def get(self, url: str) -> CachedImage | None:
        path = self._path(url)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        parsed = _unpack(data)
        if parsed is None:
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        with contextlib.suppress(OSError):
            os.utime(path)
        return parsed

    def put(self, url: str, image: CachedImage) -> None:
        data = (
            CACHE_MAGIC
            + image.content_type.encode("latin-1", "replace")
            + b"\n"
            + image.cache_control.encode("latin-1", "replace")
            + b"\n"
            + image.body
        )
        if len(data) > self.cap:
            return
        path = self._path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")
        tmp.write_bytes(data)
        old = path.stat().st_size if path.exists() else 0
        tmp.replace(path)
        with self._lock:
            if self._size is None:
                self._size = self._count()
            else:
                self._size += len(data) - old
            over = self._size > self.cap
        if over:
            self.evict()

    def _files(self) -> Iterator[os.DirEntry[str]]:
        if not self.folder.is_dir():
            return
        for sub in os.scandir(self.folder):
            if sub.is_dir():
                yield from (e for e in os.scandir(sub.path) if e.is_file() and not e.name.endswith(".part"))

    def _count(self) -> int:
        return sum(e.stat().st_size for e in self._files())

    def size(self) -> int:
        with self._lock:
            if self._size is None:
                self._size = self._count()
            return self._size

    def evict(self) -> None:
        """Delete least recently used files until the cache is under ``EVICT_TO`` of its cap."""
        with self._lock:
            entries = sorted((e.stat().st_mtime, e.stat().st_size, e.path) for e in self._files())
            total = sum(size for _, size, _ in entries)
            target = int(self.cap * EVICT_TO)
            for _, size, path in entries:
                if total <= target:
                    break
                with contextlib.suppress(OSError):
                    os.unlink(path)
                    total -= size
            self._size = total


def _unpack(data: bytes) -> CachedImage | None:
    if not data.startswith(CACHE_MAGIC):
        return None
    rest = data[len(CACHE_MAGIC) :]
    first = rest.find(b"\n")
    second = rest.find(b"\n", first + 1)
    if first < 0 or second < 0:
        return None
    return CachedImage(rest[:first].decode("latin-1"), rest[first + 1 : second].decode("latin-1"), rest[second + 1 :])


# -- the proxy -----------------------------------------------------------------------------------------

_TYPE_BY_EXT = {".jpg": "image/jpeg", ".png": "image/png", ".gif": "image/gif", ".webp": "image/webp",
                ".svg": "image/svg+xml", ".avif": "image/avif"}  # fmt: skip


def _sniff(content: bytes) -> str | None:
    """The image type of an unlabelled body, when :func:`ingest.images.looks_like_image` knows it."""
    if not looks_like_image(content):
        return None
    for magic, kind in _MAGIC_TYPES:
        if content.startswith(magic):
            return kind
    return "image/webp" if content[:4] == b"RIFF" else "image/avif"


_MAGIC_TYPES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG", "image/png"),
    (b"GIF8", "image/gif"),
    (b"BM", "image/bmp"),
)


def exported_image(export_dir: Path, article: Article, url: str) -> CachedImage | None:
    """The file ``export --images download`` saved for this image, when there is one.

    It lives in ``export_dir/<file stem>/<sha1(url)[:16]>.<ext>`` (see :mod:`ingest.images`)."""
    folder = export_dir / file_stem(article)
    prefix = hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]
    for candidate in sorted(folder.glob(prefix + ".*")):
        kind = _TYPE_BY_EXT.get(candidate.suffix.lower())
        if kind and candidate.is_file():
            return CachedImage(kind, DEFAULT_CACHE_CONTROL, candidate.read_bytes())
    return None


class ImageProxy:
    """Fetch, check and cache images; one instance (and one Fetcher) for the app's lifetime."""

    def __init__(self, config: Config, cache: DiskCache, *, export_dir: Path | None = None) -> None:
        self._config = config
        self.cache = cache
        self._export_dir = export_dir
        self._fetcher: Fetcher | None = None
        self._inflight: dict[str, asyncio.Future[CachedImage]] = {}

    def _get_fetcher(self) -> Fetcher:
        # made inside the running event loop, on first use
        if self._fetcher is None:
            self._fetcher = Fetcher(self._config, transport=GuardTransport(self._config))
        return self._fetcher

    async def aclose(self) -> None:
        if self._fetcher is not None:
            await self._fetcher.aclose()
            self._fetcher = None

    async def image(self, url: str, article: Article) -> CachedImage:
        """The image's bytes: an exported copy, the cache, or a fetch (one at a time per URL)."""
        if self._export_dir is not None:
            found = await asyncio.to_thread(exported_image, self._export_dir, article, url)
            if found is not None:
                return found
        cached = await asyncio.to_thread(self.cache.get, url)
        if cached is not None:
            return cached
        running = self._inflight.get(url)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[CachedImage] = asyncio.get_running_loop().create_future()
        self._inflight[url] = future
        try:
            image = await self._fetch(url, article)
            future.set_result(image)
            return image
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            del self._inflight[url]

    async def _fetch(self, url: str, article: Article) -> CachedImage:
        page = await self._get_fetcher().fetch(url, referer=referer_for(url, article))
        content_type = (page.content_type or "").split(";")[0].strip().lower()
        if not content_type.startswith("image/"):
            # some CDNs label images application/octet-stream; anything else that is not image/* is refused
            sniffed = _sniff(page.content) if content_type in ("", "application/octet-stream") else None
            if sniffed is None:
                raise ImageRefused(f"not an image ({content_type or 'no content type'})", url=url, status=page.status)
            content_type = sniffed
        image = CachedImage(content_type, page.headers.get("cache-control") or DEFAULT_CACHE_CONTROL, page.content)
        await asyncio.to_thread(self.cache.put, url, image)
        return image


def cache_folder(db_path: str | os.PathLike[str]) -> Path:
    """``<db>-cache/images`` beside the database."""
    db = Path(db_path)
    return db.with_name(db.name + "-cache") / "images"
