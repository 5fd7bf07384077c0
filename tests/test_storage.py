"""storage.Store: schema and migrations, upserts, URLs, logs, the page archive, search and duplicates."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from parsers.article import SHANGHAI, Article
from parsers.urls import wechat_url
from storage import SCHEMA_VERSION, NoArticle, StorageError, Store
from storage.schema import grams_of, migrate
from storage.text import MAX_DISTANCE, MIN_TEXT, band_keys, hamming, simhash, story_text, to_signed

ROOT = Path(__file__).resolve().parents[1]

# Three unrelated stories, written for these tests.
BUS = """本市公共交通集团昨日宣布，从下月起将在城东新区开通三条纯电动公交线路，全部车辆均配备低地板设计和无障碍坡道，方便老人和轮椅乘客上下车。

据介绍，这批新车由本地一家汽车企业生产，单次充电可行驶二百五十公里，夜间在场站集中充电，白天不需要补电。每辆车都安装了智能调度终端，乘客可以通过手机查询车辆实时位置和车厢拥挤程度。

新线路串联了地铁站、三所中学、两家医院和新建的体育中心。交通部门在前期调研中发现，城东新区居民早高峰出行主要依靠私家车和共享单车，公交覆盖不足是突出问题。开通新线路后，预计每天可服务乘客一万两千人次。

公交集团负责人表示，今年还将淘汰一百多辆老旧柴油车，到年底全市电动公交车比例将超过九成。与此同时，集团正在试点夜间定制公交，根据市民在小程序上提交的需求灵活设置站点。

有市民在采访中说，以前去医院复诊要换乘两次，现在家门口就能直达，既省时间又省钱。也有人建议在学校附近增加上下学时段的班次，集团回应称将根据客流数据动态调整发车间隔。"""

LIBRARY = """经过十四个月的改造，位于老城区的市图书馆主馆本周六重新向读者开放。改造后的阅览座位从六百个增加到一千一百个，新设了少儿绘本区、古籍修复展示区和二十四小时自助借还室。

图书馆馆长在开馆仪式上介绍，这次改造保留了上世纪五十年代建筑的红砖外墙和木质楼梯，内部则更换了全部电线和空调系统。为了减少噪音，自习区的地面铺设了吸音材料，窗户也换成了双层玻璃。

馆方同时上线了新的借阅系统，读者刷身份证或者扫描电子读者证即可借书，每人最多可借十五册，借期延长到四十天。对于行动不便的老年读者，图书馆将提供送书上门服务，首批覆盖周边八个社区。

开馆当天上午，门口排起了长队。一位带着孩子的母亲说，孩子最喜欢新的绘本区，书架高度正好适合小朋友自己取书。退休教师张先生则专程来看古籍修复，他说能亲眼看到修复师一页一页补纸，感觉非常难得。"""

TEA = """清明前后，南山茶区迎来一年中最忙碌的采摘季。天刚亮，茶农们就背着竹篓上山，赶在露水干之前采下一芽一叶的嫩梢。今年春季雨水充足，气温回升平稳，茶芽萌发比往年早了五天左右。

当地茶叶合作社的负责人说，今年明前茶的收购价格每斤比去年高出八十元，合作社统一收购、统一加工，再通过电商平台直接卖给消费者。去年合作社的线上销售额第一次超过了线下批发，年轻人成了主要买家。

为了保证品质，合作社请来农技专家，在茶园里推广生物防虫板和有机肥，禁止使用除草剂。加工车间也添置了新的杀青机和揉捻机，但最关键的炒制环节仍然由老师傅手工完成，火候全凭经验把握。

山脚下的民宿老板说，采茶季游客明显多了，很多家庭专门来体验采茶和炒茶，周末房间要提前半个月预订。镇里正在规划一条串联茶园、古村和水库的骑行步道，希望把茶产业和乡村旅游结合起来。"""


class Clock:
    """A clock that moves one minute per reading, so every write is distinguishable."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def qq(article_id: str, body: str, *, title: str = "标题", account: str | None = "城市新闻", day: int = 1) -> Article:
    return Article(
        url=f"https://news.qq.com/rain/a/{article_id}",
        source="qq",
        kind="article",
        title=title,
        body=body,
        account=account,
        article_id=article_id,
        published=datetime(2025, 3, day, 9, 30, tzinfo=SHANGHAI),
    )


def wechat(mid: str, body: str, *, title: str = "标题", account: str = "城市观察", day: int = 1) -> Article:
    return Article(
        url=wechat_url("MzA5NDc1NzQ4MA==", mid, "1", f"0123456789abcdef{mid}"),
        source="wechat",
        kind="article",
        title=title,
        body=body,
        account=account,
        biz="MzA5NDc1NzQ4MA==",
        mid=mid,
        idx="1",
        sn=f"0123456789abcdef{mid}",
        published=datetime(2025, 3, day, 20, 0, tzinfo=SHANGHAI),
    )


@pytest.fixture
def store() -> Iterator[Store]:
    with Store(":memory:", clock=Clock()) as s:
        yield s


