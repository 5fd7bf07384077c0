"""The ASGI app: feeds, OPML, the image proxy and the reader pages over a read-only database.

Every database read runs in a worker thread on one of ``READERS`` read-only connections (a
connection serves one thread at a time), so a slow query never stalls the event loop that streams
images. HTML comes from Jinja2 templates with autoescaping on; errors are rendered as a short page
without any trace (the trace goes to the server's log).
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import queue
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import anyio.to_thread
import jinja2
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ingest.config import Config
from ingest.errors import FetchError
from parsers.article import SHANGHAI, SOURCES
from serve import feeds as feedfmt
from serve.images import DiskCache, ImageProxy, Signer, belongs_to, cache_folder, load_secret
from serve.render import LRU, RENDER_CACHE, image_sources, render_html, summary_line
from storage import NoArticle, Store, StoredArticle
from storage import feeds as queries

log = logging.getLogger("jianbao.serve")

READERS = 2  # read-only connections, one per worker thread at a time
PER_PAGE = 30
MAX_PAGE = 1000
MAX_ID = 2**63 - 1  # SQLite's largest integer: a longer number in a URL is simply not an article
SEARCH_LIMIT = 30
FEED_LIMIT = 50
FEED_MAX = 500
SEARCH_FEED_POOL = 200  # a saved-search feed takes the best this many matches, then the newest of them
FEED_CACHE = 64  # whole feed documents kept by ETag
FEED_CACHE_BYTES = 24_000_000  # and at most this much of them (a limit=500 feed is a few MB)
FEED_MAX_AGE = 60  # seconds a reader or a proxy may reuse a feed without asking
MARKS = ("\ue000", "\ue001")  # private-use characters: never in stored text, so never mistaken for a match
VALIDATOR_VERSION = "1"  # bump when the documents change shape, so old ETags stop matching

HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self';"
    " base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# an SVG opened on its own is a document: it must not run script in this origin
IMAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
                 "X-Content-Type-Options": "nosniff"}  # fmt: skip

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Filters:
    source: str | None = None
    account: str | None = None
    since: date | datetime | None = None
    q: str | None = None

    def query(self, **extra: Any) -> str:
        """The filters (and ``extra``) as a query string, empty values left out."""
        pairs = {
            "source": self.source,
            "account": self.account,
            "since": self.since.isoformat() if self.since else None,
            "q": self.q,
            **extra,
        }
        kept = {k: v for k, v in pairs.items() if v not in (None, "")}
        return ("?" + urlencode(kept)) if kept else ""

    def describe(self) -> str:
        parts = [p for p in (self.account, self.source) if p]
        if self.q:
            parts.append(f"搜索: {self.q}")
        if self.since:
            parts.append(f"since {self.since.isoformat()}")
        return " · ".join(parts)


class Readers:
    """A few read-only stores, each used by one thread at a time."""

    def __init__(self, db_path: str, count: int) -> None:
        self._path = db_path
        self._count = count
        self._pool: queue.Queue[Store] = queue.Queue()
        self._all: list[Store] = []
        self.open()

    def open(self) -> None:
        """Open the connections (again, after :meth:`close`): an app may be started more than once."""
        if not self._all:
            self._all = [queries.open_readonly(self._path) for _ in range(self._count)]
            for store in self._all:
                self._pool.put(store)

    @contextmanager
    def store(self) -> Iterator[Store]:
        store = self._pool.get()
        try:
            yield store
        finally:
            self._pool.put(store)

    async def run(self, fn: Callable[[Store], T]) -> T:
        def work() -> T:
            with self.store() as store:
                return fn(store)

        return await anyio.to_thread.run_sync(work)

    def close(self) -> None:
        while not self._pool.empty():
            self._pool.get_nowait()
        for store in self._all:
            store.close()
        self._all = []


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("serve", "templates"),
        autoescape=True,  # every template, whatever its name
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = _when
    return env


def _when(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


# Markdown a snippet may still carry (emphasis, headings, quotes, code ticks): a reader wants the words
_SNIPPET_MARKUP = re.compile(r"\*{1,3}|_{2,3}|`+|(?:^|(?<=\s))(?:#{1,6}|>)\s")


def snippet_html(snippet: str, marks: tuple[str, str]) -> Markup:
    """The snippet as plain words, escaped, its marked matches in ``<mark>``."""
    out: list[str] = []
    rest = _SNIPPET_MARKUP.sub("", snippet)
    while True:
        start = rest.find(marks[0])
        end = rest.find(marks[1], start + len(marks[0])) if start >= 0 else -1
        if start < 0 or end < 0:
            out.append(str(escape(rest.replace(marks[0], "").replace(marks[1], ""))))
            break
        out.append(str(escape(rest[:start])))
        out.append("<mark>" + str(escape(rest[start + len(marks[0]) : end])) + "</mark>")
        rest = rest[end + len(marks[1]) :]
    return Markup("".join(out))


def _search(store: Store, q: str, filters: Filters, limit: int) -> tuple[list[Any], tuple[str, str]]:
    """Store.search with private-use match markers when it takes them, else its own brackets."""
    kwargs: dict[str, Any] = {"source": filters.source, "account": filters.account, "since": filters.since}
    marks = ("[", "]")
    if "mark" in inspect.signature(store.search).parameters:
        kwargs["mark"] = MARKS
        marks = MARKS
    return store.search(q, limit=limit, **kwargs), marks


def _parse_since(value: str) -> date | datetime:
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"since={value!r} is not a date like 2025-02-07 or an ISO 8601 time") from None


def _filters(request: Request, *, with_q: bool = True) -> Filters:
    params = request.query_params
    source = params.get("source") or None
    if source is not None and source not in SOURCES:
        raise HTTPException(400, f"source={source!r} is not one of {', '.join(SOURCES)}")
    since = params.get("since") or None
    q = (params.get("q") or "").strip() or None
    return Filters(
        source=source,
        account=params.get("account") or None,
        since=_parse_since(since) if since else None,
        q=q if with_q else None,
    )


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HTTPException(400, f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise HTTPException(400, f"{name} must be between {low} and {high}")
    return value


def _changed(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _not_modified(request: Request, etag: str, modified: datetime | None) -> bool:
    given = request.headers.get("if-none-match")
    if given is not None:
        tags = [t.strip().removeprefix("W/") for t in given.split(",")]
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since and modified is not None:
        try:
            return modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError):
            return False
    return False


def _validators(etag: str, modified: datetime | None) -> dict[str, str]:
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={FEED_MAX_AGE}"}
    if modified is not None:
        headers["Last-Modified"] = format_datetime(modified.astimezone(UTC), usegmt=True)
    return headers


def _etag(*parts: Any) -> str:
    digest = hashlib.sha256(repr((VALIDATOR_VERSION, *parts)).encode("utf-8")).hexdigest()[:32]
    return f'"{digest}"'


class App:
    """State shared by the routes: the readers, the signer, the image proxy, templates, caches."""

    def __init__(self, db_path: str, config: Config, *, base_url: str | None, secret_dir: Path) -> None:
        self.config = config
        self.base_url = base_url.rstrip("/") if base_url else None
        self.prefix = urlsplit(self.base_url).path.rstrip("/") if self.base_url else ""
        self.readers = Readers(db_path, READERS)
        self.signer = Signer(load_secret(secret_dir))
        export_path = (config.base_dir / config.serve.export_dir) if config.serve.export_dir else None
        self.images = ImageProxy(
            config, DiskCache(cache_folder(db_path), config.serve.image_cache_mb * 1024 * 1024), export_dir=export_path
        )
        self.templates = _env()
        self.feed_cache = LRU(FEED_CACHE, max_chars=FEED_CACHE_BYTES)
        self.html_cache = LRU(RENDER_CACHE, max_chars=RENDER_CACHE * 8000)

    # -- helpers -----------------------------------------------------------------------------------

    def base(self, request: Request) -> str:
        """Absolute base for links in feeds: ``--base-url``, else what the request was sent to."""
        return self.base_url or str(request.base_url).rstrip("/")

    def image_url(self, base: str, article_id: int, url: str) -> str:
        if urlsplit(url).scheme not in ("http", "https"):
            return url
        return base + self.signer.path(article_id, url)

    def body_html(self, stored: StoredArticle, base: str) -> str:
        a = stored.article
        originals = image_sources(a.body, [*a.images, *([a.cover] if a.cover else [])])
        return render_html(
            a.body,
            image_src=lambda u: self.image_url(base, stored.id, originals.get(u, u)),
            cache=self.html_cache,
            key=(stored.id, stored.content_hash, base),
        )

    def page(self, name: str, code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("prefix", self.prefix)
        context.setdefault("feed_query", "")
        html = self.templates.get_template(name).render(**context)
        return HTMLResponse(html, status_code=code, headers=HTML_HEADERS)

    def card(self, stored: StoredArticle, *, summary: bool = True) -> dict[str, Any]:
        a = stored.article
        return {
            "id": stored.id,
            "title": a.title or a.url,
            "source": a.source,
            "account": a.account or "",
            "published": a.published,
            # a search result shows its snippet instead: no need to read the body's Markdown
            "summary": summary_line(a.summary, a.body, key=(stored.id, stored.content_hash)) if summary else "",
        }

    # -- pages -------------------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        filters = _filters(request, with_q=False)
        page = _int_param(request, "page", 1, 1, MAX_PAGE)

        def work(store: Store) -> Response:
            entries = queries.newest_entries(
                store,
                source=filters.source,
                account=filters.account,
                since=filters.since,
                limit=PER_PAGE + 1,
                offset=(page - 1) * PER_PAGE,
            )
            cards = [self.card(store.get_article(e.id)) for e in entries[:PER_PAGE]]
            return self.page(
                "index.html",
                title=filters.describe() or "最新",
                cards=cards,
                filters=filters,
                feed_query=filters.query(),
                newer=filters.query(page=page - 1) if page > 1 else None,
                older=filters.query(page=page + 1) if len(entries) > PER_PAGE else None,
            )

        return await self.readers.run(work)

    async def search(self, request: Request) -> Response:
        filters = _filters(request)

        def work(store: Store) -> Response:
            results: list[dict[str, Any]] = []
            if filters.q:
                hits, marks = _search(store, filters.q, filters, SEARCH_LIMIT)
                for hit in hits:
                    card = self.card(hit.article, summary=False)
                    card["snippet"] = snippet_html(hit.snippet, marks)
                    results.append(card)
            return self.page(
                "search.html",
                title=f"搜索: {filters.q}" if filters.q else "搜索",
                q=filters.q or "",
                results=results,
                filters=filters,
                feed_query=filters.query() if filters.q else "",
            )

        return await self.readers.run(work)

    async def article(self, request: Request) -> Response:
        article_id = int(request.path_params["id"])
        if not 0 < article_id <= MAX_ID:
            raise HTTPException(404, f"no article {article_id}")
        base = self.prefix

        def work(store: Store) -> Response:
            try:
                stored = store.get_article(article_id)
            except NoArticle:
                raise HTTPException(404, f"no article {article_id}") from None
            copies = store.copies_of(article_id)
            a = stored.article
            return self.page(
                "article.html",
                title=a.title or a.url,
                a=a,
                id=stored.id,
                body=Markup(self.body_html(stored, base)),
                copies=[self.card(c) for c in copies],
                duplicate_of=stored.duplicate_of,
            )

        return await self.readers.run(work)

    async def accounts(self, request: Request) -> Response:
        def work(store: Store) -> Response:
            return self.page(
                "accounts.html",
                title="公众号与来源",
                accounts=queries.accounts(store),
                sources=queries.sources(store),
            )

        return await self.readers.run(work)

    # -- feeds -------------------------------------------------------------------------------------

    async def feed(self, request: Request) -> Response:
        kind = "json" if request.url.path.endswith(".json") else "atom"
        filters = _filters(request)
        limit = _int_param(request, "limit", FEED_LIMIT, 1, FEED_MAX)
        base = self.base(request)

        def work(store: Store) -> Response:
            hits: dict[int, StoredArticle] = {}
            if filters.q:
                found, _ = _search(store, filters.q, filters, max(limit, SEARCH_FEED_POOL))
                newest = sorted(
                    (h.article for h in found),
                    key=lambda s: (s.article.published is not None, s.article.published or datetime.min, s.id),
                    reverse=True,
                )[:limit]
                hits = {s.id: s for s in newest}
                entries = queries.entries_of(store, list(hits))
            else:
                entries = queries.newest_entries(
                    store, source=filters.source, account=filters.account, since=filters.since, limit=limit
                )
            modified = max((_changed(e.changed) for e in entries), default=None)
            etag = _etag(kind, base, filters, limit, [(e.id, e.changed) for e in entries])
            headers = _validators(etag, modified)
            if _not_modified(request, etag, modified):
                return Response(status_code=304, headers=headers)
            media = "application/feed+json" if kind == "json" else "application/atom+xml"
            cached = self.feed_cache.get(etag)
            if cached is None:
                rows = [hits.get(e.id) or store.get_article(e.id) for e in entries]
                cached = self._feed_document(kind, request, base, filters, limit, rows, modified)
                self.feed_cache.put(etag, cached)
            return Response(cached, media_type=f"{media}; charset=utf-8", headers=headers)

        return await self.readers.run(work)

    def _feed_document(
        self,
        kind: str,
        request: Request,
        base: str,
        filters: Filters,
        limit: int,
        rows: list[StoredArticle],
        modified: datetime | None,
    ) -> bytes:
        extra = {"limit": limit} if limit != FEED_LIMIT else {}
        query = filters.query(**extra)
        home = f"{base}/search{filters.query()}" if filters.q else f"{base}/{filters.query()}"
        meta = feedfmt.FeedMeta(
            title="jianbao" + (f" · {filters.describe()}" if filters.describe() else ""),
            self_url=f"{base}{request.url.path}{query}",
            home_url=home,
            json_url=f"{base}/feed.json{query}",
            atom_url=f"{base}/feed.atom{query}",
            updated=modified or datetime(2000, 1, 1, tzinfo=UTC),
        )
        items = [self._item(s, base) for s in rows]
        return feedfmt.json_feed(meta, items) if kind == "json" else feedfmt.atom(meta, items)

    def _item(self, stored: StoredArticle, base: str) -> feedfmt.FeedItem:
        a = stored.article
        cover = a.cover or (a.images[0] if a.images else None)
        return feedfmt.FeedItem(
            key=a.key,
            title=a.title,
            url=a.url,
            page=f"{base}/a/{stored.id}",
            published=a.published,
            updated=stored.updated or a.published or stored.first_seen,
            author=a.author,
            account=a.account,
            source=a.source,
            summary=summary_line(a.summary, a.body, key=(stored.id, stored.content_hash), chars=300),
            content_html=self.body_html(stored, base),
            cover=self.image_url(base, stored.id, cover) if cover else None,
        )

    async def opml(self, request: Request) -> Response:
        base = self.base(request)

        def work(store: Store) -> Response:
            newest, count, first_seen = queries.archive_marker(store)
            modified = _changed(first_seen) if first_seen else None
            etag = _etag("opml", base, newest, count)
            headers = _validators(etag, modified)
            if _not_modified(request, etag, modified):
                return Response(status_code=304, headers=headers)
            cached = self.feed_cache.get(etag)
            if cached is None:
                cached = self._opml(store, base, modified)
                self.feed_cache.put(etag, cached)
            return Response(cached, media_type="text/x-opml; charset=utf-8", headers=headers)

        return await self.readers.run(work)

    def _opml(self, store: Store, base: str, modified: datetime | None) -> bytes:
        everything = [feedfmt.Outline("jianbao: 全部", f"{base}/feed.atom", f"{base}/")]
        by_source = [
            feedfmt.Outline(f"jianbao: {name}", f"{base}/feed.atom?source={name}", f"{base}/?source={name}")
            for name in queries.sources(store)
        ]
        by_account = [
            feedfmt.Outline(
                acc.account,
                f"{base}/feed.atom?{urlencode({'account': acc.account})}",
                f"{base}/?{urlencode({'account': acc.account})}",
            )
            for acc in queries.accounts(store)
        ]
        return feedfmt.opml(
            "jianbao",
            modified or datetime.now(UTC),
            [("jianbao", everything + by_source), ("公众号 / 媒体", by_account)],
        )

    # -- images ------------------------------------------------------------------------------------

    async def image(self, request: Request) -> Response:
        params = request.query_params
        url, signature = params.get("u") or "", params.get("s") or ""
        try:
            article_id = int(params.get("a") or "")
        except ValueError:
            raise HTTPException(400, "a= must be an article id") from None
        if not 0 < article_id <= MAX_ID:
            raise HTTPException(400, "a= must be an article id")
        if not url or not signature or not self.signer.check(article_id, url, signature):
            raise HTTPException(403, "bad or missing signature")

        def lookup(store: Store) -> StoredArticle | None:
            try:
                return store.get_article(article_id)
            except NoArticle:
                return None

        stored = await self.readers.run(lookup)
        if stored is None or not belongs_to(url, stored.article):
            raise HTTPException(403, "not an image of a stored article")
        try:
            found = await self.images.image(url, stored.article)
        except FetchError as exc:
            log.info("image %s: %s", url, exc.reason)
            return Response(f"image not available: {exc.reason}\n", status_code=502, media_type="text/plain")
        headers = {**IMAGE_HEADERS, "Cache-Control": found.cache_control}
        return Response(found.body, media_type=found.content_type, headers=headers)

    # -- errors ------------------------------------------------------------------------------------

    async def http_error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "Internal error"
        if status == 404 and not isinstance(detail, str):
            detail = "Not found"
        if request.url.path.startswith(("/img", "/feed", "/opml")):
            return Response(f"{detail}\n", status_code=status, media_type="text/plain; charset=utf-8")
        return self.page("error.html", code=status, title=str(status), status=status, detail=str(detail))

    async def server_error(self, request: Request, exc: Exception) -> Response:
        # the trace is for the server's log only
        log.exception("error serving %s", request.url.path, exc_info=exc)
        return self.page("error.html", code=500, title="500", status=500, detail="Internal error")


def create_app(
    db_path: str, config: Config | None = None, *, base_url: str | None = None, secret_dir: Path | None = None
) -> Starlette:
    """The ASGI app over the database at ``db_path`` (opened read-only now: a bad path fails here).

    ``secret_dir`` holds ``serve.secret`` (default: the folder of config.toml, else the working folder)."""
    config = config or Config()
    state = App(db_path, config, base_url=base_url, secret_dir=secret_dir or config.base_dir)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.readers.open()
        try:
            yield
        finally:
            await state.images.aclose()
            state.readers.close()

    static = resources.files("serve") / "static"
    routes = [
        Route("/", state.index),
        Route("/search", state.search),
        Route("/a/{id:int}", state.article),
        Route("/accounts", state.accounts),
        Route("/feed.atom", state.feed),
        Route("/feed.json", state.feed),
        Route("/opml", state.opml),
        Route("/img", state.image),
        Route("/healthz", lambda request: JSONResponse({"ok": True})),
        Mount("/static", app=StaticFiles(directory=str(static)), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: state.http_error, Exception: state.server_error},
        lifespan=lifespan,
    )
    app.state.jianbao = state
    return app
