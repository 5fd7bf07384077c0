"""End to end: the installed ``jianbao import`` against a real server on 127.0.0.1 and a real SQLite file.

The article URLs are the real hosts' (https://mp.weixin.qq.com/…); HTTPS_PROXY and SSL_CERT_FILE send
them to the local server, which terminates TLS with a throwaway CA, exactly as a user behind a proxy.
"""

from __future__ import annotations

import itertools
import json
import signal
import time

from tests.conftest import FIXTURES, Env
from tests.localserver import Reply
from tests.pages import BIZ, as_bytes, qq_id, qq_page, wechat_ids, wechat_long_url, wechat_page

WX = "mp.weixin.qq.com"
QQ = "news.qq.com"


def _serve_wechat(env: Env, n: int, *replies: Reply) -> str:
    path = f"/s/short{n}"
    env.server.route(WX, path, list(replies) or [Reply.html(wechat_page(n))])
    return f"https://{WX}{path}"


def test_import_urls_files_and_clippings_then_reimport_is_unchanged(env: Env) -> None:
    wx = _serve_wechat(env, 1)
    env.server.route(QQ, f"/rain/a/{qq_id(1)}", Reply.html(qq_page(1)))
    saved = env.path / "saved.html"
    saved.write_bytes(as_bytes(wechat_page(2)))
    clip = env.path / "clip.md"
    clip.write_text(
        '---\ntitle: "剪报测试"\ndate: "2025-02-07 18:39:14"\n---\n正文一段。\n\n'
        "![图片](data:image/svg+xml,%3Csvg width='1px' height='1px'%3E%3C/svg%3E)\n\n"
        "![图片](https://inews.gtimg.com/om_bt/real/641)\n\n[qq](https://new.qq.com/rain/a/20250207A07NZC00)\n",
        encoding="utf-8",
    )

    # the installed console script, in a process of its own: what a user runs
    first = env.run(
        "import", wx, f"https://new.qq.com/rain/a/{qq_id(1)}?from=share", str(saved), str(clip), process=True
    )
    assert first.code == 0, first.out + first.err
    assert len(first.lines) == 4 and all(ln.startswith("stored:") for ln in first.lines), first.out
    assert env.count("articles") == 4
    rows = dict(env.sql("select source, count(*) from articles group by source"))
    assert rows == {"wechat": 2, "qq": 2}
    # the WeChat article is keyed by the page's own ids, not the short link it was fetched by
    (url,) = env.sql("select url from articles where title = ?", ("第1篇：测试文章标题",))[0]
    assert url == f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={wechat_ids(1)['mid']}&idx=1&sn={wechat_ids(1)['sn']}"
    # no placeholder survives anywhere in the store
    assert env.sql("select count(*) from articles where body like '%data:%' or images like '%data:%'") == [(0,)]
    (images,) = env.sql("select images from articles where title = ?", ("剪报测试",))[0]
    assert json.loads(str(images)) == ["https://inews.gtimg.com/om_bt/real/641"]
    # the fetch was a browser-like request that went through the proxy
    (req,) = env.server.requests_to(WX, "/s/short1")
    assert req.proxied and req.scheme == "https" and "Mozilla/5.0" in req.headers["user-agent"]

    before = env.sql("select id, content_hash, updated, first_seen, last_seen from articles order by id")
    time.sleep(0.01)
    again = env.run("import", wx, f"https://view.inews.qq.com/a/{qq_id(1)}", str(saved), str(clip))
    assert again.code == 0, again.out + again.err
    assert all(ln.startswith("unchanged:") for ln in again.lines), again.out
    after = env.sql("select id, content_hash, updated, first_seen, last_seen from articles order by id")
    assert [r[:4] for r in after] == [r[:4] for r in before]
    assert all(str(a[4]) > str(b[4]) for a, b in zip(after, before, strict=True))  # only last_seen moved


def test_short_and_long_links_are_one_row_and_a_changed_page_updates(env: Env) -> None:
    short = _serve_wechat(env, 5)
    env.server.route(WX, "/s", Reply.html(wechat_page(5, paragraphs=["改过的正文，内容已经更新。"])))
    assert env.run("import", short).code == 0
    result = env.run("import", wechat_long_url(5).replace("&", "&amp;"))  # a link pasted with &amp;
    assert result.code == 0, result.out + result.err
    assert result.lines[0].startswith("updated:"), result.out
    assert env.count("articles") == 1
    body, prev, cur = env.sql("select body, previous_hash, content_hash from articles")[0]
    assert "改过的正文" in str(body) and prev and prev != cur