def count(store: Store, table: str) -> int:
    return int(store.db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# -- opening and migrations --------------------------------------------------------------------------


def test_open_creates_file_in_wal_mode_at_current_version(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Store(path) as s:
        conn = s.db.conn
        assert s.path == str(path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = set(s.db.table_names())
    assert {
        "articles",
        "article_urls",
        "pages",
        "fetches",
        "crawls",
        "host_state",
        "daily_counts",
        "article_bands",
    } <= tables
    assert "articles_fts" in tables and "articles_grams" in tables
    # reopening applies nothing twice
    with Store(path) as s:
        assert s.db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


@pytest.mark.parametrize("start", range(1, SCHEMA_VERSION))
def test_migrations_bring_an_older_file_up_to_date(tmp_path: Path, start: int) -> None:
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    assert migrate(db, target=start) == start
    # an article written the way that version wrote it
    text = story_text(BUS)
    db.execute(
        "INSERT INTO articles (id, key, url, source, kind, title, body, images, content_hash, simhash,"
        " first_seen, last_seen) VALUES (1, 'qq:20250301A0000100', 'https://news.qq.com/rain/a/20250301A0000100',"
        " 'qq', 'article', '电动公交', ?, '[]', 'x', ?, '2025-03-01T00:00:00+00:00', '2025-03-01T00:00:00+00:00')",
        (BUS, to_signed(simhash(text))),
    )
    if start >= 2:
        db.execute("INSERT INTO articles_fts (rowid, title, body) VALUES (1, '电动公交', ?)", (BUS,))
        db.execute("INSERT INTO articles_grams (rowid, text) VALUES (1, ?)", (grams_of("电动公交", BUS),))
    if start >= 3:
        from storage.text import band_keys

        fp = simhash(text)
        db.conn.executemany(
            "INSERT INTO article_bands (band_key, article_id, simhash) VALUES (?, 1, ?)",
            [(key, to_signed(fp)) for key in band_keys(fp)],
        )
    db.close()

    with Store(path, clock=Clock()) as s:
        assert s.db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [h.article.id for h in s.search("柴油车")] == [1]
        assert [h.article.id for h in s.search("柴油")] == [1]
        # the old row's fingerprint bands exist: a reprint finds it as a candidate
        saved = s.save_article(wechat("900", BUS.replace("一万两千", "一万三千")))
        assert saved.duplicate_of == 1
        s.db.conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 0)")


def test_a_file_that_is_not_sqlite_is_a_storage_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is a text file, not a database\n" * 100)
    with pytest.raises(StorageError) as info:
        Store(path)
    assert str(path) in str(info.value)
    assert info.value.url == str(path)


def test_a_missing_folder_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="missing"):
        Store(tmp_path / "missing" / "j.db")


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    with pytest.raises(StorageError, match="newer"):
        Store(path)


def test_accepts_an_open_sqlite_utils_database(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "given.db")
    s = Store(db)
    assert s.db is db
    assert s.path == str(tmp_path / "given.db")
    assert s.save_article(qq("20250301A0000100", BUS)).outcome == "stored"


# -- upserts -----------------------------------------------------------------------------------------


def row(store: Store, article_id: int) -> dict[str, object]:
    cur = store.db.conn.execute("SELECT * FROM articles WHERE id = ?", (article_id,))
    return dict(cur.fetchone())


def test_stored_then_unchanged_moves_only_last_seen(store: Store) -> None:
    article = qq("20250301A0000100", BUS, title="城东新区开通电动公交")
    first = store.save_article(article)
    assert first.outcome == "stored"
    before = row(store, first.id)

    again = store.save_article(article)
    assert again == first.__class__(first.id, "unchanged", None)
    after = row(store, first.id)
    assert after["last_seen"] > before["last_seen"]  # type: ignore[operator]
    assert {k: v for k, v in after.items() if k != "last_seen"} == {k: v for k, v in before.items() if k != "last_seen"}
    assert count(store, "articles") == 1


def test_changed_article_is_updated_and_keeps_the_previous_hash(store: Store) -> None:
    first = store.save_article(qq("20250301A0000100", BUS, title="城东新区开通电动公交"))
    old = store.get_article(first.id)
    assert old.updated is None and old.previous_hash is None

    edited = qq("20250301A0000100", BUS.replace("柴油车", "燃油车"), title="城东新区开通电动公交（更新）")
    second = store.save_article(edited)
    assert second.outcome == "updated" and second.id == first.id
    new = store.get_article(first.id)
    assert new.previous_hash == old.content_hash
    assert new.content_hash != old.content_hash
    assert new.updated is not None and new.updated > old.last_seen
    assert new.first_seen == old.first_seen
    assert new.article == edited
    # the search rows follow the text: the old word is gone, the new one found, in both indexes
    assert store.search("柴油车") == []
    assert store.search("柴油") == []
    assert [h.article.id for h in store.search("燃油车")] == [first.id]
    assert [h.article.id for h in store.search("燃油")] == [first.id]
    store.db.conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 0)")


