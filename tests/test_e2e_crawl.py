"""End to end: the installed ``jianbao crawl`` against every source kind served on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.conftest import Env
from tests.localserver import Recorded, Reply
from tests.pages import BIZ, qq_id, qq_page, wechat_ids, wechat_long_url, wechat_page

WX = "mp.weixin.qq.com"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
QQ = "news.qq.com"

SOURCES = """
[[sources]]
name = "feed"
kind = "feed"
url = "https://feeds.example.com/wx.xml"

[[sources]]
name = "album"
kind = "wechat-album"
url = "https://mp.weixin.qq.com/mp/appmsgalbum?__biz={biz}&action=getalbum&album_id=42#wechat_redirect"

[[sources]]
name = "tech"
kind = "qq-channel"
channel = "news_news_tech"

[[sources]]
name = "hot"
kind = "qq-hot"

[[sources]]
name = "sitemap"
kind = "sitemap"
url = "https://news.qq.com/sitemap/index.xml"

[[sources]]
name = "backlog"
kind = "urls"
path = "urls.txt"
""".replace("{biz}", BIZ)


def _rss(urls: list[str]) -> Reply:
    items = "".join(f"<item><title>第{i}篇</title><link>{u}</link></item>" for i, u in enumerate(urls))
    xml = f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>wx</title>{items}</channel></rss>'
    return Reply(200, xml.encode(), {"Content-Type": "application/rss+xml; charset=utf-8"})


def _album_html(ns: list[int]) -> str:
    items = "".join(
        f'<li class="album__list-item js_album_item" data-msgid="{wechat_ids(n)["mid"]}" data-itemidx="1" '
        f'data-link="{wechat_long_url(n, scheme="http").replace("&", "&amp;")}" data-title="第{n}篇">'
        f'<span class="js_article_create_time">{1717200000 - n}</span></li>'
        for n in ns
    )
    return (
        f'<html><body><div class="album js_album_container"><ul class="album__list js_album_list">{items}</ul></div>'
        f"<script>var PAGE_MID='mmbizwap:pages/album.html'; var biz = '{BIZ}'; var album_id = '42';</script>"
        "</body></html>"
    )


def _album_json(ns: list[int]) -> dict[str, object]:
    return {
        "base_resp": {"ret": 0},
        "getalbum_resp": {
            "article_list": [
                {
                    "url": wechat_long_url(n, scheme="http"),
                    "title": f"第{n}篇",
                    "create_time": str(1717200000 - n),
                    "msgid": wechat_ids(n)["mid"],
                    "itemidx": "1",
                }
                for n in ns
            ],
            "continue_flag": "0",
        },
    }


def _wechat_by_query(request: Recorded) -> Reply:
    """Any long WeChat link: the page whose ids the query names."""
    query = parse_qs(urlsplit(request.path).query)
    n = int(query["mid"][0]) - 2650000000
    return Reply.html(wechat_page(n))


def _qq_feed(items: list[int]) -> list[dict[str, object]]:
    return [
        {"id": qq_id(n), "title": f"腾讯新闻第{n}条", "articletype": "0", "publish_time": "2025-02-07 18:39:14",
         "link_info": {"url": f"https://news.qq.com/rain/a/{qq_id(n)}"}}
        for n in items
    ]  # fmt: skip


def serve_all_sources(env: Env) -> None:
    s = env.server
    s.route("feeds.example.com", "/wx.xml", _rss([f"https://{WX}/s/feed1", f"https://{WX}/s/feed2"]))
    s.route(WX, "/s/feed1", Reply.html(wechat_page(1)))
    s.route(WX, "/s/feed2", Reply.html(wechat_page(2)))
    s.route(WX, "/s", _wechat_by_query)

    def album(request: Recorded) -> Reply:
        if "f=json" in request.path:
            return Reply.json(_album_json([5]))
        return Reply.html(_album_html([3, 4]))

    s.route(WX, "/mp/appmsgalbum", album)

    def channel(request: Recorded) -> Reply:
        body = request.json()
        data = _qq_feed([1, 2]) if body.get("flush_num") in (1, "1", None) else []
        return Reply.json({"code": 0, "msg": "success", "data": data})

    s.route("i.news.qq.com", "/web_feed/getPCList", channel)
    hot = [{"id": "TIP1", "articletype": "560", "title": "header"}] + [
        {"id": qq_id(n), "articletype": "0", "title": f"热点{n}", "url": f"https://view.inews.qq.com/a/{qq_id(n)}"}
        for n in (2, 3)
    ]
    s.route("r.inews.qq.com", "/gw/event/hot_ranking_list", Reply.json({"ret": 0, "idlist": [{"newslist": hot}]}))
    index = (
        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>https://news.qq.com/sitemap/a.xml</loc></sitemap></sitemapindex>"
    )
    urlset = (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>https://news.qq.com/rain/a/{qq_id(n)}</loc></url>" for n in (3, 4))
        + "</urlset>"
    )
    s.route(QQ, "/sitemap/index.xml", Reply(200, index.encode(), {"Content-Type": "application/xml"}))
    s.route(QQ, "/sitemap/a.xml", Reply(200, urlset.encode(), {"Content-Type": "application/xml"}))
    for n in range(1, 6):
        s.route(QQ, f"/rain/a/{qq_id(n)}", Reply.html(qq_page(n)))
    (env.path / "urls.txt").write_text(
        f"# backlog\n{wechat_long_url(6)}\n\nhttps://new.qq.com/rain/a/{qq_id(5)}?from=share\n", encoding="utf-8"
    )


def article_fetches(env: Env) -> int:
    wx = [r for r in env.server.requests_to(WX) if r.path.startswith("/s")]
    qq = [r for r in env.server.requests_to(QQ) if r.path.startswith("/rain/a/")]
    return len(wx) + len(qq)


def test_crawl_every_source_kind_then_a_second_run_fetches_no_article(env: Env) -> None:
    serve_all_sources(env)
    env.write_config(sources=SOURCES)
    first = env.run("crawl")
    assert first.code == 0, first.out + first.err
    assert first.out.strip() == "" and first.err.strip() == ""  # quiet for cron when all is well
    rows = dict(env.sql("select source, count(*) from articles group by source"))
    assert rows == {"wechat": 6, "qq": 5}
    # hot and sitemap repeat channel items: each article fetched once in the run
    assert article_fetches(env) == 11
    assert len(env.server.requests_to("i.news.qq.com")) >= 1
    post = env.server.requests_to("i.news.qq.com")[0]
    assert post.method == "POST" and post.json()["channel_id"] == "news_news_tech"

    before = article_fetches(env)
    second = env.run("crawl", "-v")
    assert second.code == 0, second.out + second.err
    assert article_fetches(env) == before  # idempotent: nothing fetched again
    assert "0 stored" in second.out + second.err
    assert env.count("articles") == 11
    stats = env.run("stats", "--json")
    assert stats.code == 0, stats.err
    assert "backlog" in stats.out and "wechat" in stats.out


def test_named_sources_only(env: Env) -> None:
    serve_all_sources(env)
    env.write_config(sources=SOURCES)
    result = env.run("crawl", "hot")
    assert result.code == 0, result.out + result.err
    assert env.count("articles") == 2
    assert env.server.requests_to("feeds.example.com") == []
    unknown = env.run("crawl", "nope")
    assert unknown.code == 2 and "nope" in unknown.err


def test_a_failing_source_does_not_stop_the_others(env: Env) -> None:
    serve_all_sources(env)
    env.server.route("feeds.example.com", "/wx.xml", Reply(404, b"gone"))
    env.write_config(sources=SOURCES)
    result = env.run("crawl")
    assert result.code == 1
    assert "feed" in result.err and "failed" in result.err
    assert env.count("articles") == 9  # all but the feed's two


def test_a_host_sending_verification_pages_is_paused_and_others_go_on(env: Env) -> None:
    serve_all_sources(env)
    env.server.route(WX, "/s/feed1", Reply.verification())
    parts = SOURCES.split("\n[[sources]]")
    feed_and_hot = "".join("\n[[sources]]" + p for p in parts if 'name = "feed"' in p or 'name = "hot"' in p)
    env.write_config(sources=feed_and_hot)
    result = env.run("crawl")
    text = result.out + result.err
    assert "paused" in text and WX in text, text
    assert dict(env.sql("select source, count(*) from articles group by source")) == {"qq": 2}
    # after the verification page no further WeChat article was requested in that run
    assert len([r for r in env.server.requests_to(WX) if r.path.startswith("/s")]) == 1


def test_second_crawl_exits_75_while_the_first_holds_the_lock(env: Env) -> None:
    env.server.route("feeds.example.com", "/slow.xml", Reply.stalled(6))
    env.write_config(
        sources='[[sources]]\nname = "slow"\nkind = "feed"\nurl = "https://feeds.example.com/slow.xml"\n', timeout=10
    )
    first = env.popen("crawl")
    try:
        deadline = time.monotonic() + 20
        while not env.server.requests_to("feeds.example.com") and time.monotonic() < deadline:
            time.sleep(0.05)
        start = time.monotonic()
        second = env.run("crawl")
        took = time.monotonic() - start
        assert second.code == 75, second.out + second.err
        assert str(first.pid) in second.err
        assert took < 10
    finally:
        first.kill()
        first.wait(timeout=10)
    # a lock left by a dead process is taken over
    (env.path / "jianbao.db.lock").write_text("999999\n")
    serve_all_sources(env)
    env.write_config(sources=SOURCES)
    assert env.run("crawl", "hot").code == 0


def test_sigterm_stops_after_the_current_article_and_the_next_run_resumes(env: Env) -> None:
    n_articles = 20
    for n in range(n_articles):
        env.server.route(WX, f"/s/t{n}", Reply.html(wechat_page(200 + n)))
    (env.path / "urls.txt").write_text("\n".join(f"https://{WX}/s/t{n}" for n in range(n_articles)))
    env.write_config(sources='[[sources]]\nname = "backlog"\nkind = "urls"\npath = "urls.txt"\n', wechat=0.3)
    proc = env.popen("crawl")
    deadline = time.monotonic() + 30
    while env.count_safe("articles") < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    stored = env.count("articles")
    assert 3 <= stored < n_articles
    assert proc.returncode == 1 and "stopped" in err
    assert env.sql("pragma integrity_check") == [("ok",)]
    env.write_config(sources='[[sources]]\nname = "backlog"\nkind = "urls"\npath = "urls.txt"\n', wechat=0)
    result = env.run("crawl")
    assert result.code == 0, result.out + result.err
    assert env.count("articles") == n_articles
    # resumed, not restarted: each article page was fetched once in all
    assert len([r for r in env.server.requests_to(WX) if r.path.startswith("/s/t")]) == n_articles


def test_stats_reports_sources_and_failures(env: Env) -> None:
    serve_all_sources(env)
    env.server.route(QQ, f"/rain/a/{qq_id(4)}", Reply(404, b"gone"))
    env.write_config(sources=SOURCES)
    assert env.run("crawl").code == 1
    result = env.run("stats", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    text = json.dumps(data, ensure_ascii=False)
    assert "sitemap" in text and "404" in text


def test_dry_run_lists_new_urls_and_max_spreads_a_backlog_over_runs(env: Env) -> None:
    serve_all_sources(env)
    env.write_config(sources=SOURCES)
    dry = env.run("crawl", "--dry-run", "album", "backlog")
    assert dry.code == 0, dry.out + dry.err
    listed = [ln for ln in dry.lines if ln.startswith("[")]
    assert len(listed) == 5, dry.out  # album 3 (page and JSON continuation) + backlog 2
    assert any(ln.startswith("[album] 2024-06-01") and "第3篇" in ln for ln in listed), dry.out
    assert "5 new (dry run" in dry.out + dry.err
    assert article_fetches(env) == 0
    assert env.count_safe("articles") == 0 and env.count_safe("crawls") == 0

    capped = env.run("crawl", "--max", "1", "album", "backlog", "-v")
    assert capped.code == 0, capped.out + capped.err
    assert env.count("articles") == 2 and article_fetches(env) == 2
    assert "limit reached in album, backlog" in capped.out + capped.err
    rest = env.run("crawl", "album", "backlog")
    assert rest.code == 0, rest.out + rest.err
    assert env.count("articles") == 5 and article_fetches(env) == 5  # nothing fetched twice
    assert env.run("crawl", "--max", "0").code == 2


FEED_SOURCE = '[[sources]]\nname = "wewe"\nkind = "feed"\nurl = "https://wewe.example.org/feeds/MP_WXS_1.rss"\n'
LONG_FEED_URL = (
    "https://mp.weixin.qq.com/s?__biz=MzA4NjU0NjUxNg==&mid=2650000042&idx=1&sn=0123456789abcdef0123456789abcdef"
)


def _wewe_feed() -> Reply:
    """fixtures/sources/wewe-rss-full.xml (a full entry, an untitled full one, one whose text is all
    hidden) plus a teaser and an entry nested past the parse budget."""
    text = (FIXTURES / "wewe-rss-full.xml").read_text(encoding="utf-8")
    para = "<p>" + "北京时间昨日，港口吞吐量创新高，业内人士表示物流成本将进一步下降。" * 3 + "</p>"
    more = (
        f"<item><title>摘要条目</title><link>https://{WX}/s/teaser</link>"
        f"<content:encoded><![CDATA[{para * 2}<p>阅读全文</p>]]></content:encoded></item>"
        f"<item><title>太深的条目</title><link>https://{WX}/s/deep</link>"
        f"<content:encoded><![CDATA[{'<div>' * 1100}{para * 4}]]></content:encoded></item>"
    )
    xml = text.replace("</channel>", more + "</channel>")
    return Reply(200, xml.encode(), {"Content-Type": "application/rss+xml; charset=utf-8"})


def test_a_feed_with_use_content_stores_full_entries_without_fetching_their_pages(env: Env) -> None:
    env.server.route("wewe.example.org", "/feeds/MP_WXS_1.rss", _wewe_feed())
    env.server.route(WX, "/s/teaser", Reply.html(wechat_page(7)))
    env.server.route(WX, "/s/hidden", Reply.html(wechat_page(8)))
    env.write_config(sources=FEED_SOURCE + "use_content = true\n")
    result = env.run("crawl")
    text = result.out + result.err
    assert result.code == 1, text  # the entry past the budget failed, alone
    assert f"[wewe] failed: https://{WX}/s/deep: feed entry: too-complex" in result.err
    assert "4 stored, 0 updated, 0 unchanged, 0 not article, 0 blocked, 1 failed" in text
    # only the teaser and the entry whose text was all hidden sent the crawl to WeChat
    assert sorted(r.path for r in env.server.requests_to(WX)) == ["/s/hidden", "/s/teaser"]
    rows = env.sql("select url, title, account, images, body from articles order by id")
    by_url = {r[0]: r for r in rows}
    assert set(by_url) == {
        LONG_FEED_URL,
        f"https://{WX}/s/untitled",
        wechat_long_url(7).split("&chksm")[0],
        wechat_long_url(8).split("&chksm")[0],
    }
    full = by_url[LONG_FEED_URL]
    assert full[1] == "三季度港口吞吐量创新高" and full[2] == "港口观察"
    assert json.loads(str(full[3])) == [
        "https://mmbiz.qpic.cn/mmbiz_jpg/abc/640?wx_fmt=jpeg&from=appmsg",
        "https://mmbiz.qpic.cn/mmbiz_png/def/640?wx_fmt=png",
    ]
    assert not any("data:" in str(r[4]) for r in rows)
    found = env.run("search", "集装箱航线")
    assert found.code == 0 and "三季度港口吞吐量创新高" in found.out, found.out + found.err
    # archived as the feed gave it: the feed named, the entry's HTML kept
    headers = json.loads(str(env.sql("select headers from pages where url = ?", (LONG_FEED_URL,))[0][0]))
    assert headers["x-jianbao-feed"] == "https://wewe.example.org/feeds/MP_WXS_1.rss"

    before = env.sql("select * from articles order by id")
    again = env.run("reparse")
    assert again.code == 0, again.out + again.err
    assert "0 changed, 4 unchanged" in again.out, again.out
    assert env.sql("select * from articles order by id") == before
