"""End to end: search, duplicates, reparse and export through the installed ``jianbao``."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.conftest import Env
from tests.localserver import Recorded, Reply
from tests.pages import qq_id, qq_page, wechat_page

WX = "mp.weixin.qq.com"
QQ = "news.qq.com"

CLIPS = {
    "car": (
        "小米汽车发布会",
        "雷军在发布会上介绍了小米汽车的最新进展，小米 SU7 的订单持续增长。",
        "2025-02-07 18:39:14",
    ),
    "phone": ("新手机评测", "这款手机的续航表现不错，拍照也有进步。小米的对手们压力很大。", "2025-01-02 09:00:00"),
    "rain": ("天气预报", "明天有雨，气温下降，出门记得带伞。", "2024-12-30 07:30:00"),
    "mixed": ("Python 3.13 发布", "新版本的 Python 带来了更好的错误信息和 JIT 实验。", "2024-10-07 12:00:00"),
}


def write_clip(env: Env, name: str, title: str, body: str, date: str, url: str | None = None) -> Path:
    path = env.path / f"{name}.md"
    url = url or f"https://example.com/news/{name}"
    front = {"title": title, "date": date, "url": url}
    path.write_text(f"---\n{yaml.safe_dump(front, allow_unicode=True)}---\n\n{body}\n", encoding="utf-8")
    return path


def import_clips(env: Env) -> None:
    paths = [str(write_clip(env, k, *v)) for k, v in CLIPS.items()]
    result = env.run("import", *paths)
    assert result.code == 0, result.out + result.err


def search(env: Env, *args: str) -> list[dict[str, object]]:
    result = env.run("search", *args, "--json")
    assert result.code == 0, result.out + result.err
    data = json.loads(result.out)
    assert isinstance(data, list)
    return data


def titles(hits: list[dict[str, object]]) -> list[object]:
    return [h["title"] for h in hits]


def test_search_chinese_of_every_length_and_several_words(env: Env) -> None:
    import_clips(env)
    assert set(titles(search(env, "雨"))) == {"天气预报"}  # one character
    assert set(titles(search(env, "小米"))) == {"小米汽车发布会", "新手机评测"}  # two
    assert titles(search(env, "发布会")) == ["小米汽车发布会"]  # three
    assert titles(search(env, "小米汽车")) == ["小米汽车发布会"]  # four
    assert titles(search(env, "小米 续航")) == ["新手机评测"]  # several words are ANDed
    assert titles(search(env, "python jit")) == ["Python 3.13 发布"]  # Latin, any case
    assert search(env, "不存在的词语") == []
    hits = search(env, "订单")
    assert len(hits) == 1 and "订单" in str(hits[0]["snippet"])
    assert titles(search(env, "小米", "--since", "2025-02-01")) == ["小米汽车发布会"]
    assert search(env, '"; drop table articles; --') == []  # user input never reaches SQL or FTS syntax
    plain = env.run("search", "小米")
    assert plain.code == 0 and "小米汽车发布会" in plain.out


def test_the_same_story_on_qq_and_wechat_is_linked_and_shown_once(env: Env) -> None:
    story = [
        "国家统计局今天发布数据，一季度国内生产总值同比增长百分之五点三，经济运行开局良好。",
        "分行业看，制造业增加值增长较快，服务业保持稳定恢复，消费市场持续回暖，外贸进出口总体平稳。",
    ]
    env.server.route(
        QQ, f"/rain/a/{qq_id(70)}", Reply.html(qq_page(70, title="一季度GDP增长5.3%", text="".join(story)))
    )
    env.server.route(
        WX, "/s/dup", Reply.html(wechat_page(70, title="重磅！一季度经济数据出炉", paragraphs=story, images=0))
    )
    env.server.route(
        WX,
        "/s/other",
        Reply.html(wechat_page(71, paragraphs=["完全不同的一篇文章，讲的是春天的花开了，公园里人很多。"] * 2)),
    )
    result = env.run("import", f"https://{QQ}/rain/a/{qq_id(70)}", f"https://{WX}/s/dup", f"https://{WX}/s/other")
    assert result.code == 0, result.out + result.err
    rows = env.sql("select id, source, duplicate_of, title from articles order by id")
    story_rows = [r for r in rows if "经济" in str(r[3]) or "GDP" in str(r[3])]
    assert {r[1] for r in story_rows} == {"qq", "wechat"}
    first, second = story_rows
    assert first[2] is None and second[2] == first[0]  # the later copy points at the earlier one
    assert next(r for r in rows if r not in story_rows)[2] is None  # the unrelated article is not linked
    hits = search(env, "国内生产总值")
    assert len(hits) == 1 and hits[0]["id"] == first[0]
    shown = json.loads(env.run("show", str(first[0]), "--json").out)
    assert [c["id"] for c in shown["copies"]] == [second[0]]
    listed = json.loads(env.run("list", "--json").out)
    assert len(listed) == 2  # the duplicate is folded


def test_reparse_is_offline_and_stable_and_reports_changes(env: Env) -> None:
    env.server.route(WX, "/s/re", Reply.html(wechat_page(80)))
    env.server.route(QQ, f"/rain/a/{qq_id(80)}", Reply.html(qq_page(80)))
    assert env.run("import", f"https://{WX}/s/re", f"https://{QQ}/rain/a/{qq_id(80)}").code == 0
    requests_before = len(env.server.requests)
    before = env.sql("select * from articles order by id")
    result = env.run("reparse")
    assert result.code == 0, result.out + result.err
    assert "2 pages, 0 changed, 2 unchanged" in result.out
    assert env.sql("select * from articles order by id") == before  # not even last_seen moves
    # a row the parser would now write differently is rebuilt, and the change is named
    env.sql_write("update articles set title = 'old title', body = 'old body' where source = 'qq'")
    result = env.run("reparse", "--dry-run")
    assert "would change" in result.out and "title" in result.out and "body" in result.out
    assert env.sql("select title from articles where source = 'qq'") == [("old title",)]
    result = env.run("reparse")
    assert "1 changed" in result.out
    assert env.sql("select title from articles where source = 'qq'") == [("腾讯新闻第80条",)]
    assert len(env.server.requests) == requests_before  # no network request at all


def test_export_round_trips_hostile_titles_and_rewrites_only_what_changed(env: Env) -> None:
    hostile = '他说："不"\n---\n# title: yes'
    clip = write_clip(env, "hostile", hostile, "正文。\n\n![图片](https://inews.gtimg.com/om_bt/a/641)", "2025-02-07 18:39:14",
                      url="https://new.qq.com/rain/a/20250207A07NZC00")  # fmt: skip
    assert env.run("import", str(clip)).code == 0
    out = env.path / "site"
    result = env.run("export", str(out))
    assert result.code == 0, result.out + result.err
    (path,) = list(out.iterdir())
    assert path.name == "2025-02-07-qq-20250207A07NZC00.md"
    text = path.read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("\n---\n", 1)[0].removeprefix("---\n"))
    (stored_title,) = env.sql("select title from articles")[0]
    assert '"不"' in str(stored_title) and "---" in str(stored_title) and "# title: yes" in str(stored_title)
    assert front["title"] == stored_title and front["date"] == "2025-02-07T18:39:14+08:00"
    assert front["categories"] == ["qq"] and front["lang"] == ["zh-CN"]
    again = env.run("export", str(out))
    assert "0 written, 1 unchanged" in again.out
    assert list(out.iterdir()) == [path]


def test_export_downloads_images_with_the_referer_the_host_requires(env: Env) -> None:
    env.server.route(WX, "/s/img", Reply.html(wechat_page(90, images=2)))
    assert env.run("import", f"https://{WX}/s/img").code == 0
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 200

    def mmbiz(request: Recorded) -> Reply:
        # like mmbiz.qpic.cn: a foreign or missing Referer gets refused
        if not request.headers.get("referer", "").startswith("https://mp.weixin.qq.com/"):
            return Reply(403, b"hotlink refused")
        if "90x1" in request.path:
            return Reply(404, b"gone")
        return Reply(200, jpeg, {"Content-Type": "image/jpeg"})

    for path in ("/mmbiz_jpg/90x0/640", "/mmbiz_jpg/90x1/640", "/mmbiz_jpg/90cover/0"):
        env.server.route("mmbiz.qpic.cn", path, mmbiz)
    out = env.path / "site"
    result = env.run("export", str(out), "--images", "download")
    assert result.code == 1  # one image could not be saved: said, and its remote URL kept
    assert "90x1" in result.err and "404" in result.err
    (bundle,) = list(out.iterdir())
    md = (bundle / "index.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in bundle.iterdir() if p.name != "index.md")
    assert len(files) == 2 and all(f.endswith(".jpg") for f in files)
    assert any(f"]({f})" in md for f in files)
    assert "https://mmbiz.qpic.cn/mmbiz_jpg/90x1/640" in md  # the missing one stays remote
    assert all(
        r.headers.get("referer", "").startswith("https://mp.weixin.qq.com/")
        for r in env.server.requests_to("mmbiz.qpic.cn")
    )
    front = yaml.safe_load(md.split("\n---\n", 1)[0].removeprefix("---\n"))
    assert front["thumbnail"] in files