def test_round_trip_keeps_every_field(store: Store) -> None:
    article = Article(
        url="https://mp.weixin.qq.com/s?__biz=MzI1&mid=2247&idx=2&sn=ab12",
        source="wechat",
        kind="share",
        title="转发：一篇文章",
        published=datetime(2025, 3, 2, 1, 5, 9, tzinfo=UTC),  # kept as the same instant at +08:00
        author="王敏",
        account="城市观察",
        summary="摘要",
        cover="https://mmbiz.qpic.cn/cover.jpg",
        images=("https://mmbiz.qpic.cn/a.jpg", "https://mmbiz.qpic.cn/b.png"),
        body="正文 **加粗**\n\n![](https://mmbiz.qpic.cn/a.jpg)",
        biz="MzI1",
        mid="2247",
        idx="2",
        sn="ab12",
        original_account="原作者号",
        original_url="https://mp.weixin.qq.com/s?__biz=MzI2&mid=1&idx=1&sn=cd",
    )
    saved = store.save_article(article)
    got = store.get_article(saved.id).article
    assert got == article
    assert got.published is not None and got.published.utcoffset() == timedelta(hours=8)
    stored = row(store, saved.id)
    assert stored["published"] == "2025-03-02T09:05:09+08:00"
    assert json.loads(str(stored["images"])) == list(article.images)
    assert stored["key"] == "wechat:MzI1:2247:2"


# -- URLs --------------------------------------------------------------------------------------------

LONG = (
    "http://mp.weixin.qq.com/s?__biz=MzA5NDc1NzQ4MA==&mid=2650&idx=1&sn=0123456789abcdef2650"
    "&chksm=8b1c&scene=21#wechat_redirect"
)
SHORT = "https://mp.weixin.qq.com/s/dWAcaenAanYJpRPiA50nUA"


def test_short_and_long_wechat_links_lead_to_one_row(store: Store) -> None:
    article = wechat("2650", BUS)
    a = store.save_article(article, aliases=[SHORT])
    b = store.save_article(article, aliases=[SHORT, LONG])
    assert a.id == b.id and b.outcome == "unchanged"
    assert count(store, "articles") == 1
    assert store.get_article(SHORT).id == a.id
    assert store.get_article(LONG).id == a.id
    # a tracking variant never seen as such still resolves through canonical_url
    assert store.get_article(LONG.replace("scene=21", "scene=126")).id == a.id
    assert store.get_article(article.key).id == a.id
    assert store.get_article(a.id).id == a.id
    assert store.get_article(str(a.id)).id == a.id


def test_get_article_unknown_raises_no_article(store: Store) -> None:
    store.save_article(qq("20250301A0000100", BUS))
    for ref in (99, "https://news.qq.com/rain/a/20990101A0000000", "qq:nothing", "not a url"):
        with pytest.raises(NoArticle):
            store.get_article(ref)


def test_seen_urls(store: Store) -> None:
    store.save_article(wechat("2650", BUS), aliases=[SHORT])
    gone = "https://mp.weixin.qq.com/s/deletedDeletedDeleted0"
    removed = "https://mp.weixin.qq.com/s/removedRemovedRemoved0"
    back = "https://mp.weixin.qq.com/s/deletedThenFetchedAgain"
    later = "https://mp.weixin.qq.com/s/unavailableForNowOnly00"
    store.save_fetch(gone, "not-article", reason="deleted")
    store.save_fetch(removed, "failed", error="timeout")
    store.save_fetch(removed, "not-article", reason="removed")
    store.save_fetch(back, "not-article", reason="deleted")
    store.save_fetch(back, "failed", error="reset")  # the last word counts
    store.save_fetch(later, "not-article", reason="unavailable")
    new = "https://news.qq.com/rain/a/20250301A0000900"
    asked = [SHORT, LONG, gone, removed, back, later, new, "not a url"]
    assert store.seen_urls(asked) == {SHORT, LONG, gone, removed}
    assert store.seen_urls([]) == set()


def test_seen_urls_asks_once_per_chunk_not_per_url(store: Store) -> None:
    for n in range(20):
        store.save_article(qq(f"20250301A{n:05d}00", f"第{n}篇 " + BUS))
    urls = [f"https://news.qq.com/rain/a/20250301A{n:05d}00" for n in range(1000)]
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    seen = store.seen_urls(urls)
    store.db.conn.set_trace_callback(None)
    assert seen == set(urls[:20])
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


# -- fetch log, crawls, hosts, stats -------------------------------------------------------------------


