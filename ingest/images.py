"""Downloading an article's images for export, with the Referer each image host demands."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest.config import Config
from ingest.errors import FetchError
from ingest.export import file_stem, image_file_name, referer_for, rewrite_images
from ingest.fetch import Fetcher
from parsers.article import Article

Failure = tuple[str, str]  # (remote URL, why)


async def fetch_image(fetcher: Fetcher, url: str, article: Article, folder: Path) -> str:
    """Save one image into ``folder`` (reusing an earlier download) and return its file name."""
    prefix = hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]
    existing = sorted(folder.glob(prefix + ".*"))
    if existing:
        return existing[0].name
    page = await fetcher.fetch(url, referer=referer_for(url, article))
    content_type = page.content_type or ""
    if not content_type.startswith("image/") and page.content[:4] not in (b"\xff\xd8\xff\xe0", b"\x89PNG", b"GIF8"):
        raise FetchError(f"not an image ({content_type or 'no content type'})", url=url, status=page.status)
    name = image_file_name(url, content_type)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (name + ".part")
    tmp.write_bytes(page.content)
    tmp.replace(folder / name)
    return name


async def download_article_images(
    fetcher: Fetcher, out_dir: Path, article: Article
) -> tuple[Article, str, list[Failure]]:
    folder = out_dir / file_stem(article)
    wanted = list(dict.fromkeys([*article.images, *([article.cover] if article.cover else [])]))
    results = await asyncio.gather(
        *(fetch_image(fetcher, url, article, folder) for url in wanted), return_exceptions=True
    )
    mapping: dict[str, str] = {}
    failures: list[Failure] = []
    for url, result in zip(wanted, results, strict=True):
        if isinstance(result, FetchError):
            failures.append((url, result.reason))
        elif isinstance(result, BaseException):
            failures.append((url, f"{type(result).__name__}: {result}"))
        else:
            mapping[url] = result
    cover = mapping.get(article.cover or "", article.cover)
    return dataclasses.replace(article, cover=cover), rewrite_images(article.body, mapping), failures


async def download_all(out_dir: Path, rows: Sequence[Any], config: Config) -> list[tuple[Article, str, list[Failure]]]:
    """Every listed article's images; rows are StoredArticle records."""
    async with Fetcher(config) as fetcher:
        return [await download_article_images(fetcher, out_dir, r.article) for r in rows]
