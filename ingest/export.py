"""Markdown export for static sites: one file per article, Hugo-ready front matter.

Every front-matter value is a double-quoted YAML scalar, so no title (quotes, colons, ``---``,
``#``, newlines) can end the front matter early or change type. File names come from the
publication day and the article's identity, never from its title, so re-exports overwrite in place
and nothing a page says can make a path escape the export folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from parsers.article import SHANGHAI, Article
from parsers.errors import JianbaoError

# characters YAML refuses raw, or reads as line breaks, inside a double-quoted scalar
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SAFE_ID = re.compile(r"[^0-9A-Za-z_-]+")


def yaml_quote(value: str) -> str:
    """A YAML double-quoted scalar that reads back as exactly ``value``."""
    # a lone surrogate (from a mis-encoded page) has no UTF-8 form: YAML readers would refuse the file
    value = _SURROGATE.sub("\ufffd", value)
    dumped = json.dumps(value, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)


def _list(name: str, values: Iterable[str]) -> list[str]:
    items = [v for v in dict.fromkeys(values) if v]
    if not items:
        return [f"{name}: []"]
    return [f"{name}:"] + [f"  - {yaml_quote(v)}" for v in items]


# The keys jianbao writes and rewrites on every export; any other key in an exported file is the
# user's (``draft``, ``weight``, ``aliases``, …) and survives a re-export. ``url`` is Hugo's own
# (a site-relative permalink; "https://…" there stops the build), so the address goes under
# ``source_url``; older exports put it in ``url``, which a re-export drops when it holds an http(s) URL.
OWNED_KEYS = (
    "title",
    "date",
    "source_url",
    "summary",
    "categories",
    "tags",
    "lang",
    "isCJKLanguage",
    "thumbnail",
    "author",
    "account",
    "kind",
    "original_url",
    "jianbao_body",
)
BODY_STAMP = "jianbao_body"  # a digest of the body jianbao wrote: tells an edited body from an updated article


def _tags(article: Article) -> list[str]:
    a = article
    return [t for t in dict.fromkeys([a.source, a.account or "", a.original_account or "", *a.tags]) if t]


def _owned(article: Article, *, tags: Iterable[str] | None = None, thumbnail: str | None = None) -> list[str]:
    """The owned keys' lines, in their fixed order (``date`` and ``original_url`` only when known)."""
    a = article
    lines = [f"title: {yaml_quote(a.title)}"]
    if a.published:
        lines.append(f"date: {yaml_quote(a.published.astimezone(SHANGHAI).isoformat())}")
    lines += [
        f"source_url: {yaml_quote(a.url)}",
        f"summary: {yaml_quote(a.summary)}",
        *_list("categories", [a.source]),
        *_list("tags", _tags(a) if tags is None else tags),
        *_list("lang", ["zh-CN"]),
        # Hugo counts words and cuts summaries by character for CJK pages only when told
        "isCJKLanguage: true",
        # a clipping often names no cover: its first real image serves a theme's card as well
        f"thumbnail: {yaml_quote(thumbnail if thumbnail is not None else _thumbnail(a))}",
        f"author: {yaml_quote(a.author or '')}",
        f"account: {yaml_quote(a.account or '')}",
        f"kind: {yaml_quote(a.kind)}",
    ]
    if a.original_url:
        lines.append(f"original_url: {yaml_quote(a.original_url)}")
    return lines


def _thumbnail(article: Article) -> str:
    return article.cover or (article.images[0] if article.images else "")


def _body_text(article: Article, body: str | None) -> str:
    text = body if body is not None else article.body
    return f"\n{text.strip()}\n\n[{article.source}]({article.url})\n"


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def front_matter(article: Article, *, body: str | None = None) -> str:
    """The whole front matter jianbao writes for ``article`` (with ``body`` replacing its own)."""
    stamp = f"{BODY_STAMP}: {yaml_quote(_digest(_body_text(article, body)))}"
    return "\n".join(["---", *_owned(article), stamp, "---"]) + "\n"


def render_markdown(article: Article, *, body: str | None = None) -> str:
    """Front matter, the body, and the source link at the end (as the seed clippings keep it)."""
    return front_matter(article, body=body) + _body_text(article, body)


# --- re-export: keep what the user changed ------------------------------------------------------

_TOP_KEY = re.compile(r"""^(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|([^\s#'"\-][^:]*?|-[^\s:][^:]*?))\s*:(?:\s|$)""")


@dataclass(frozen=True, slots=True)
class _Existing:
    blocks: list[tuple[str | None, list[str]]]  # (top-level key or None for comments, its lines)
    data: dict[str, Any]
    body: str


