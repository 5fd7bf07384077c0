"""Export: front matter that survives any title, stable file names that never leave DIR."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingest.export import (
    ExportError,
    file_stem,
    front_matter,
    image_file_name,
    rewrite_images,
    save_export,
    write_file,
    yaml_quote,
)
from parsers.article import SHANGHAI, Article

HOSTILE_TITLES = [
    '他说："不"',
    "title: with a colon",
    "---",
    "# 不是标题",
    "多行\n标题\r\n第三行",
    "'single' and \\ backslash",
    "yes",
    "2025-02-07",
    "null",
    "@at &amp *star !tag %pct `tick` {a: b} [x, y] | > ?",
    "tab\there \u2028 line sep \x85 nel \ufeff bom \x7f del \U0001f600",
    "   spaces around   ",
    "../../etc/passwd",
]


def article(title: str = "标题", **kw: object) -> Article:
    values: dict[str, object] = {
        "url": "https://news.qq.com/rain/a/20250207A07NZC00",
        "source": "qq",
        "kind": "article",
        "title": title,
        "published": datetime(2025, 2, 7, 18, 39, 14, tzinfo=SHANGHAI),
        "account": "每日经济新闻",
        "summary": "摘要",
        "cover": "https://inews.gtimg.com/om_ls/x/0",
        "body": "正文\n\n![图片](https://inews.gtimg.com/om_bt/a/641)",
        "article_id": "20250207A07NZC00",
    }
    values.update(kw)
    return Article(**values)  # type: ignore[arg-type]


def read_front_matter(text: str) -> dict[str, object]:
    assert text.startswith("---\n")
    end = text.index("\n---\n", 4)
    data = yaml.safe_load(text[4:end])
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_any_title_round_trips_through_yaml(title: str) -> None:
    data = read_front_matter(front_matter(article(title, summary=title, account=title)))
    assert data["title"] == title and data["summary"] == title and data["account"] == title
    assert yaml.safe_load(yaml_quote(title)) == title


def test_front_matter_has_the_seed_shape() -> None:
    data = read_front_matter(front_matter(article()))
    assert data == {
        "title": "标题",
        "date": "2025-02-07T18:39:14+08:00",
        "source_url": "https://news.qq.com/rain/a/20250207A07NZC00",  # never Hugo's own `url`
        "summary": "摘要",
        "categories": ["qq"],
        "tags": ["qq", "每日经济新闻"],
        "lang": ["zh-CN"],
        "thumbnail": "https://inews.gtimg.com/om_ls/x/0",
        "author": "",
        "account": "每日经济新闻",
        "kind": "article",
        "isCJKLanguage": True,
        "jianbao_body": data["jianbao_body"],
    }
    assert "url" not in data


def test_file_names_are_stable_and_safe(tmp_path: Path) -> None:
    a = article()
    assert file_stem(a) == "2025-02-07-qq-20250207A07NZC00"
    assert file_stem(article("另一个标题")) == file_stem(a)  # title changes do not rename
    wx = Article(url="https://mp.weixin.qq.com/s?__biz=Mz==&mid=1&idx=1&sn=x", source="wechat", kind="article",
                 title="../../x", biz="Mz==", mid="1", idx="1")  # fmt: skip
    stem = file_stem(wx)
    assert stem.startswith("undated-wechat-") and "/" not in stem and ".." not in stem
    evil = article(article_id="../../../etc/passwd")
    first = save_export(tmp_path, evil)
    assert first.path.parent == tmp_path and first.written
    again = save_export(tmp_path, evil)
    assert again.path == first.path and not again.written  # a re-export with nothing new rewrites nothing
    changed = save_export(tmp_path, article(article_id="../../../etc/passwd", summary="新摘要"))
    assert changed.path == first.path and changed.written
    assert list(tmp_path.iterdir()) == [first.path]


def test_bundle_layout_and_image_rewriting(tmp_path: Path) -> None:
    a = article()
    name = image_file_name("https://inews.gtimg.com/om_bt/a/641", "image/jpeg")
    assert name.endswith(".jpg") and name == image_file_name("https://inews.gtimg.com/om_bt/a/641", None)
    assert image_file_name("https://mmbiz.qpic.cn/x/640?wx_fmt=png&from=appmsg", None).endswith(".png")
    body = rewrite_images(a.body, {"https://inews.gtimg.com/om_bt/a/641": name})
    done = save_export(tmp_path, a, body=body, bundle=True)
    assert done.path == tmp_path / file_stem(a) / "index.md"
    text = done.path.read_text(encoding="utf-8")
    assert f"![图片]({name})" in text and text.rstrip().endswith(f"[qq]({a.url})")


def test_source_tags_travel_from_page_to_store_to_front_matter() -> None:
    from parsers import parse
    from storage import Store
    from tests.pages import qq_id, qq_page

    parsed = parse(qq_page(7).encode(), f"https://news.qq.com/rain/a/{qq_id(7)}")
    assert parsed.tags == ("剪报", "测试")
    with Store(":memory:") as store:
        saved = store.save_article(parsed)
        stored = store.get_article(saved.id).article
    assert stored == parsed
    data = read_front_matter(front_matter(stored))
    assert data["tags"] == ["qq", "测试媒体", "剪报", "测试"]


# --- re-export over a user's edits ----------------------------------------------------------------


def split_file(text: str) -> tuple[dict[str, object], str]:
    data = read_front_matter(text)
    return data, text[text.index("\n---\n", 4) + 5 :]


def test_reexport_rewrites_only_jianbaos_keys_and_keeps_the_users(tmp_path: Path) -> None:
    first = save_export(tmp_path, article())
    text = first.path.read_text(encoding="utf-8")
    # what a Hugo user does to an exported page: a draft flag, a comment, a tag, a weight, a list
    edited = text.replace('  - "每日经济新闻"\n', '  - "每日经济新闻"\n  - "我的标签"\n', 1).replace(
        "---\n\n", '# 我的备注\ndraft: true\nweight: 3\naliases:\n  - "/old/path/"\n---\n\n', 1
    )
    first.path.write_text(edited, encoding="utf-8")
    again = save_export(tmp_path, article(summary="新摘要", title="新标题"))
    assert again.written and not again.kept_body and again.path == first.path
    out = first.path.read_text(encoding="utf-8")
    data, body = split_file(out)
    assert data["draft"] is True and data["weight"] == 3 and data["aliases"] == ["/old/path/"]
    assert data["tags"] == ["qq", "每日经济新闻", "我的标签"]  # in the order the user left them
    assert data["title"] == "新标题" and data["summary"] == "新摘要"
    assert "# 我的备注\ndraft: true" in out and out.count("title:") == 1
    assert body == split_file(text)[1]
    # nothing new: nothing written, and the user's keys still there
    assert not save_export(tmp_path, article(summary="新摘要", title="新标题")).written
    assert first.path.read_text(encoding="utf-8") == out


def test_an_edited_body_is_kept_until_force(tmp_path: Path) -> None:
    first = save_export(tmp_path, article())
    text = first.path.read_text(encoding="utf-8")
    first.path.write_text(text.replace("正文", "我改过的正文"), encoding="utf-8")
    again = save_export(tmp_path, article(body="更新后的正文"))  # the article changed upstream too
    assert again.kept_body
    _, body = split_file(again.path.read_text(encoding="utf-8"))
    assert "我改过的正文" in body and "更新后的正文" not in body
    assert save_export(tmp_path, article(body="更新后的正文")).kept_body  # stays kept on every re-export
    forced = save_export(tmp_path, article(body="更新后的正文"), force=True)
    assert forced.written and not forced.kept_body
    _, body = split_file(forced.path.read_text(encoding="utf-8"))
    assert "更新后的正文" in body and "我改过的" not in body
    # an unedited body follows the article
    assert not save_export(tmp_path, article(body="再次更新")).kept_body
    assert "再次更新" in forced.path.read_text(encoding="utf-8")


def test_an_older_exports_url_key_is_dropped_but_a_users_permalink_kept(tmp_path: Path) -> None:
    a = article()
    path = tmp_path / f"{file_stem(a)}.md"
    path.write_text(
        '---\ntitle: "旧"\nurl: "https://news.qq.com/rain/a/20250207A07NZC00"\n---\n\n旧正文\n', encoding="utf-8"
    )
    save_export(tmp_path, a)
    data, body = split_file(path.read_text(encoding="utf-8"))
    assert "url" not in data and data["source_url"] == a.url and "正文" in body
    path.write_text(path.read_text(encoding="utf-8").replace("title:", 'url: "/posts/mine/"\ntitle:'), encoding="utf-8")
    save_export(tmp_path, article(summary="变了"))
    data, _ = split_file(path.read_text(encoding="utf-8"))
    assert data["url"] == "/posts/mine/" and data["summary"] == "变了"


def test_a_file_saved_by_a_windows_editor_is_merged_too(tmp_path: Path) -> None:
    first = save_export(tmp_path, article())
    text = first.path.read_text(encoding="utf-8").replace("---\n\n", "draft: true\n---\n\n", 1)
    first.path.write_bytes(("\ufeff" + text).replace("\n", "\r\n").encode("utf-8"))
    again = save_export(tmp_path, article(summary="新摘要"))
    assert again.written and not again.skipped and not again.kept_body
    data = read_front_matter(first.path.read_text(encoding="utf-8"))
    assert data["draft"] is True and data["summary"] == "新摘要"


def test_a_file_without_readable_front_matter_is_left_alone(tmp_path: Path) -> None:
    a = article()
    path = tmp_path / f"{file_stem(a)}.md"
    for text in ("我自己写的笔记\n", "---\ntitle: [unclosed\n---\nbody\n"):
        path.write_text(text, encoding="utf-8")
        done = save_export(tmp_path, a)
        assert done.skipped and not done.written and path.read_text(encoding="utf-8") == text
    assert save_export(tmp_path, a, force=True).written
    assert read_front_matter(path.read_text(encoding="utf-8"))["title"] == "标题"


def test_switching_layouts_keeps_one_page_per_article(tmp_path: Path) -> None:
    a = article()
    stem = file_stem(a)
    flat = save_export(tmp_path, a)
    flat.path.write_text(
        flat.path.read_text(encoding="utf-8").replace("---\n\n", "draft: true\n---\n\n"), encoding="utf-8"
    )
    image = image_file_name("https://inews.gtimg.com/om_bt/a/641", "image/jpeg")
    (tmp_path / stem).mkdir()
    (tmp_path / stem / image).write_bytes(b"\xff\xd8\xff\xe0")
    (tmp_path / stem / "notes.txt").write_text("mine", encoding="utf-8")
    bundle = save_export(
        tmp_path, a, body=rewrite_images(a.body, {"https://inews.gtimg.com/om_bt/a/641": image}), bundle=True
    )
    assert bundle.path == tmp_path / stem / "index.md" and bundle.removed == (flat.path,)
    assert not flat.path.exists() and read_front_matter(bundle.path.read_text(encoding="utf-8"))["draft"] is True
    back = save_export(tmp_path, a)  # and back to --images keep
    assert back.path == flat.path and not bundle.path.exists()
    assert read_front_matter(flat.path.read_text(encoding="utf-8"))["draft"] is True
    assert sorted(p.name for p in (tmp_path / stem).iterdir()) == ["notes.txt"]  # the user's file stays
    (tmp_path / stem / "notes.txt").unlink()
    save_export(tmp_path, a, bundle=True)
    save_export(tmp_path, a)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{stem}.md"]


def test_writes_never_go_through_a_symlink(tmp_path: Path) -> None:
    out, outside = tmp_path / "site", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (outside / "victim.jpg").write_bytes(b"precious")
    (out / "stem").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ExportError, match="symlink"):
        write_file(out, out / "stem" / "new.jpg", b"x")
    (out / "stem").unlink()
    (out / "stem").mkdir()
    (out / "stem" / "a.jpg").symlink_to(outside / "victim.jpg")
    with pytest.raises(ExportError, match="symlink"):
        write_file(out, out / "stem" / "a.jpg", b"new")
    (out / "stem" / "b.jpg.tmp").symlink_to(outside / "victim.jpg")  # planted where the temporary file goes
    write_file(out, out / "stem" / "b.jpg", b"new")
    assert (outside / "victim.jpg").read_bytes() == b"precious"
    assert (out / "stem" / "b.jpg").read_bytes() == b"new" and not (out / "stem" / "b.jpg.tmp").exists()
    assert sorted(p.name for p in outside.iterdir()) == ["victim.jpg"]
    with pytest.raises(ExportError, match="outside"):
        write_file(out, out / ".." / "escape.md", b"x")


# --- the command ------------------------------------------------------------------------------------

EXPORT_CONFIG = """
[http]
timeout = 2.0
retries = 0
[politeness]
default = 0
"""


def stored_db(tmp_path: Path, *articles: Article) -> Path:
    from storage import Store

    db = tmp_path / "jianbao.db"
    with Store(str(db)) as store:
        for a in articles:
            store.save_article(a)
    return db


def run_cli(tmp_path: Path, *args: str) -> Any:
    from click.testing import CliRunner

    from ingest.cli import cli

    config = tmp_path / "config.toml"
    if not config.exists():
        config.write_text(EXPORT_CONFIG, encoding="utf-8")
    return CliRunner().invoke(cli, ["--db", str(tmp_path / "jianbao.db"), "--config", str(config), *args])


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_export_into_a_folder_holding_a_symlink_refuses_before_writing(tmp_path: Path) -> None:
    stored_db(tmp_path, article())
    out = tmp_path / "site"
    (out / "posts").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (out / "posts" / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    before = tree(out)
    result = run_cli(tmp_path, "export", str(out))
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "symlink" in result.output and "Traceback" not in result.output
    assert tree(out) == before and not any((tmp_path / "elsewhere").iterdir())


def test_export_download_makes_the_thumbnail_local_and_names_bad_image_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.localserver import LocalServer, Reply

    images = ("http://[::1", "https://mmbiz.qpic.cn/mmbiz_jpg/ok/640?wx_fmt=png", "https://x:99999/a.jpg")
    body = "正文\n\n" + "\n\n".join(f"![图]({u})" for u in images)
    a = article(cover=None, images=images[1:] + images[:1], body=body)  # no cover: thumbnail is the first image
    stored_db(tmp_path, a)
    with LocalServer(tmp_path) as server:
        server.apply_env(monkeypatch)
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
        server.route("mmbiz.qpic.cn", "/mmbiz_jpg/ok/640", Reply(200, png, {"Content-Type": "image/png"}))
        result = run_cli(tmp_path, "export", str(tmp_path / "site"), "--images", "download")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    bad = [line for line in result.output.splitlines() if line.startswith("image not saved")]
    assert len(bad) == 2 and any("[::1" in line for line in bad) and any("99999" in line for line in bad)
    index = tmp_path / "site" / file_stem(a) / "index.md"
    data, text = split_file(index.read_text(encoding="utf-8"))
    local = image_file_name(images[1], "image/png")
    assert data["thumbnail"] == local and (index.parent / local).read_bytes() == png
    assert f"![图]({local})" in text and "![图](http://[::1)" in text
