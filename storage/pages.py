"""The raw page archive: one compressed copy of the latest fetch of each URL (see :mod:`storage.archive`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from parsers.errors import InvalidURL
from parsers.urls import host_of, site_of
from storage import archive
from storage.core import StoreCore
from storage.errors import StorageError
from storage.records import UNKNOWN_TIME, ArchivedPage, iso, parse_time
from storage.schema import dumps

CHUNK = 5000  # URLs per pages query (one JSON parameter each)


def _family(url: str) -> tuple[str, str]:
    """(source, compression family) of a page URL: web pages share boilerplate per host only."""
    try:
        site = site_of(url)
        return site, site if site in ("wechat", "qq") else host_of(url)
    except (InvalidURL, ValueError):
        return "web", ""


class PagesPart(StoreCore):
    def save_page(
        self,
        url: str,
        *,
        content: bytes,
        final_url: str,
        status: int,
        headers: Mapping[str, str],
        fetched_at: datetime | None = None,
    ) -> None:
        """Archive the raw bytes of ``url`` (the latest fetch replaces an earlier one), compressed."""
        source, family = _family(final_url or url)
        dict_id = self._page_dict(family, content, status)
        blob = self._codec.compress(content, dict_id)
        with self.transaction():
            self._conn.execute(
                "INSERT INTO pages (url, final_url, status, headers, content, dict_id, size, source, fetched_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET final_url = excluded.final_url,"
                " status = excluded.status, headers = excluded.headers, content = excluded.content,"
                " dict_id = excluded.dict_id, size = excluded.size, source = excluded.source,"
                " fetched_at = excluded.fetched_at",
                (
                    url,
                    final_url,
                    status,
                    dumps(dict(headers)),
                    blob,
                    dict_id,
                    len(content),
                    source,
                    iso(fetched_at or self._clock()),
                ),
            )

    def _page_dict(self, family: str, content: bytes, status: int) -> int | None:
        """The family's dictionary id, making this page the dictionary when the family has none yet."""
        row = self._conn.execute("SELECT id FROM page_dicts WHERE family = ?", (family,)).fetchone()
        if row is None:
            if not (family and 200 <= status < 300 and archive.DICT_MIN <= len(content) <= archive.DICT_MAX):
                return None
            with self.transaction():
                self._conn.execute(
                    "INSERT INTO page_dicts (family, content, size, created) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (family) DO NOTHING",
                    (family, archive.compress_standalone(content), len(content), self._now()),
                )
            row = self._conn.execute("SELECT id FROM page_dicts WHERE family = ?", (family,)).fetchone()
        dict_id = int(row["id"])
        self._load_dict(dict_id)
        return dict_id

    def _load_dict(self, dict_id: int | None) -> None:
        if dict_id is None or self._codec.known(dict_id):
            return
        row = self._conn.execute("SELECT content FROM page_dicts WHERE id = ?", (dict_id,)).fetchone()
        if row is None:
            raise StorageError(f"page dictionary {dict_id} is missing", url=self.path)
        self._codec.add(dict_id, archive.decompress_standalone(row["content"]))

    def pages(self, *, urls: Iterable[str] | None = None, source: str | None = None) -> Iterator[ArchivedPage]:
        """Archived pages, decompressed: those of ``urls`` that are archived (in that order), or all
        (optionally of one ``source``) in fetch order."""
        conn = self._conn
        if urls is not None:
            wanted = list(dict.fromkeys(urls))
            chosen: list[str] = []
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                sql = "SELECT url FROM pages WHERE url IN (SELECT value FROM json_each(?))"
                params: list[Any] = [json.dumps(chunk)]
                if source is not None:
                    sql += " AND source = ?"
                    params.append(source)
                present = {r[0] for r in conn.execute(sql, params)}
                chosen += [u for u in chunk if u in present]
        elif source is not None:
            chosen = [
                r[0] for r in conn.execute("SELECT url FROM pages WHERE source = ? ORDER BY fetched_at, url", (source,))
            ]
        else:
            chosen = [r[0] for r in conn.execute("SELECT url FROM pages ORDER BY fetched_at, url")]
        # URLs first, rows one at a time: the caller may write (re-parse and save) between two pages
        for url in chosen:
            row = conn.execute("SELECT * FROM pages WHERE url = ?", (url,)).fetchone()
            if row is None:
                continue
            self._load_dict(row["dict_id"])
            fetched = parse_time(row["fetched_at"]) or UNKNOWN_TIME
            yield ArchivedPage(
                url=row["url"],
                final_url=row["final_url"],
                status=row["status"],
                headers=json.loads(row["headers"]),
                content=self._codec.decompress(row["content"], row["dict_id"]),
                fetched_at=fetched,
            )