def _read_existing(text: str) -> _Existing | None:
    """An exported file taken apart: its front-matter blocks, their values, and the body after them.

    None when the file has no front matter YAML can read: then it is not ours to merge into.
    """
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")  # saved by an editor on Windows
    if not text.startswith("---\n"):
        return None
    end = text.find("\n---\n", 3)
    if end < 0:
        if not text.endswith("\n---"):
            return None
        end = len(text) - 4
    head, body = text[4 : end + 1], text[end + 5 :]
    try:
        data = yaml.safe_load(head) if head.strip() else {}
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict):
        return None
    blocks: list[tuple[str | None, list[str]]] = []
    pending: list[str] = []  # comments and blank lines travel with the key after them
    for line in head.splitlines():
        m = _TOP_KEY.match(line)
        if m:
            key = next(g for g in m.groups() if g is not None)
            blocks.append((key.strip(), [*pending, line]))
            pending = []
        elif not line.strip() or line.startswith("#") or not blocks:
            pending.append(line)
        else:
            blocks[-1][1].append(line)
    if pending:
        blocks.append((None, pending))
    return _Existing(blocks, data, body)


@dataclass(frozen=True, slots=True)
class Merged:
    text: str
    kept_body: bool  # the user had edited the body: it was kept


def merge_export(existing_text: str, article: Article, *, body: str | None = None) -> Merged | None:
    """Re-export over a file the user may have edited: jianbao's keys are rewritten, every other key
    stays as the user wrote it, tags the user added stay, and an edited body (one whose digest no
    longer matches the stamp jianbao wrote) is kept. None when the file has no readable front matter."""
    old = _read_existing(existing_text)
    if old is None:
        return None
    new_body = _body_text(article, body)
    stamp = old.data.get(BODY_STAMP)
    kept_body = isinstance(stamp, str) and stamp != _digest(old.body) and old.body != new_body
    ours = _tags(article)
    theirs = old.data.get("tags")
    # the user's list in the user's order (what they added, how they sorted it), then what it lacks of ours
    kept_tags = [str(t) for t in theirs if isinstance(t, str | int | float)] if isinstance(theirs, list) else []
    tags = list(dict.fromkeys([*kept_tags, *ours]))
    owned = _owned(article, tags=tags)
    written = {m.group(1) for m in (re.match(r"^(\w+):", line) for line in owned) if m}
    kept: list[str] = []
    for key, lines in old.blocks:
        if key in written or key == BODY_STAMP:
            continue
        if key == "url" and isinstance(old.data.get("url"), str) and re.match(r"(?i)https?://", old.data["url"]):
            continue  # what an older jianbao wrote; it stops a Hugo build
        kept += lines
    out_body = old.body if kept_body else new_body
    digest = stamp if kept_body and isinstance(stamp, str) else _digest(out_body)
    head = ["---", *owned, f"{BODY_STAMP}: {yaml_quote(digest)}", *kept, "---"]
    return Merged("\n".join(head) + "\n" + out_body, kept_body)


def file_stem(article: Article) -> str:
    """``YYYY-MM-DD-source-ident``: stable for one article across runs, and a safe single path part."""
    day = article.published.astimezone(SHANGHAI).strftime("%Y-%m-%d") if article.published else "undated"
    if article.source == "qq" and article.article_id:
        ident = _SAFE_ID.sub("", article.article_id)[:40]
    else:
        ident = hashlib.sha1(article.key.encode("utf-8")).hexdigest()[:12]
    return f"{day}-{article.source}-{ident}"


class ExportError(JianbaoError):
    """The export folder cannot be written safely (a symlink in it, a path outside it)."""