def test_fetch_log_and_stats(store: Store) -> None:
    saved = store.save_article(qq("20250301A0000100", BUS, account="城市新闻", day=1))
    store.save_article(wechat("2650", TEA, account="茶乡", day=3))
    store.save_fetch("https://news.qq.com/rain/a/20250301A0000100", "stored", article_id=saved.id, source="qq-hot")
    store.save_fetch("https://mp.weixin.qq.com/s/a", "blocked", status=200, reason="verification", source="album")
    store.save_fetch("https://mp.weixin.qq.com/s/b", "failed", error="ReadTimeout", source="album")
    with pytest.raises(ValueError):
        store.save_fetch("https://x.org/", "exploded")
    log = store.fetches("https://news.qq.com/rain/a/20250301A0000100")
    assert [(f.outcome, f.article_id, f.source) for f in log] == [("stored", saved.id, "qq-hot")]
    t0 = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
    store.save_crawl("album", started=t0, finished=t0 + timedelta(minutes=1), counts={"stored": 1}, ok=True)
    store.save_crawl(
        "album",
        started=t0 + timedelta(hours=1),
        finished=t0 + timedelta(hours=1, minutes=2),
        counts={"failed": 1, "blocked": 1},
        ok=False,
        error="blocked by verification",
    )
    st = store.stats()
    assert st.articles == 2
    assert st.by_source == {"qq": 1, "wechat": 1}
    assert st.by_account == {"城市新闻": 1, "茶乡": 1}
    assert st.by_day == {"2025-03-03": 1, "2025-03-01": 1}
    assert list(st.last_crawls) == ["album"]
    last = st.last_crawls["album"]
    assert (last.ok, last.error, last.counts) == (False, "blocked by verification", {"failed": 1, "blocked": 1})
    assert last.started == t0 + timedelta(hours=1)
    assert [(f.url, f.outcome) for f in st.recent_failures] == [
        ("https://mp.weixin.qq.com/s/b", "failed"),
        ("https://mp.weixin.qq.com/s/a", "blocked"),
    ]
    assert st.fetch_outcomes == {"stored": 1, "blocked": 1, "failed": 1}


def test_recent_failures_keep_the_last_twenty(store: Store) -> None:
    for n in range(25):
        store.save_fetch(f"https://x.org/{n}", "failed", error=f"e{n}")
    assert [f.error for f in store.stats().recent_failures] == [f"e{n}" for n in range(24, 4, -1)]


def test_host_cooldown(store: Store) -> None:
    assert store.host_cooldown("mp.weixin.qq.com") == (None, 0)
    until = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    store.save_host_cooldown("mp.weixin.qq.com", until=until, strikes=2)
    assert store.host_cooldown("MP.weixin.qq.com") == (until, 2)
    store.save_host_cooldown("mp.weixin.qq.com", until=None, strikes=2)
    assert store.host_cooldown("mp.weixin.qq.com") == (None, 2)
    store.save_host_cooldown("mp.weixin.qq.com", until=None, strikes=0)
    assert store.host_cooldown("mp.weixin.qq.com") == (None, 0)


# -- page archive ------------------------------------------------------------------------------------


def fake_wechat_page(seed: int, text: str) -> bytes:
    """~200 KB: the same 'script' boilerplate on every page, a different article in the middle."""
    rng = random.Random(1234)
    script = "".join(f"var m{n}=function(a,b){{return a*{rng.randint(1, 10**6)}+b;}};\n" for n in range(4000))
    return f"<html><script>{script}</script><div id='js_content'>{seed}{text}</div><script>{script[::-1]}</script>".encode()


def test_pages_round_trip_compressed(tmp_path: Path) -> None:
    path = tmp_path / "pages.db"
    pages = {
        f"https://mp.weixin.qq.com/s/page{n}": fake_wechat_page(n, story) for n, story in enumerate((BUS, TEA, LIBRARY))
    }
    small = b"<html>\xe8\xaf\xa5\xe5\x86\x85\xe5\xae\xb9\xe5\xb7\xb2\xe8\xa2\xab\xe5\x88\xa0\xe9\x99\xa4</html>"
    when = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    with Store(path, clock=Clock()) as s:
        for n, (url, content) in enumerate(pages.items()):
            s.save_page(
                url,
                content=content,
                final_url=url + "?final",
                status=200,
                headers={"content-type": "text/html; charset=utf-8"},
                fetched_at=when + timedelta(minutes=n),
            )
        s.save_page(
            "https://news.qq.com/rain/a/20250301A0000100",
            content=small,
            final_url="https://news.qq.com/x",
            status=404,
            headers={},
            fetched_at=when + timedelta(hours=1),
        )
        st = s.stats()
        assert st.pages == 4 and st.pages_size == sum(map(len, pages.values())) + len(small)
        # the shared boilerplate is stored once
        assert st.pages_stored < st.pages_size * 0.15
    with Store(path) as s:  # a fresh process must find the dictionary in the file
        got = list(s.pages())
        assert [p.url for p in got] == [*pages, "https://news.qq.com/rain/a/20250301A0000100"]
        for page in got[:3]:
            assert page.content == pages[page.url]
            assert page.final_url == page.url + "?final"
            assert page.status == 200
            assert page.headers == {"content-type": "text/html; charset=utf-8"}
        assert got[0].fetched_at == when
        assert got[3].content == small and got[3].status == 404
        assert [p.url for p in s.pages(source="qq")] == ["https://news.qq.com/rain/a/20250301A0000100"]
        wanted = ["https://mp.weixin.qq.com/s/page2", "https://nowhere.example/", "https://mp.weixin.qq.com/s/page0"]
        assert [p.url for p in s.pages(urls=wanted)] == [wanted[0], wanted[2]]
        # the latest fetch of a URL replaces the earlier one
        s.save_page(
            "https://mp.weixin.qq.com/s/page0",
            content=b"second",
            final_url="https://mp.weixin.qq.com/s/page0",
            status=200,
            headers={"x": "1"},
        )
        (page0,) = s.pages(urls=["https://mp.weixin.qq.com/s/page0"])
        assert page0.content == b"second" and page0.headers == {"x": "1"}
        assert s.stats().pages == 4