def test_transient_faults_are_retried_and_permanent_ones_are_not(env: Env) -> None:
    env.write_config(timeout=0.5)  # the stall below costs one read timeout
    page = Reply.html(wechat_page(10))
    u503 = _serve_wechat(env, 10, Reply(503), Reply(503), page)
    u429 = _serve_wechat(env, 11, Reply.retry_after(1), Reply.html(wechat_page(11)))
    reset = _serve_wechat(env, 12, Reply.reset(), Reply.html(wechat_page(12)))
    trunc = _serve_wechat(env, 13, Reply.truncated(as_bytes(wechat_page(13)), sent=200), Reply.html(wechat_page(13)))
    stall = _serve_wechat(env, 14, Reply.stalled(4), Reply.html(wechat_page(14)))
    gone = _serve_wechat(env, 15, Reply(404, b"not found"))
    r567 = f"https://{QQ}/rain/a/{qq_id(16)}"
    env.server.route(QQ, f"/rain/a/{qq_id(16)}", [Reply(567), Reply.html(qq_page(16))])

    result = env.run("import", u503, u429, reset, trunc, stall, gone, r567)
    assert result.code == 1, result.out + result.err  # the 404 is not stored
    lines = {ln.split(": ")[1].split(" ")[0]: ln for ln in result.lines}
    for url in (u503, u429, reset, trunc, stall, r567):
        assert lines[url].startswith("stored:"), result.out
    assert lines[gone].startswith("failed:") and "404" in lines[gone]
    assert len(env.server.requests_to(WX, "/s/short10")) == 3
    assert len(env.server.requests_to(WX, "/s/short15")) == 1  # permanent: asked once
    assert len(env.server.requests_to(QQ, f"/rain/a/{qq_id(16)}")) == 2
    first, second = env.server.requests_to(WX, "/s/short11")
    assert second.at - first.at >= 0.9  # Retry-After: 1 honoured
    assert env.count("articles") == 6
    failed = env.sql("select outcome, status from fetches where url like ?", ("%short15",))
    assert ("failed", 404) in failed
    # and `show` tells why the URL is missing
    shown = env.run("show", gone)
    assert shown.code == 1 and "Traceback" not in shown.err
    assert f"{gone}: no such article; last fetch " in shown.err and "failed" in shown.err and "404" in shown.err
    never = env.run("show", "https://mp.weixin.qq.com/s/never")
    assert never.code == 1 and "never fetched" in never.err


def test_verification_page_is_never_stored_and_the_host_cools_down(env: Env) -> None:
    blocked = _serve_wechat(env, 20, Reply.verification())
    later = _serve_wechat(env, 21)
    env.server.route(QQ, f"/rain/a/{qq_id(22)}", Reply.html(qq_page(22)))
    result = env.run("import", blocked, f"https://{QQ}/rain/a/{qq_id(22)}")
    assert result.code == 1
    assert any(ln.startswith("blocked:") and blocked in ln for ln in result.lines), result.out
    assert env.count("articles") == 1  # qq.com went on
    assert env.sql("select count(*) from pages where url like '%short20%'") == [(0,)]
    # the next run leaves the cooling host alone: no request at all for WeChat
    result = env.run("import", later)
    assert result.code == 1 and result.lines[0].startswith("blocked:"), result.out
    assert env.server.requests_to(WX, "/s/short21") == []


def test_politeness_spaces_requests_to_one_host(env: Env) -> None:
    env.write_config(wechat=0.5, qq=0)
    urls = [_serve_wechat(env, n) for n in (30, 31, 32)]
    for n in (33, 34):
        env.server.route(QQ, f"/rain/a/{qq_id(n)}", Reply.html(qq_page(n)))
    result = env.run("import", *urls, f"https://{QQ}/rain/a/{qq_id(33)}", f"https://{QQ}/rain/a/{qq_id(34)}")
    assert result.code == 0, result.out + result.err
    times = sorted(r.at for r in env.server.requests_to(WX))
    assert len(times) == 3 and all(b - a >= 0.45 for a, b in itertools.pairwise(times))
    # qq.com did not queue behind WeChat's interval
    qq_times = sorted(r.at for r in env.server.requests_to(QQ))
    assert qq_times[-1] < times[-1]


