"""Export: front matter that survives any title, stable file names that never leave DIR."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml

from ingest.export import file_stem, front_matter, image_file_name, rewrite_images, save_export, yaml_quote
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
        "url": "https://news.qq.com/rain/a/20250207A07NZC00",
        "summary": "摘要",
        "categories": ["qq"],
        "tags": ["qq", "每日经济新闻"],
        "lang": ["zh-CN"],
        "thumbnail": "https://inews.gtimg.com/om_ls/x/0",
        "author": "",
        "account": "每日经济新闻",
        "kind": "article",
    }


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
