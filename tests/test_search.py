"""Search over what a reader sees, the one bigram index, its bounds, deleting, and the database
with the tools its users already have (sqlite-utils, Datasette's metadata)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner
from sqlite_utils.cli import cli as sqlite_utils_cli

from ingest.cli import cli
from parsers.article import SHANGHAI, Article
from storage import SCHEMA_VERSION, NoArticle, Store, StoreFull, StoreReadOnly
from storage.schema import grams_of, migrate
from storage.text import INDEX_CHARS, index_text, visible_text

ROOT = Path(__file__).resolve().parents[1]

MARKDOWN = """# 城东新区开通电动公交

这是**重要**的消息：三条线路串联了`地铁站`和医院，详见[公交集团公告](https://bus.example.cn/notice?id=42)。

![](https://mmbiz.qpic.cn/mmbiz_jpg/abcdef/640?wx_fmt=jpeg)

| 线路 | 站点 |
|---|---|
| 一号线 | 体育中心 |

> 市民说，家门口就能直达医院。

更多信息请访问 https://www.example.cn/more 或关注公众号。"""


def article(n: int, body: str, *, title: str = "新闻", account: str = "城市观察", day: int = 1) -> Article:
    return Article(
        url=f"https://news.qq.com/rain/a/20250301A{n:07d}",
        source="qq",
        kind="article",
        title=title,
        body=body,
        account=account,
        article_id=f"20250301A{n:07d}",
        published=datetime(2025, 3, day, 9, 30, tzinfo=SHANGHAI),
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "j.db")


def ids(store: Store, query: str, **kw: object) -> list[int]:
    return [h.article.id for h in store.search(query, **kw)]  # type: ignore[arg-type]


# --- what is indexed ---------------------------------------------------------------------------------


def test_visible_text_has_no_markdown_syntax_or_addresses() -> None:
    text = visible_text(MARKDOWN)
    assert "这是重要的消息" in text and "地铁站" in text and "公交集团公告" in text and "体育中心" in text
    for junk in ("**", "`", "](", "http", "mmbiz", "qpic", "bus.example", "|", "#", ">"):
        assert junk not in text, junk
    assert "\n" not in text


def test_search_matches_only_what_a_reader_sees(store: Store) -> None:
    a = store.save_article(article(1, MARKDOWN)).id
    store.save_article(article(2, "另一篇完全无关的文章，讲春天的花。"))
    assert ids(store, "是重要的") == [a]  # across the emphasis markers
    assert ids(store, "公交集团公告") == [a]  # a link's text
    assert ids(store, "体育中心") == [a]  # a table cell
    for address in ("http", "https", "mmbiz", "qpic", "wx_fmt", "notice", "example", "jpeg"):
        assert ids(store, address) == [], address


def test_every_length_latin_case_and_full_width(store: Store) -> None:
    a = store.save_article(article(1, "苹果发布 iPhone 新机型，支持 ５Ｇ 网络和 AI 功能。")).id
    for query in ("果", "苹果", "新机型", "苹果发布", "iphone", "IPHONE", "5g", "５Ｇ", "ai", "苹果 5G", "发 新机型"):
        assert ids(store, query) == [a], query
    assert ids(store, "发布新") == []  # the space is a separator in the text too
    assert ids(store, "苹果 安卓") == []  # every word must match


def test_snippets_are_one_plain_line_with_every_word_marked(store: Store) -> None:
    store.save_article(article(1, MARKDOWN, title="电动公交开通"))
    (hit,) = store.search("重要 医院 电动")
    assert "\n" not in hit.snippet
    for junk in ("**", "`", "](", "http", "![", "|"):
        assert junk not in hit.snippet, junk
    assert "[重要]" in hit.snippet and "[医院]" in hit.snippet
    assert "[电动]" in hit.snippet  # a word found in the title only still shows
    (marked,) = store.search("地铁站", mark=("<b>", "</b>"))
    assert "<b>地铁站</b>" in marked.snippet and "[" not in marked.snippet


def test_far_apart_words_each_get_a_fragment(store: Store) -> None:
    body = "开头提到了茶园。" + "无关的句子填充篇幅。" * 200 + "结尾说到水库。"
    store.save_article(article(1, body))
    (hit,) = store.search("茶园 水库")
    assert "[茶园]" in hit.snippet and "[水库]" in hit.snippet and "…" in hit.snippet
    assert len(hit.snippet) < 400


def test_results_count_the_stories_and_account_takes_a_part(store: Store) -> None:
    for n in range(1, 8):
        store.save_article(article(n, f"第{n}篇报道：城东新区的公交线路调整。" * (n + 1), account=f"城东日报{n % 2}"))
    hits = store.search("公交", limit=3)
    assert len(hits) == 3 and hits.total == 7 and not hits.more
    assert store.search("公交", account="城东").total == 7
    assert store.search("公交", account="日报1").total == 4
    assert store.search("公交", account="晚报").total == 0


def test_a_huge_article_is_indexed_up_to_the_cap(store: Store) -> None:
    phrase = "重复的短语出现了很多次。"
    body = phrase * (3 * INDEX_CHARS // len(phrase)) + "最后才出现的词语"
    big = store.save_article(article(1, body)).id
    small = store.save_article(article(2, "这里也有重复的短语。")).id
    assert sorted(ids(store, "重复的短语")) == [big, small]
    assert ids(store, "最后才出现") == []  # past the indexed part
    hit = store.search("重复的短语")[0]
    assert len(hit.snippet) < 400
    _, body_grams = index_text("", body)
    assert len(body_grams.split()) <= INDEX_CHARS + 1


def test_short_words_rank_by_title_and_density_whatever_the_case(store: Store) -> None:
    # three different stories (copies of one story would come out once)
    park = "城市的公园里开满了花，市民周末出门散步，孩子们在草地上放风筝，老人们在树荫下下棋聊天。"
    port = "港口今年的集装箱吞吐量再创新高，新开通的航线连接了东南亚和欧洲的十几个港口城市。"
    farm = "秋收时节，农民们忙着收割水稻，合作社的烘干机日夜运转，新米很快就会上市销售。"
    in_body = store.save_article(article(1, park + "报告提到了AI。")).id
    in_title = store.save_article(article(2, port + "报告提到了ai。", title="AI 改变了什么")).id
    dense = store.save_article(article(3, "AI 写诗，ai 作画，Ai 谱曲。" + farm)).id
    hits = store.search("ai")
    assert [h.article.id for h in hits] == [in_title, dense, in_body]
    assert hits[0].rank < hits[1].rank < hits[2].rank
    assert [h.article.id for h in store.search("Ａｉ")] == [in_title, dense, in_body]  # full-width folds too


# --- the index as tools see it --------------------------------------------------------------------------


def test_sqlite_utils_counts_every_table_and_finds_the_search(tmp_path: Path) -> None:
    path = tmp_path / "jianbao.db"
    with Store(path) as s:
        s.save_article(article(1, MARKDOWN))
    runner = CliRunner()
    counts = runner.invoke(sqlite_utils_cli, ["tables", str(path), "--counts"])
    assert counts.exit_code == 0, counts.output
    listed = {row["table"]: row["count"] for row in json.loads(counts.output)}
    assert listed["articles"] == 1 and listed["articles_fts"] == 1 and listed["articles_grams"] == 1
    assert sqlite_utils.Database(path)["articles"].detect_fts() == "articles_fts"  # type: ignore[union-attr]
    # the trigram table tools pick answers words of 3+ characters (README: shorter ones need the query)
    found = runner.invoke(sqlite_utils_cli, ["search", str(path), "articles", "体育中心", "-c", "id", "-c", "title"])
    assert found.exit_code == 0, found.output
    assert json.loads(found.output) == [{"id": 1, "title": "新闻"}]
    assert json.loads(runner.invoke(sqlite_utils_cli, ["search", str(path), "articles", "qpic"]).output) == []
    assert json.loads(runner.invoke(sqlite_utils_cli, ["search", str(path), "articles", "abcdef"]).output) == []


def test_datasette_metadata_names_real_tables_and_its_search_query_works(tmp_path: Path) -> None:
    meta = json.loads((ROOT / "datasette-metadata.json").read_text(encoding="utf-8"))
    db_meta = meta["databases"]["jianbao"]
    path = tmp_path / "jianbao.db"
    with Store(path) as s:
        s.save_article(article(1, MARKDOWN))
        s.save_article(article(2, "春天的公园里开满了花。"))
        tables = set(s.db.table_names())
    assert set(db_meta["tables"]) <= tables | {"hosts"}
    articles = db_meta["tables"]["articles"]
    assert articles["fts_table"] == "articles_fts" and articles["facets"] == ["source", "account"]
    assert all(db_meta["tables"][t].get("hidden") for t in ("article_bands", "pages", "page_dicts"))
    con = sqlite3.connect(path)
    sql = db_meta["queries"]["search"]["sql"]
    for q, expected in (
        ("医院", [1]),
        ("公交集团公告", [1]),
        ("花", [2]),
        ("公园里", [2]),
        ('"', []),
        ("园", [2]),
        ("qpic", []),
    ):
        assert [r[0] for r in con.execute(sql, {"q": q})] == expected, q


# --- migration ----------------------------------------------------------------------------------------


def test_migration_replaces_the_two_tables_and_indexes_the_visible_text(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    migrate(db, target=6)
    db.execute(
        "INSERT INTO articles (id, key, url, source, kind, title, body, content_hash, first_seen, last_seen)"
        " VALUES (1, 'k', 'https://news.qq.com/rain/a/x', 'qq', 'article', '公交', ?, 'x',"
        " '2025-03-01T00:00:00+00:00', '2025-03-01T00:00:00+00:00')",
        (MARKDOWN,),
    )
    db.execute("INSERT INTO articles_fts (rowid, title, body) VALUES (1, '公交', ?)", (MARKDOWN,))
    db.execute("INSERT INTO articles_grams (rowid, text) VALUES (1, ?)", (grams_of("公交", MARKDOWN),))
    db.close()
    with Store(path) as s:
        assert s.db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [c.name for c in s.db["articles_grams"].columns] == ["title", "body"]
        assert ids(s, "体育中心") == [1] and ids(s, "qpic") == [] and ids(s, "医") == [1]
        assert ids(s, "mmbiz") == [] and ids(s, "bus") == [] and ids(s, "地铁站") == [1]


def test_migration_from_the_one_bigram_table_of_schema_7(tmp_path: Path) -> None:
    path = tmp_path / "v7.db"
    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    migrate(db, target=6)
    # schema 7 as it was written: one positional bigram table over the visible text, no articles_grams
    db.execute("DROP TABLE articles_fts")
    db.execute("DROP TABLE articles_grams")
    db.execute(
        'CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, content="articles", content_rowid="id",'
        ' tokenize="unicode61 remove_diacritics 0")'
    )
    db.execute(
        "INSERT INTO articles (id, key, url, source, kind, title, body, content_hash, first_seen, last_seen)"
        " VALUES (1, 'k', 'https://news.qq.com/rain/a/x', 'qq', 'article', '公交', ?, 'x',"
        " '2025-03-01T00:00:00+00:00', '2025-03-01T00:00:00+00:00')",
        (MARKDOWN,),
    )
    db.execute("INSERT INTO articles_fts (rowid, title, body) VALUES (1, '公 公交 交', '城 城东 东新')")
    db.execute("PRAGMA user_version = 7")
    db.close()
    with Store(path) as s:
        assert s.db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert {"articles_fts", "articles_grams"} <= set(s.db.table_names())
        assert ids(s, "城东新区") == [1] and ids(s, "医院") == [1] and ids(s, "院") == [1] and ids(s, "qpic") == []
        s.db.conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 0)")


# --- delete ---------------------------------------------------------------------------------------------


def test_delete_removes_the_article_its_urls_and_search_row_and_relinks_copies(store: Store) -> None:
    story = "国家统计局今天发布数据，一季度国内生产总值同比增长百分之五点三，经济运行开局良好。" * 3
    first = store.save_article(article(1, story)).id
    second = store.save_article(article(2, story)).id
    third = store.save_article(article(3, story)).id
    assert store.get_article(third).duplicate_of == first
    url = store.get_article(first).article.url
    store.save_page(url, content=b"<html>raw</html>", final_url=url, status=200, headers={})
    gone = store.delete_article(url)
    assert gone.id == first and gone.copies == (second, third) and url in gone.urls
    with pytest.raises(NoArticle):
        store.get_article(first)
    with pytest.raises(NoArticle):
        store.get_article(url)
    assert store.get_article(second).duplicate_of is None and store.get_article(third).duplicate_of == second
    assert ids(store, "国内生产总值") == [second]
    assert [p.url for p in store.pages(urls=[url])] == [url]  # the raw page is kept
    store.db.conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 0)")
    assert store.delete_article(third, purge=True).pages == 0
    with pytest.raises(NoArticle):
        store.delete_article(first)


def test_delete_purge_removes_the_raw_page_and_rolls_back_as_one(store: Store) -> None:
    a = store.save_article(article(1, "一篇要删掉的文章，正文写得足够长，讲的是城里的新图书馆开馆。"))
    url = store.get_article(a.id).article.url
    store.save_page(url, content=b"<html>raw</html>", final_url=url, status=200, headers={})
    with pytest.raises(RuntimeError), store.transaction():
        store.delete_article(a.id, purge=True)
        raise RuntimeError("changed my mind")
    assert store.get_article(a.id).id == a.id and ids(store, "图书馆") == [a.id]
    assert store.delete_article(a.id, purge=True).pages == 1
    assert list(store.pages(urls=[url])) == [] and ids(store, "图书馆") == []


# --- stored values and database states no reader may trip on --------------------------------------------


def test_unusable_stored_times_read_as_no_date(store: Store) -> None:
    for n, value in enumerate(("0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-14:00", "garbage", "2025"), 1):
        store.save_article(article(n, f"第{n}篇：日期坏掉的文章。"))
        store.db.conn.execute("UPDATE articles SET published = ? WHERE id = ?", (value, n))
    store.db.conn.execute("UPDATE articles SET first_seen = 'nonsense' WHERE id = 1")
    assert [a.article.published for a in store.list_articles()] == [None] * 4
    assert store.search("日期坏掉").total == 4
    assert store.get_article(1).first_seen.year == 1970
    for ref in ("²", "١٢", str(2**63), str(10**30), "0"):
        with pytest.raises(NoArticle):
            store.get_article(ref)


def test_read_only_and_full_databases_are_named_errors(store: Store) -> None:
    store.db.conn.execute("PRAGMA query_only = 1")
    with pytest.raises(StoreReadOnly):
        store.save_article(article(1, "只读的数据库写不进去。"))
    store.db.conn.execute("PRAGMA query_only = 0")
    pages = store.db.conn.execute("PRAGMA page_count").fetchone()[0]
    store.db.conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(StoreFull):
        store.save_article(article(2, "磁盘满了。" * 20000))
    assert store.list_articles() == []  # nothing half-written


# --- the CLI ---------------------------------------------------------------------------------------------


def run(db: Path, *args: str, color: bool = False) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--db", str(db), *args], color=color)
    return result.exit_code, result.stdout, result.stderr


def test_cli_search_counts_and_prints_plain_lines(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    with Store(db) as s:
        s.save_article(article(1, MARKDOWN, title="电动公交开通"))
        s.save_article(article(2, "医院门口新开了一家书店。", title="书店"))
    code, out, _ = run(db, "search", "医院")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "2 matches"
    assert "**" not in out and "\x1b" not in out and "[医院]" not in out and "医院" in lines[2]
    code, out, _ = run(db, "search", "医院", "--limit", "1")
    assert out.splitlines()[0] == "2 matches (showing 1)"
    code, out, _ = run(db, "search", "医院", "--json")
    data = json.loads(out)
    assert {d["id"] for d in data} == {1, 2}
    assert all("[医院]" in d["marked"] and "[" not in d["snippet"] for d in data)
    code, out, err = run(db, "search", "不存在的词")
    assert code == 0 and out == "" and err.strip() == "no matches"


def test_cli_search_is_bold_on_a_terminal_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ingest.output

    db = tmp_path / "j.db"
    with Store(db) as s:
        s.save_article(article(1, MARKDOWN))
    monkeypatch.setattr(ingest.output.Style, "for_stream", classmethod(lambda cls, stream, env=None: cls(True)))
    _, out, _ = run(db, "search", "医院", color=True)
    assert "\x1b[1m医院\x1b[0m" in out
    monkeypatch.undo()
    _, out, _ = run(db, "search", "医院", color=True)  # not a terminal: no bold
    assert "\x1b" not in out and "医院" in out


def test_cli_delete(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    with Store(db) as s:
        a = s.save_article(article(1, "要删除的第一篇文章。")).id
        b = s.save_article(article(2, "要删除的第二篇文章。")).id
        url = s.get_article(b).article.url
    code, out, err = run(db, "delete", str(a), url, "999", "--purge")
    assert code == 1
    assert out.splitlines() == [f"deleted #{a}: {article(1, '').url} (0 raw pages purged)",
                                f"deleted #{b}: {url} (0 raw pages purged)"]  # fmt: skip
    assert err.strip() == "jianbao: 999: no such article"
    with Store(db) as s:
        assert s.list_articles() == []
    code, _, err = run(db, "delete")
    assert code == 2


def test_the_readme_recipes_for_sqlite_utils_work(tmp_path: Path) -> None:
    import shlex

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Browsing the database directly") :]
    recipes = [line for line in section.splitlines() if line.startswith(".venv/bin/sqlite-utils ")][:3]
    assert len(recipes) == 3
    path = tmp_path / "jianbao.db"
    with Store(path) as s:
        s.save_article(article(1, "湿地公园迎来了今年第一批候鸟，观鸟爱好者早早架起了相机。", title="候鸟归来"))
    runner = CliRunner()
    for recipe in recipes:
        args = [str(path) if a == "jianbao.db" else a for a in shlex.split(recipe)[1:]]
        result = runner.invoke(sqlite_utils_cli, args)
        assert result.exit_code == 0, (recipe, result.output)
        # the recipes: table counts, a query listing titles, a search listing titles
        assert ("articles_fts" if "tables" in recipe else "候鸟归来") in result.output, recipe
