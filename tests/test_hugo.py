"""The export as a static site sees it: exported files built by Hugo itself (Debian's ``hugo`` package).

One small theme-less site (fixtures/hugo-site: four layouts and an image render hook) gets every kind of
article jianbao stores, flat files and page bundles, then a re-export over a user's edits; each exported
file must come out as a rendered page and the build must report no error.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from ingest.cli import cli
from parsers.article import SHANGHAI, Article
from parsers.saved import parse_saved
from parsers.urls import split_url
from storage import Store
from tests.conftest import FIXTURES
from tests.localserver import LocalServer, Reply

HUGO = shutil.which("hugo")
pytestmark = pytest.mark.skipif(
    HUGO is None, reason="hugo is not installed (Debian: apt-get install hugo; .ci/run installs it where it can)"
)

SAVED = [
    ("wechat/normal-2025-raw.html", None),
    ("wechat/normal-2022-raw.html", None),
    ("wechat/picture-2025.html", None),
    ("qq/rain-2025-window-data.html", None),
    ("web/news-article-meta-time.html", "https://www.jiangcheng.example/news/2024/12/birds.html"),
    ("clippings/hostile.md", None),
    ("clippings/qq-hugo-source-link.md", None),
    ("clippings/wechat-placeholders.md", None),
]
CONFIG = '[http]\ntimeout = 2.0\nretries = 0\n[politeness]\ndefault = 0\n"qpic.cn" = 0\n'
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def stored_articles() -> list[Article]:
    out = []
    for name, url in SAVED:
        path = FIXTURES / name
        out.append(parse_saved(path.read_bytes(), str(path), suffix=path.suffix, url=url).article)
    # what a title, a missing date and a quoting-hungry account can do to a YAML reader
    out.append(
        Article(
            url="https://www.example.com/odd",
            source="web",
            kind="article",
            title='他说："不" --- # title: yes\n第二行 {{ .Title }}',
            account="a: b",
            body="正文。\n\n![远程图](https://mmbiz.qpic.cn/mmbiz_png/odd/640?wx_fmt=png)",
            images=("https://mmbiz.qpic.cn/mmbiz_png/odd/640?wx_fmt=png",),
        )
    )
    dated = datetime(2025, 1, 2, 3, 4, tzinfo=SHANGHAI)
    out.append(replace(out[-1], url="https://www.example.com/dated", published=dated, body="另一篇正文，没有图片。"))
    return out


def export(tmp_path: Path, out: Path, *args: str) -> Any:
    result = CliRunner().invoke(
        cli,
        ["--db", str(tmp_path / "jianbao.db"), "--config", str(tmp_path / "config.toml"), "export", str(out), *args],
    )
    assert "Traceback" not in result.output
    return result


def build(site: Path) -> tuple[Path, str]:
    public = site / "public"
    shutil.rmtree(public, ignore_errors=True)
    assert HUGO is not None
    proc = subprocess.run(
        [HUGO, "--source", str(site), "--destination", str(public), "--noBuildLock"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "ERROR" not in output and "WARN" not in output, output
    return public, output


def front(md: Path) -> dict[str, Any]:
    text = md.read_text(encoding="utf-8")
    data = yaml.safe_load(text[4 : text.index("\n---\n", 4)])
    assert isinstance(data, dict)
    return data


def rendered(public: Path, md: Path, posts: Path) -> Path:
    stem = md.parent.name if md.name == "index.md" else md.stem
    assert md.parent in (posts, posts / stem)
    return public / "posts" / stem.lower() / "index.html"


def test_hugo_builds_every_exported_article(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    articles = stored_articles()
    with Store(str(tmp_path / "jianbao.db")) as store:
        for a in articles:
            store.save_article(a)
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "hugo-site", site)
    posts = site / "content" / "posts"

    assert export(tmp_path, posts).exit_code == 0  # everything flat, images remote
    with LocalServer(tmp_path) as server:  # then WeChat's articles as page bundles, images local
        server.apply_env(monkeypatch)
        for a in articles:
            if a.source == "wechat":
                for url in {*a.images, *([a.cover] if a.cover else [])}:
                    parts = split_url(url)
                    server.route(parts.hostname or "", parts.path, Reply(200, PNG, {"Content-Type": "image/png"}))
        result = export(tmp_path, posts, "--source", "wechat", "--images", "download")
    assert result.exit_code == 0, result.output

    exported = sorted(posts.rglob("*.md"))
    # one page per article (the qq clipping is the qq page's article): bundles replaced their flat files
    assert len(exported) == len({a.key for a in articles})
    bundles = [md for md in exported if md.name == "index.md"]
    assert len(bundles) == len({a.key for a in articles if a.source == "wechat"}) > 0

    public, _ = build(site)
    for md in exported:
        page = rendered(public, md, posts)
        assert page.is_file(), f"{md} was not rendered"
        text = page.read_text(encoding="utf-8")
        data = front(md)
        h1 = re.search(r"<h1>(.*?)</h1>", text, re.S)
        assert h1 and html.unescape(h1.group(1)) == data["title"]
        source = re.search(r'<p class="source"><a href="([^"]*)"', text)
        assert source and html.unescape(source.group(1)) == data["source_url"]
        for tag in re.findall(r"<img [^>]*>", text):
            src = html.unescape(re.search(r'src="([^"]*)"', tag).group(1))  # type: ignore[union-attr]
            if src.startswith(("http://", "https://", "//")):
                assert 'referrerpolicy="no-referrer"' in tag, tag  # hotlink-refusing CDNs still show them
            else:
                assert md.name == "index.md" and (page.parent / src).is_file()  # a bundle's image is published
        if md.name == "index.md":
            assert not str(data["thumbnail"]).startswith("http") and (page.parent / data["thumbnail"]).is_file()


def test_hugo_builds_a_reexport_over_the_users_edits(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(CONFIG, encoding="utf-8")
    a, b = stored_articles()[-2:]
    with Store(str(tmp_path / "jianbao.db")) as store:
        store.save_article(a)
        store.save_article(b)
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "hugo-site", site)
    posts = site / "content" / "posts"
    assert export(tmp_path, posts).exit_code == 0
    first, second = sorted(posts.glob("*.md"))
    first.write_text(first.read_text(encoding="utf-8").replace("\n---\n", "\ndraft: true\n---\n", 1), encoding="utf-8")
    text = second.read_text(encoding="utf-8")
    second.write_text(text.replace("tags:\n", 'tags:\n  - "我加的标签"\n', 1), encoding="utf-8")
    result = export(tmp_path, posts)
    assert result.exit_code == 0 and "0 written, 2 unchanged" in result.output
    public, _ = build(site)
    assert not rendered(public, first, posts).exists()  # the user's draft stays a draft
    assert "我加的标签" in rendered(public, second, posts).read_text(encoding="utf-8")