# -- transactions ------------------------------------------------------------------------------------


def test_rollback_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.save_article(qq("20250301A0000100", BUS), aliases=["https://new.qq.com/omn/20250301A0000100.html"])
        store.save_fetch("https://news.qq.com/rain/a/20250301A0000100", "stored")
        store.save_page(
            "https://news.qq.com/rain/a/20250301A0000100",
            content=b"x",
            final_url="https://a.b/",
            status=200,
            headers={},
        )
        raise RuntimeError("crash in the middle")
    for table in ("articles", "article_urls", "fetches", "pages", "article_bands"):
        assert count(store, table) == 0, table
    assert store.search("柴油车") == [] and store.search("柴油") == []
    assert store.seen_urls(["https://new.qq.com/omn/20250301A0000100.html"]) == set()
    # and the store works afterwards
    assert store.save_article(qq("20250301A0000100", BUS)).outcome == "stored"


def test_nested_transaction_rolls_back_only_its_part(store: Store) -> None:
    with store.transaction():
        store.save_article(qq("20250301A0000100", BUS))
        with pytest.raises(KeyError), store.transaction():
            store.save_article(qq("20250301A0000200", TEA))
            raise KeyError("inner")
    assert [a.article.article_id for a in store.list_articles()] == ["20250301A0000100"]
    assert store.search("茶园") == []


def fts_consistent(store: Store) -> None:
    # for an external-content table FTS5 compares its index with the text in ``articles``
    store.db.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 0)")


def test_a_batch_is_searchable_once_committed_with_its_last_versions(store: Store) -> None:
    with store.transaction():
        first = store.save_article(qq("20250301A0000100", BUS))
        store.save_article(qq("20250301A0000100", BUS.replace("柴油车", "燃油车")))  # updated in the same batch
        with pytest.raises(KeyError), store.transaction():
            store.save_article(qq("20250301A0000200", TEA))
            store.save_article(qq("20250301A0000100", LIBRARY))  # and changed again, then rolled back
            raise KeyError("inner")
        store.save_article(wechat("1001", LIBRARY))
        assert store.search("燃油车") == []  # search rows are written at commit
    assert hit_ids(store, "燃油车") == [first.id] and hit_ids(store, "燃油") == [first.id]
    assert store.search("柴油车") == [] and store.search("柴油") == []
    assert store.search("茶园") == [] and store.search("茶") == []
    assert len(store.search("古籍修复")) == 1
    fts_consistent(store)


def test_updating_a_committed_article_replaces_its_search_rows(store: Store) -> None:
    saved = store.save_article(qq("20250301A0000100", BUS))
    with store.transaction():
        store.save_article(qq("20250301A0000100", TEA))
        store.save_article(qq("20250301A0000100", LIBRARY))
    assert store.search("公交") == [] and store.search("茶园") == []
    assert hit_ids(store, "古籍修复") == [saved.id] and hit_ids(store, "古籍") == [saved.id]
    fts_consistent(store)


def test_a_failed_commit_forgets_the_queued_search_rows(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.save_article(qq("20250301A0000100", BUS))
        raise RuntimeError("before commit")
    store.save_article(qq("20250301A0000200", TEA))
    assert store.search("公交") == [] and len(store.search("茶园")) == 1
    fts_consistent(store)


# -- search ------------------------------------------------------------------------------------------


@pytest.fixture
def corpus(store: Store) -> dict[str, int]:
    ids = {
        "bus": store.save_article(qq("20250301A0000100", BUS, title="城东新区开通三条电动公交线路", day=1)).id,
        "library": store.save_article(
            wechat("1001", LIBRARY, title="市图书馆改造后重新开放", account="文化周刊", day=5)
        ).id,
        "tea": store.save_article(qq("20250310A0000300", TEA, title="南山茶区春茶开采", account="农业观察", day=10)).id,
    }
    return ids


def hit_ids(store: Store, query: str, **kw: object) -> list[int]:
    return [h.article.id for h in store.search(query, **kw)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("茶", {"tea"}),  # 1 character: prefix query on the bigram index
        ("馆", {"library"}),
        ("公交", {"bus"}),  # 2 characters: exact bigram token
        ("古籍", {"library"}),
        ("柴油车", {"bus"}),  # 3: trigram
        ("一芽一叶", {"tea"}),  # 4: trigram phrase
        ("老年读者", {"library"}),
        ("医院", {"bus"}),
        ("老", {"bus", "library", "tea"}),  # 老人 / 老城区 / 老师傅
        ("电商平台 年轻人", {"tea"}),  # several words are ANDed
        ("公交 医院", {"bus"}),  # two 2-character words
        ("茶 电商平台", {"tea"}),  # mixed lengths
        ("图书馆 茶", set()),
        ("不存在的词语", set()),
    ],
)
def test_search_by_length(store: Store, corpus: dict[str, int], query: str, expected: set[str]) -> None:
    ids = hit_ids(store, query)
    assert sorted(ids) == sorted(corpus[name] for name in expected)
    assert len(ids) == len(set(ids))  # each article once


