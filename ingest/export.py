"""Markdown export for static sites: one file per article, Hugo-ready front matter.

Every front-matter value is a double-quoted YAML scalar, so no title (quotes, colons, ``---``,
``#``, newlines) can end the front matter early or change type. File names come from the
publication day and the article's identity, never from its title, so re-exports overwrite in place
and nothing a page says can make a path escape the export folder.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from parsers.article import SHANGHAI, Article

# characters YAML refuses raw, or reads as line breaks, inside a double-quoted scalar
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_SAFE_ID = re.compile(r"[^0-9A-Za-z_-]+")


def yaml_quote(value: str) -> str:
    """A YAML double-quoted scalar that reads back as exactly ``value``."""
    dumped = json.dumps(value, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)


def _list(name: str, values: Iterable[str]) -> list[str]:
    items = [v for v in dict.fromkeys(values) if v]
    if not items:
        return [f"{name}: []"]
    return [f"{name}:"] + [f"  - {yaml_quote(v)}" for v in items]


def front_matter(article: Article) -> str:
    a = article
    date = a.published.astimezone(SHANGHAI).isoformat() if a.published else ""
    lines = [
        "---",
        f"title: {yaml_quote(a.title)}",
        f"date: {yaml_quote(date)}",
        f"url: {yaml_quote(a.url)}",
        f"summary: {yaml_quote(a.summary)}",
        *_list("categories", [a.source]),
        *_list("tags", [a.source, a.account or "", a.original_account or "", *a.tags]),
        *_list("lang", ["zh-CN"]),
        # a clipping often names no cover: its first real image serves a theme's card as well
        f"thumbnail: {yaml_quote(a.cover or (a.images[0] if a.images else ''))}",
        f"author: {yaml_quote(a.author or '')}",
        f"account: {yaml_quote(a.account or '')}",
        f"kind: {yaml_quote(a.kind)}",
    ]
    if a.original_url:
        lines.append(f"original_url: {yaml_quote(a.original_url)}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def render_markdown(article: Article, *, body: str | None = None) -> str:
    """Front matter, the body, and the source link at the end (as the seed clippings keep it)."""
    text = body if body is not None else article.body
    return f"{front_matter(article)}\n{text.strip()}\n\n[{article.source}]({article.url})\n"


def file_stem(article: Article) -> str:
    """``YYYY-MM-DD-source-ident``: stable for one article across runs, and a safe single path part."""
    day = article.published.astimezone(SHANGHAI).strftime("%Y-%m-%d") if article.published else "undated"
    if article.source == "qq" and article.article_id:
        ident = _SAFE_ID.sub("", article.article_id)[:40]
    else:
        ident = hashlib.sha1(article.key.encode("utf-8")).hexdigest()[:12]
    return f"{day}-{article.source}-{ident}"


@dataclass(frozen=True, slots=True)
class Exported:
    path: Path
    written: bool  # False when the file already held exactly this text
    failed_images: tuple[str, ...] = ()


def save_export(out_dir: Path, article: Article, *, body: str | None = None, bundle: bool = False) -> Exported:
    """Write one article (``DIR/stem.md``, or ``DIR/stem/index.md`` as a page bundle)."""
    stem = file_stem(article)
    target = out_dir / stem / "index.md" if bundle else out_dir / f"{stem}.md"
    # the stem is built from a date and [0-9A-Za-z_-], but check anyway: a path must never leave DIR
    if out_dir.resolve() not in target.resolve().parents:
        raise ValueError(f"refusing to write outside {out_dir}: {target}")
    text = render_markdown(article, body=body)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and target.read_text(encoding="utf-8") == text:
        return Exported(target, written=False)
    tmp = target.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)  # readers (hugo server) never see half a file
    return Exported(target, written=True)


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