def check_export_dir(out_dir: Path) -> None:
    """Refuse, before anything is written, a DIR with a symlink inside: a write could land outside it."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError("not a directory", url=str(out_dir))
    for root, dirs, files in os.walk(out_dir):
        for name in sorted([*dirs, *files]):
            path = Path(root) / name
            if path.is_symlink():
                raise ExportError(f"contains a symlink ({path}); refusing to export into it", url=str(out_dir))


def _inside(out_dir: Path, target: Path) -> None:
    """No part of ``target`` below ``out_dir`` may be a symlink, nor may it resolve outside."""
    base = out_dir.resolve()
    if not target.is_relative_to(out_dir) or ".." in target.relative_to(out_dir).parts:
        raise ExportError(f"refusing to write outside {out_dir}", url=str(target))
    rel = target.relative_to(out_dir)
    part = out_dir
    for name in rel.parts:
        part = part / name
        if part.is_symlink():
            raise ExportError(f"refusing to write through a symlink ({part})", url=str(target))
    if base not in target.resolve().parents:
        raise ExportError(f"refusing to write outside {out_dir}", url=str(target))


def write_file(out_dir: Path, target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` inside ``out_dir`` atomically (readers such as ``hugo server``
    never see half a file), never following a symlink."""
    _inside(out_dir, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _inside(out_dir, target)  # a folder made meanwhile is checked again
    tmp = target.with_name(target.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # a leftover of a killed run; unlink removes a link itself, never its target
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)  # replaces a link at target itself, never what it points to
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@dataclass(frozen=True, slots=True)
class Exported:
    path: Path
    written: bool  # False when the file already held exactly this text
    failed_images: tuple[str, ...] = ()
    kept_body: bool = False  # the user's edited body was kept
    skipped: str = ""  # why the file was left alone (no front matter jianbao can read)
    removed: tuple[Path, ...] = ()  # the other layout's file, replaced by this one


def _other_layout(out_dir: Path, stem: str, bundle: bool) -> Path:
    return out_dir / f"{stem}.md" if bundle else out_dir / stem / "index.md"


def save_export(
    out_dir: Path, article: Article, *, body: str | None = None, bundle: bool = False, force: bool = False
) -> Exported:
    """Write one article (``DIR/stem.md``, or ``DIR/stem/index.md`` as a page bundle).

    One page per article: the file of the other layout is merged from and then removed. An existing
    file keeps the user's edits (see :func:`merge_export`) unless ``force``.
    """
    stem = file_stem(article)
    target = out_dir / stem / "index.md" if bundle else out_dir / f"{stem}.md"
    other = _other_layout(out_dir, stem, bundle)
    _inside(out_dir, target)
    _inside(out_dir, other)
    source = target if target.is_file() else other if other.is_file() else None
    text = render_markdown(article, body=body)
    kept_body = False
    if source is not None and not force:
        existing = source.read_text(encoding="utf-8", errors="surrogateescape")
        merged = merge_export(existing, article, body=body)
        if merged is None:
            return Exported(source, written=False, skipped="no front matter jianbao can read; --force rewrites it")
        text, kept_body = merged.text, merged.kept_body
    removed: list[Path] = []
    data = _encode(text)
    if target.is_file() and target.read_bytes() == data:
        written = False
    else:
        write_file(out_dir, target, data)
        written = True
    if other.is_file():
        other.unlink()
        removed.append(other)
        if not bundle and not kept_body:  # an edited body may still show the bundle's images
            removed += _drop_bundle(other.parent)
    return Exported(target, written=written, kept_body=kept_body, removed=tuple(removed))


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")  # a user's undecodable bytes go back as they were
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


_IMAGE_FILE = re.compile(r"^[0-9a-f]{16}\.[a-z]{3,4}$")


def _drop_bundle(folder: Path) -> list[Path]:
    """A bundle given up for a flat file: the images jianbao downloaded go, anything else stays."""
    removed = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.is_symlink() and _IMAGE_FILE.match(path.name):
            path.unlink()
            removed.append(path)
    with contextlib.suppress(OSError):
        folder.rmdir()  # only when empty
    return removed


# --- images ------------------------------------------------------------------------------------

# Image hosts that refuse hotlinks want the article's own site as Referer (mmbiz.qpic.cn answers a
# foreign or missing one with a "not allowed" placeholder picture).
IMAGE_REFERERS = {
    "qpic.cn": "https://mp.weixin.qq.com/",
    "weixin.qq.com": "https://mp.weixin.qq.com/",
    "gtimg.com": "https://news.qq.com/",
    "gtimg.cn": "https://news.qq.com/",
    "qq.com": "https://news.qq.com/",
}
_EXT_BY_TYPE = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/svg+xml": ".svg",
    "image/avif": ".avif",
}
_WX_FMT = re.compile(r"[?&]wx_fmt=(jpe?g|png|gif|webp)", re.I)


def referer_for(image_url: str, article: Article) -> str:
    from parsers.urls import host_of

    host = host_of(image_url)
    for suffix, referer in IMAGE_REFERERS.items():
        if host == suffix or host.endswith("." + suffix):
            return referer
    return article.url


def image_file_name(url: str, content_type: str | None) -> str:
    """Stable per URL, so a re-export finds what it downloaded before."""
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]
    ext = _EXT_BY_TYPE.get((content_type or "").split(";")[0].strip().lower(), "")
    if not ext:
        m = _WX_FMT.search(url)
        suffix = Path(url.split("?")[0]).suffix.lower()
        ext = f".{m.group(1).lower()}" if m else (suffix if suffix in _EXT_BY_TYPE.values() else ".jpg")
    return digest + ext.replace(".jpeg", ".jpg")


def rewrite_images(body: str, mapping: dict[str, str]) -> str:
    """Point Markdown image links at local files; links not in ``mapping`` keep their remote URL."""
    for remote, local in mapping.items():
        body = body.replace(f"]({remote})", f"]({local})")
    return body