def test_search_snippets_mark_the_match(store: Store, corpus: dict[str, int]) -> None:
    (long_hit,) = store.search("古籍修复")
    assert "[古籍修复]" in long_hit.snippet
    (short_hit,) = store.search("古籍")
    assert "[古籍]" in short_hit.snippet
    (one,) = store.search("茶 采摘")
    assert "[茶]" in one.snippet and "[采摘]" in one.snippet
    title_only = store.search("开采")  # only in the title
    assert [h.article.id for h in title_only] == [corpus["tea"]] and "[开采]" in title_only[0].snippet


def test_search_ranks_more_frequent_matches_first(store: Store) -> None:
    once = store.save_article(qq("20250301A0000100", "茶" + LIBRARY)).id
    often = store.save_article(qq("20250301A0000200", TEA)).id
    assert hit_ids(store, "茶")[0] == often
    assert set(hit_ids(store, "茶")) == {once, often}
    many = store.save_article(qq("20250301A0000300", LIBRARY.replace("读者", "读者合作社") + "合作社")).id
    hits = store.search("合作社")
    assert hits[0].article.id == many
    assert hits[0].rank <= hits[1].rank


def test_search_latin_words_and_hostile_input(store: Store) -> None:
    s1 = store.save_article(qq("20250301A0000100", "苹果发布 iPhone 新机型，搭载 AI 功能和 5G 芯片。" + TEA)).id
    assert hit_ids(store, "iphone") == [s1]
    assert hit_ids(store, "IPHONE") == [s1]
    assert hit_ids(store, "ai") == [s1]
    assert hit_ids(store, "5G") == [s1]
    assert hit_ids(store, "5G 茶园") == [s1]
    for hostile in [
        '"',
        'a"b',
        "茶 OR",
        "NEAR(茶 园)",
        "*",
        "茶*",
        "(",
        "AND",
        "^茶",
        "title:茶",
        "'; DROP TABLE articles; --",
    ]:
        store.search(hostile)  # never an FTS syntax error
    # punctuation separates words as it does in the index: the star is no operator
    assert hit_ids(store, "茶园*") == [s1]
    assert hit_ids(store, "茶*") == [s1]
    assert hit_ids(store, "园茶") == []
    assert hit_ids(store, "   ") == []
    assert count(store, "articles") == 1


def test_search_filters(store: Store, corpus: dict[str, int]) -> None:
    assert hit_ids(store, "老", source="qq") == sorted(
        [corpus["bus"], corpus["tea"]], key=hit_ids(store, "老", source="qq").index
    )
    assert hit_ids(store, "老", source="wechat") == [corpus["library"]]
    assert hit_ids(store, "老", account="农业观察") == [corpus["tea"]]
    assert set(hit_ids(store, "老", since=date(2025, 3, 5))) == {corpus["library"], corpus["tea"]}
    assert set(hit_ids(store, "老", until=date(2025, 3, 5))) == {corpus["bus"], corpus["library"]}
    assert hit_ids(store, "老", since=date(2025, 3, 2), until=date(2025, 3, 9)) == [corpus["library"]]
    # library is published 2025-03-05 20:00 Shanghai = 12:00 UTC
    assert hit_ids(store, "图书馆", until=datetime(2025, 3, 5, 11, 59, tzinfo=UTC)) == []
    assert hit_ids(store, "图书馆", until=datetime(2025, 3, 5, 12, 0, tzinfo=UTC)) == [corpus["library"]]
    assert hit_ids(store, "图书馆 老", source="qq") == []
    assert len(hit_ids(store, "老", limit=2)) == 2


@pytest.mark.parametrize(
    ("word", "knob"), [("新线路", "CANDIDATES"), ("线路", "SHORT_CANDIDATES"), ("线", "SHORT_CANDIDATES")]
)
def test_a_very_common_word_ranks_only_the_newest_matches_after_filtering(
    store: Store, monkeypatch: pytest.MonkeyPatch, word: str, knob: str
) -> None:
    ids = [store.save_article(qq(f"20250301A00{n:05d}", BUS, title=f"第{n}篇", day=1 + n)).id for n in range(5)]
    older = store.save_article(wechat("9001", BUS.replace("公共交通集团", "公交公司"), account="城东日报")).id
    newest = ids[-2:]
    monkeypatch.setattr("storage.search." + knob, 2)
    # the six copies are one story (linked as duplicates); unlink them to see the cut itself
    store.db.execute("UPDATE articles SET duplicate_of = NULL")
    assert set(hit_ids(store, word)) == {older, ids[-1]}  # rowid order: the two stored last
    assert set(hit_ids(store, word, source="qq")) == set(newest)  # the filter applies before the cut
    assert hit_ids(store, word, account="城东日报") == [older]
    monkeypatch.setattr("storage.search." + knob, 5000)
    assert set(hit_ids(store, word)) == {*ids, older}