def test_bad_inputs_get_one_line_and_leave_the_database_as_it_was(env: Env) -> None:
    assert env.run("import", _serve_wechat(env, 40)).code == 0
    snapshot = env.sql("select * from articles")
    binary = env.path / "photo.html"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    empty = env.path / "empty.html"
    empty.write_bytes(b"")
    cases = {
        "ftp://example.com/a": "not an http(s) URL",
        "javascript:alert(1)": "not an http(s) URL",
        str(env.path / "missing.html"): "no such file",
        str(binary): "binary",
        str(empty): "empty",
    }
    for item, words in cases.items():
        result = env.run("import", item)
        assert result.code == 1, (item, result.out, result.err)
        assert len(result.lines) == 1 and words in result.lines[0], (item, result.out)
        assert "Traceback" not in result.err
    big = _serve_wechat(env, 41, Reply.html(wechat_page(41) + "<!--" + "x" * 300_000 + "-->"))
    env.write_config(extra_http="max_bytes = 100000")
    result = env.run("import", big)
    assert result.code == 1 and "over max_bytes 100000" in result.out + result.err, result.out + result.err
    assert env.sql("select * from articles") == snapshot


def test_config_typo_and_usage_errors_exit_2_with_one_line(env: Env) -> None:
    (env.path / "config.toml").write_text("[http]\ntimout = 3\n", encoding="utf-8")
    result = env.run("import", "https://mp.weixin.qq.com/s/x", process=True)
    assert result.code == 2
    assert "http.timout" in result.err and "Traceback" not in result.err
    assert not env.db.exists()
    env.write_config()
    assert env.run("import", process=True).code == 2


def test_saved_page_origin_comes_from_the_page_or_url_option(env: Env) -> None:
    page = (FIXTURES / "wechat" / "normal-2022-raw.html").read_bytes()
    saved = env.path / "a.html"
    saved.write_bytes(page)
    result = env.run("import", str(saved))
    assert result.code == 0, result.out + result.err
    (source,) = env.sql("select source from articles")[0]
    assert source == "wechat"
    anon = env.path / "anon.html"
    anon.write_bytes(as_bytes(qq_page(50)).replace(b"article_id", b"articleid"))
    result = env.run("import", str(anon))
    assert result.code == 1 and "--url" in result.out
    result = env.run("import", str(anon), "--url", f"https://new.qq.com/rain/a/{qq_id(50)}")
    assert result.code == 0, result.out + result.err


def test_sigkill_mid_import_leaves_a_sound_database_and_the_next_run_completes(env: Env) -> None:
    n_pages = 40
    urls = []
    for n in range(n_pages):
        urls.append(_serve_wechat(env, 100 + n, Reply.html(wechat_page(100 + n, images=30))))
    listing = env.path / "urls.txt"
    listing.write_text("\n".join(urls), encoding="utf-8")
    env.write_config(wechat=0.02)  # slow enough for the kill to land mid-import
    proc = env.popen("import", "-f", str(listing))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and env.count_safe("articles") < 5:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    stored = env.count_safe("articles")
    assert 0 < stored < n_pages, "the kill should land mid-import"
    assert env.sql("pragma integrity_check") == [("ok",)]
    # every stored article is whole: each has its raw page, its fetch record and its search row
    whole = env.sql(
        "select a.id,"
        " exists (select 1 from pages p join article_urls u on u.url = p.url where u.article_id = a.id),"
        " exists (select 1 from fetches f where f.article_id = a.id and f.outcome = 'stored'),"
        " exists (select 1 from article_urls u where u.article_id = a.id)"
        " from articles a"
    )
    assert len(whole) == stored and all(row[1:] == (1, 1, 1) for row in whole), whole
    env.write_config(wechat=0)
    result = env.run("import", "-f", str(listing))
    assert result.code == 0, result.err
    assert env.count("articles") == n_pages
    assert sum(ln.startswith("unchanged:") for ln in result.lines) == stored
