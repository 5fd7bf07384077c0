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
from ingest.export import file_stem, image_file_name, referer_for, rewrite_images, write_file
from ingest.fetch import Fetcher, OnRetry
from parsers.article import Article
from parsers.errors import JianbaoError
from parsers.urls import split_url

Failure = tuple[str, str]  # (remote URL, why)

# how image files begin, for hosts that send them as application/octet-stream
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")


def looks_like_image(content: bytes) -> bool:
    """JPEG (any APPn, not only JFIF), PNG, GIF, BMP, WebP or AVIF by their first bytes."""
    if content.startswith(_IMAGE_MAGIC):
        return True
    return (content[:4] == b"RIFF" and content[8:12] == b"WEBP") or content[4:12] in (b"ftypavif", b"ftypavis")


async def fetch_image(fetcher: Fetcher, url: str, article: Article, out_dir: Path) -> str:
    """Save one image into the article's bundle folder (reusing an earlier download); its file name."""
    split_url(url)  # a malformed address is this image's one-line failure, before any I/O
    folder = out_dir / file_stem(article)
    prefix = hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]
    existing = sorted(p for p in folder.glob(prefix + ".*") if not p.name.endswith(".tmp")) if folder.is_dir() else []
    if existing:
        return existing[0].name
    page = await fetcher.fetch(url, referer=referer_for(url, article))
    content_type = page.content_type or ""
    if not content_type.startswith("image/") and not looks_like_image(page.content):
        raise FetchError(f"not an image ({content_type or 'no content type'})", url=url, status=page.status)
    name = image_file_name(url, content_type)
    write_file(out_dir, folder / name, page.content)  # never through a symlink, never outside out_dir
    return name


async def download_article_images(
    fetcher: Fetcher, out_dir: Path, article: Article
) -> tuple[Article, str, list[Failure]]:
    """The article with its cover and images pointing at the bundle's files, its body rewritten, and
    the images that could not be saved (their remote URL stays)."""
    wanted = list(dict.fromkeys([*article.images, *([article.cover] if article.cover else [])]))
    results = await asyncio.gather(
        *(fetch_image(fetcher, url, article, out_dir) for url in wanted), return_exceptions=True
    )
    mapping: dict[str, str] = {}
    failures: list[Failure] = []
    for url, result in zip(wanted, results, strict=True):
        if isinstance(result, JianbaoError):
            failures.append((url, result.reason))
        elif isinstance(result, Exception):
            failures.append((url, f"{type(result).__name__}: {result}"))
        elif isinstance(result, BaseException):
            raise result  # Ctrl-C, cancellation: not an image's failure
        else:
            mapping[url] = result
    local = dataclasses.replace(
        article,
        cover=mapping.get(article.cover or "", article.cover),
        # the thumbnail falls back to the first image: it must be the local copy too
        images=tuple(mapping.get(u, u) for u in article.images),
    )
    return local, rewrite_images(article.body, mapping), failures


async def download_all(
    out_dir: Path, rows: Sequence[Any], config: Config, *, on_retry: OnRetry | None = None
) -> list[tuple[Article, str, list[Failure]]]:
    """Every listed article's images; rows are StoredArticle records."""
    async with Fetcher(config, on_retry=on_retry) as fetcher:
        return [await download_article_images(fetcher, out_dir, r.article) for r in rows]