def test_list_articles_newest_first_with_filters(store: Store, corpus: dict[str, int]) -> None:
    undated = store.save_article(
        Article(url="https://example.org/a", source="web", kind="article", title="无日期", body="短文")
    ).id
    assert [a.id for a in store.list_articles()] == [corpus["tea"], corpus["library"], corpus["bus"], undated]
    assert [a.id for a in store.list_articles(source="qq")] == [corpus["tea"], corpus["bus"]]
    assert [a.id for a in store.list_articles(account="文化周刊")] == [corpus["library"]]
    assert [a.id for a in store.list_articles(since=datetime(2025, 3, 5, 20, 0, tzinfo=SHANGHAI))] == [
        corpus["tea"],
        corpus["library"],
    ]
    assert [a.id for a in store.list_articles(limit=1)] == [corpus["tea"]]


# -- duplicates --------------------------------------------------------------------------------------


def as_wechat_markdown(text: str) -> str:
    """The same story as a WeChat page renders it: other markup, images, full-width punctuation."""
    paras = text.split("\n\n")
    out = [f"**{paras[0]}**"]
    for n, p in enumerate(paras[1:]):
        out.append(f"![](https://mmbiz.qpic.cn/mmbiz_jpg/{n}/640?wx_fmt=jpeg)")
        out.append(p.replace("，", ", ").replace("。", ". "))
    return "\n\n".join(out)


def test_same_story_on_qq_and_wechat_is_linked_exactly(store: Store) -> None:
    original = store.save_article(qq("20250301A0000100", BUS, title="城东新区开通电动公交"))
    copy = store.save_article(wechat("2650", as_wechat_markdown(BUS), title="重磅！城东新区开通电动公交"))
    assert copy.duplicate_of == original.id and original.duplicate_of is None
    assert store.get_article(copy.id).content_hash == store.get_article(original.id).content_hash
    assert [a.id for a in store.copies_of(original.id)] == [copy.id]
    assert [a.id for a in store.copies_of(copy.id)] == [original.id]
    # shown once: the original
    assert hit_ids(store, "柴油车") == [original.id]
    assert hit_ids(store, "柴油") == [original.id]
    assert [a.id for a in store.list_articles()] == [original.id]
    assert {a.id for a in store.list_articles(include_duplicates=True)} == {original.id, copy.id}
    # filtered to WeChat only, the copy is what there is to show
    assert hit_ids(store, "柴油车", source="wechat") == [copy.id]
    assert [a.id for a in store.list_articles(source="wechat")] == [copy.id]
    assert store.stats().duplicates == 1


def test_lightly_edited_reprint_is_linked_to_the_earliest(store: Store) -> None:
    original = store.save_article(qq("20250301A0000100", BUS))
    other = store.save_article(qq("20250301A0000200", TEA))
    reprint_text = (
        "来源：城市晚报\n\n"
        + BUS.replace("一万两千", "一万三千").replace("一百多辆", "一百余辆").replace("昨日", "近日")
        + "\n\n（责任编辑：王敏）"
    )
    a, b = story_text(BUS), story_text(reprint_text)
    assert a != b
    assert hamming(simhash(a), simhash(b)) <= MAX_DISTANCE
    reprint = store.save_article(wechat("2650", reprint_text))
    assert reprint.duplicate_of == original.id
    second = store.save_article(wechat("2651", reprint_text + "\n\n欢迎转发"))
    assert second.duplicate_of == original.id  # the earliest, not the reprint it resembles most
    assert {x.id for x in store.copies_of(original.id)} == {reprint.id, second.id}
    assert store.get_article(other.id).duplicate_of is None
    assert store.copies_of(other.id) == []


def test_a_story_copied_past_the_band_scan_still_links_every_copy_to_the_earliest(store: Store) -> None:
    from storage.duplicates import BAND_SCAN

    # each copy differs from the story by a number or two: all of them within MAX_DISTANCE of each other,
    # so every band of the story fills with more than BAND_SCAN copies
    copies = [
        store.save_article(wechat(str(3000 + n), BUS.replace("一万两千", f"{n}万").replace("昨日", f"{n}日")))
        for n in range(BAND_SCAN + 16)
    ]
    first = copies[0]
    assert first.duplicate_of is None
    assert {c.duplicate_of for c in copies[1:]} == {first.id}
    late = store.save_article(qq("20250301A0000900", BUS + "\n\n（完）"))
    assert late.duplicate_of == first.id
    assert len(store.copies_of(first.id)) == BAND_SCAN + 16


def test_unrelated_articles_are_not_linked(store: Store, corpus: dict[str, int]) -> None:
    for article_id in corpus.values():
        assert store.get_article(article_id).duplicate_of is None
        assert store.copies_of(article_id) == []
    fps = [simhash(story_text(t)) for t in (BUS, LIBRARY, TEA)]
    assert min(hamming(x, y) for i, x in enumerate(fps) for y in fps[i + 1 :]) > MAX_DISTANCE


def test_short_bodies_are_never_duplicates(store: Store) -> None:
    short = "图集：春天来了"
    assert len(story_text(short)) < MIN_TEXT
    a = store.save_article(qq("20250301A0000100", short))
    b = store.save_article(wechat("2650", short))
    assert a.duplicate_of is None and b.duplicate_of is None
    assert count(store, "article_bands") == 0


def test_update_that_diverges_unlinks(store: Store) -> None:
    original = store.save_article(qq("20250301A0000100", BUS))
    copy = store.save_article(wechat("2650", BUS))
    assert copy.duplicate_of == original.id
    rewritten = store.save_article(wechat("2650", TEA))
    assert rewritten.outcome == "updated" and rewritten.duplicate_of is None
    assert store.copies_of(original.id) == []


def test_candidates_come_from_bands_not_a_scan(store: Store) -> None:
    for n, text in enumerate((BUS, LIBRARY, TEA)):
        store.save_article(qq(f"20250301A{n:05d}00", text))
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    saved = store.save_article(wechat("2650", BUS + "\n\n（完）"))
    store.db.conn.set_trace_callback(None)
    assert saved.duplicate_of == 1
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert any("article_bands" in s for s in selects)
    for sql in selects:
        plan = " | ".join(str(tuple(r)) for r in store.db.conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "SCAN articles" not in plan and "SCAN article_bands" not in plan, (sql, plan)


# -- crash safety ------------------------------------------------------------------------------------

WRITER = """
import sys
from parsers.article import Article
from storage import Store
store = Store(sys.argv[1])
body = sys.argv[2]
n = 0
while True:
    with store.transaction():
        for _ in range(5):
            n += 1
            store.save_article(Article(url=f"https://example.org/{n}", source="web", kind="article",
                                       title=f"killtest {n}", body=f"第{n}篇。" + body * 3), aliases=[f"https://t.cn/{n}"])
    print(n, flush=True)
"""


def test_sigkill_mid_save_leaves_a_consistent_file(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    Store(path).close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), TEA], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        written = 0
        deadline = time.monotonic() + 60
        while written < 40 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            written = int(line)
        assert written >= 40, "the writer did not get going"
        time.sleep(0.05)  # land somewhere inside a later batch
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()

    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    con.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 0)")
    ids = [r[0] for r in con.execute("SELECT id FROM articles ORDER BY id")]
    assert len(ids) >= written and len(ids) % 5 == 0  # whole batches only
    assert ids == list(range(1, len(ids) + 1))
    assert [r[0] for r in con.execute("SELECT id FROM articles_fts_docsize ORDER BY id")] == ids
    con.execute("INSERT INTO articles_grams (articles_grams, rank) VALUES ('integrity-check', 0)")
    con.execute("CREATE VIRTUAL TABLE temp.fts_vocab USING fts5vocab(main, articles_fts, 'row')")
    con.execute("CREATE VIRTUAL TABLE temp.grams_vocab USING fts5vocab(main, articles_grams, 'row')")
    # every article's title carries the word "killtest": its trigram 'kil' and its bigram 'ki' are in
    # exactly that many rows of each table
    assert con.execute("SELECT doc FROM fts_vocab WHERE term = 'kil'").fetchone()[0] == len(ids)
    assert con.execute("SELECT doc FROM grams_vocab WHERE term = 'ki'").fetchone()[0] == len(ids)
    assert con.execute("SELECT count(DISTINCT article_id) FROM article_urls").fetchone()[0] == len(ids)
    assert con.execute("SELECT count(*) FROM article_bands").fetchone()[0] == len(ids) * len(band_keys(0))
    con.close()
    with Store(path) as s:
        assert len(s.list_articles(include_duplicates=True)) == len(ids)
        # the same body every time: all of them are copies of the first
        assert [h.article.id for h in s.search("killtest")] == [1]
        assert len(s.copies_of(1)) == len(ids) - 1


def test_migration_scripts_run_inside_the_callers_transaction() -> None:
    from storage.schema import run_script

    db = sqlite_utils.Database(sqlite3.connect(":memory:", isolation_level=None))
    db.execute("BEGIN")
    run_script(db, "CREATE TABLE a (x TEXT);\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\nEND;\n")
    assert db.conn.in_transaction and {"a"} == set(db.table_names())
    db.execute("ROLLBACK")  # nothing was committed behind the caller's back
    assert db.table_names() == []
    with pytest.raises(ValueError, match="incomplete SQL statement"):
        run_script(db, "CREATE TABLE b (x TEXT)")
