"""No input stops a batch: each bad URL, page or unforeseen error is that input's one ``failed:`` line.

Every test drives the real command (in-process through click's runner) against the local server and a
real SQLite file. An unforeseen error is *injected* (a parser or the store raising RuntimeError for one
input) to show the isolation holds for bugs nobody has written yet: one line without ``-v``, the
traceback with it, the input's transaction rolled back, the failure in ``fetches``, the rest done.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

import ingest.pipeline
import ingest.reparse
from parsers.article import SHANGHAI, Article
from storage import Store
from tests.conftest import Env
from tests.localserver import Reply
from tests.pages import wechat_long_url, wechat_page

WX = "mp.weixin.qq.com"
QQ = "news.qq.com"


def _serve(env: Env, n: int, **kwargs: Any) -> str:
    env.server.route(WX, f"/s/iso{n}", Reply.html(wechat_page(n, **kwargs)))
    return f"https://{WX}/s/iso{n}"


def _lines_for(result_lines: list[str], needle: str) -> list[str]:
    return [ln for ln in result_lines if needle in ln]


def _failing_for(real: Callable[..., Article], marker: str) -> Callable[..., Article]:
    """``parse`` that raises RuntimeError for the page whose title contains ``marker``."""

    def parse(page: bytes | str, url: str, **kwargs: Any) -> Article:
        article = real(page, url, **kwargs)
        if marker in article.title:
            raise RuntimeError(f"injected failure for {marker}")
        return article

    return parse


# --- URLs that break URL parsers ------------------------------------------------------------------


def test_malformed_urls_are_one_line_each_recorded_and_the_batch_goes_on(env: Env) -> None:
    good = [_serve(env, n) for n in (1, 2, 3)]
    bad = [
        "http://[::1",
        "http://127.0.0.1:99999/x",
        "http://xn--/",
        "http://www.example.com/a\x00b",
        "http://www.exa\x7fmple.com/",
    ]
    listing = env.path / "urls.txt"
    listing.write_text("\n".join([good[0], *bad[:3], good[1], *bad[3:], good[2]]), encoding="utf-8")
    result = env.run("import", "-f", str(listing))
    assert result.code == 1, result.out + result.err
    assert "Traceback" not in result.out + result.err
    for url in good:
        (line,) = _lines_for(result.lines, url)
        assert line.startswith("stored:"), line
    failed = [ln for ln in result.lines if ln.startswith("failed:")]
    assert len(failed) == len(bad), result.out
    assert env.count("articles") == 3
    # each refusal is in the fetch log, as given
    logged = {str(u) for (u,) in env.sql("select url from fetches where outcome = 'failed'")}
    assert logged == set(bad)
    # the same URL as a command argument: one line, no traceback
    single = env.run("import", "http://[::1")
    assert single.code == 1 and single.lines == [f"failed: http://[::1: {failed[0].split(': ', 2)[2]}"]
    assert "Traceback" not in single.err


def test_an_ipv6_literal_url_keeps_its_brackets_and_is_fetched(env: Env) -> None:
    env.server.route("::1", "/v6", Reply.html(wechat_page(7)))
    result = env.run("import", "http://[::1]/v6")
    # the host answered (through the proxy): the URL survived normalisation with its brackets
    assert [r.path for r in env.server.requests_to("::1")] == ["/v6"], result.out + result.err
    assert "Traceback" not in result.err
    assert len(result.lines) == 1


def test_201_urls_with_one_bad_one_store_the_other_200(env: Env) -> None:
    urls = [_serve(env, 300 + n) for n in range(200)]
    urls.insert(99, "http://[::1")
    listing = env.path / "urls.txt"
    listing.write_text("\n".join(urls), encoding="utf-8")
    result = env.run("import", "-f", str(listing))
    assert result.code == 1
    assert sum(ln.startswith("stored:") for ln in result.lines) == 200, result.out[-2000:]
    assert _lines_for(result.lines, "http://[::1")[0].startswith("failed:")
    assert env.count("articles") == 200
    assert env.sql("pragma integrity_check") == [("ok",)]


def test_a_redirect_to_a_malformed_url_is_that_inputs_failure(env: Env) -> None:
    env.server.route(WX, "/s/jump", Reply.redirect("http://[::1"))
    good = _serve(env, 11)
    result = env.run("import", f"https://{WX}/s/jump", good)
    assert result.code == 1 and "Traceback" not in result.err
    (line,) = _lines_for(result.lines, "/s/jump")
    assert line.startswith("failed:") and "invalid URL" in line, line
    assert _lines_for(result.lines, good)[0].startswith("stored:")
    assert env.sql("select outcome from fetches where url like ?", ("%/s/jump",)) == [("failed",)]


def test_a_saved_page_with_a_malformed_og_url_is_one_line(env: Env) -> None:
    page = wechat_page(12).replace("http://mp.weixin.qq.com/s?__biz=", "http://[::1/s?__biz=", 1)
    saved = env.path / "saved.html"
    saved.write_text(page, encoding="utf-8")
    result = env.run("import", str(saved))
    assert "Traceback" not in result.err
    assert len(result.lines) == 1 and result.lines[0].split(":")[0] in ("stored", "failed"), result.out


# --- dates ----------------------------------------------------------------------------------------


def _dated(real: Callable[..., Article], dates: dict[str, datetime]) -> Callable[..., Article]:
    """``parse`` whose article gets the publish time ``dates`` names for a word of its title (whatever
    the parsers' own date rules are today, the import's rule is what is tested)."""

    def parse(page: bytes | str, url: str, **kwargs: Any) -> Article:
        article = real(page, url, **kwargs)
        for word, when in dates.items():
            if word in article.title:
                return dataclasses.replace(article, published=when)
        return article

    return parse


IMPLAUSIBLE = {
    "第21篇": datetime(1985, 6, 1, 12, tzinfo=SHANGHAI),  # before there were web pages to clip
    "第22篇": datetime(3000, 1, 1, tzinfo=SHANGHAI),
}


def test_an_implausible_publish_time_is_stored_as_no_date_with_a_warning(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest.pipeline, "parse", _dated(ingest.pipeline.parse, IMPLAUSIBLE))
    epoch, future, fine = (_serve(env, n) for n in (21, 22, 23))
    result = env.run("import", epoch, future, fine)
    assert result.code == 0, result.out + result.err
    (line,) = _lines_for(result.lines, epoch)
    assert line.startswith("stored (date 1985-06-01 ignored): "), line
    (line,) = _lines_for(result.lines, future)
    assert line.startswith("stored (date 3000-01-01 ignored): "), line
    assert _lines_for(result.lines, fine)[0].startswith("stored: ")
    assert env.sql("select title from articles where published is not null") == [("第23篇：测试文章标题",)]
    # and every reader copes
    for args in (("list",), ("search", "剪报"), ("show", "1", "--markdown"), ("export", str(env.path / "out"))):
        shown = env.run(*args)
        assert shown.code == 0 and "Traceback" not in shown.err, (args, shown.err)


def test_a_page_dated_year_one_is_stored_without_a_date(env: Env) -> None:
    html = (
        '<html><head><meta charset="utf-8"><title>远古的新闻</title>'
        '<meta property="article:published_time" content="0001-01-01T00:00:00+08:00"></head><body><article>'
        "<h1>远古的新闻</h1>"
        + "<p>这是一段足够长的正文，讲述了一件很久以前发生的事情，细节很多。</p>" * 8
        + "</article></body></html>"
    )
    env.server.route("news.example.com", "/old.html", Reply.html(html))
    result = env.run("import", "https://news.example.com/old.html")
    assert result.code == 0 and result.lines[0].startswith("stored"), result.out + result.err
    assert env.sql("select published from articles") == [(None,)]
    assert env.run("list").code == 0


def test_a_clipping_dated_year_one_is_stored_without_a_date_and_says_so(env: Env) -> None:
    clip = env.path / "old.md"
    clip.write_text(
        "---\ntitle: 远古的剪报\nsource: https://news.example.com/2020/old.html\ndate: 0001-01-01 00:00:00\n---\n\n"
        + "这是一段足够长的正文，讲述了一件很久以前发生的事情，细节很多。" * 4
        + "\n",
        encoding="utf-8",
    )
    result = env.run("import", str(clip))
    assert result.code == 0, result.out + result.err
    assert result.lines == [f"stored (date 0001-01-01 ignored): {clip} -> #1 远古的剪报"]
    assert env.sql("select published from articles") == [(None,)]


# --- injected failures: import, crawl, reparse ------------------------------------------------------


def test_an_unforeseen_parser_error_fails_one_url_of_an_import(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    urls = [_serve(env, n) for n in (31, 32, 33)]
    monkeypatch.setattr(ingest.pipeline, "parse", _failing_for(ingest.pipeline.parse, "第32篇"))
    result = env.run("import", *urls)
    assert result.code == 1
    (line,) = _lines_for(result.lines, urls[1])
    assert line == f"failed: {urls[1]}: unexpected RuntimeError: injected failure for 第32篇"
    assert "Traceback" not in result.err
    assert [ln.split(":")[0] for ln in (_lines_for(result.lines, u)[0] for u in (urls[0], urls[2]))] == ["stored"] * 2
    # recorded, and nothing of it half-written
    assert env.sql("select outcome, error from fetches where url like ?", ("%iso32",)) == [
        ("failed", "unexpected RuntimeError: injected failure for 第32篇")
    ]
    assert env.sql("select count(*) from pages where url like ?", ("%iso32",)) == [(0,)]
    # with -v, the traceback of that one input
    verbose = env.run("-v", "import", urls[1])
    assert "Traceback (most recent call last)" in verbose.err and "RuntimeError: injected failure" in verbose.err
    assert verbose.lines == [line]


def test_an_unforeseen_store_error_rolls_back_that_input_alone(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    urls = [_serve(env, n) for n in (41, 42, 43)]
    real = Store.save_article

    def save_article(self: Store, article: Article, **kwargs: Any) -> Any:
        if "第42篇" in article.title:
            raise RuntimeError("disk says no")
        return real(self, article, **kwargs)

    monkeypatch.setattr(Store, "save_article", save_article)
    result = env.run("import", *urls)
    assert result.code == 1 and "Traceback" not in result.err
    assert _lines_for(result.lines, urls[1]) == [f"failed: {urls[1]}: unexpected RuntimeError: disk says no"]
    assert env.count("articles") == 2
    # the page was archived inside the same transaction: rolled back with it
    assert env.sql("select count(*) from pages where url like ?", ("%iso42",)) == [(0,)]
    assert env.sql("select outcome from fetches where url like ?", ("%iso42",)) == [("failed",)]
    assert env.sql("pragma integrity_check") == [("ok",)]


def test_a_crawl_records_a_bad_entry_and_fetches_the_ones_after_it(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    good = [_serve(env, n) for n in (51, 52, 53, 54)]
    items = [good[0], "http://127.0.0.1:99999/x", good[1], good[2], good[3]]
    rss = "".join(f"<item><title>t{i}</title><link>{u}</link></item>" for i, u in enumerate(items))
    xml = f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>f</title>{rss}</channel></rss>'
    env.server.route("feeds.example.com", "/f.xml", Reply(200, xml.encode(), {"Content-Type": "application/rss+xml"}))
    env.write_config(sources='[[sources]]\nname = "f"\nkind = "feed"\nurl = "https://feeds.example.com/f.xml"\n')
    monkeypatch.setattr(ingest.pipeline, "parse", _failing_for(ingest.pipeline.parse, "第52篇"))
    result = env.run("crawl")
    assert result.code == 1 and "Traceback" not in result.err
    assert "source failed" not in result.err
    assert f"[f] failed: {good[1]}: unexpected RuntimeError: injected failure for 第52篇" in result.err
    assert env.count("articles") == 3  # 51, 53 and 54: the ones after the bad entries too
    assert env.sql("select outcome from fetches where url like ?", ("%iso52",)) == [("failed",)]
    (ok, counts) = env.sql("select ok, counts from crawls")[0]
    assert ok == 0 and '"stored": 3' in str(counts)
    # the entry no URL parser accepts is logged (stats and show tell of it), never fetched
    ((outcome, error),) = env.sql("select outcome, error from fetches where url = ?", ("http://127.0.0.1:99999/x",))
    assert outcome == "failed" and str(error).startswith("unusable URL in a listing: "), error
    # with -v, the traceback; the entries already stored are not fetched again
    before = len(env.server.requests_to(WX))
    again = env.run("crawl", "-v")
    assert "Traceback (most recent call last)" in again.err
    assert len(env.server.requests_to(WX)) == before + 1  # only the failed one is retried
    # once the bug is gone, the source completes
    monkeypatch.undo()
    assert env.run("crawl").code == 0
    assert env.count("articles") == 4
    # logged once, not on every run
    assert env.sql("select count(*) from fetches where url = ?", ("http://127.0.0.1:99999/x",)) == [(1,)]


def test_an_unforeseen_error_fails_one_page_of_a_reparse(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    urls = [_serve(env, n) for n in (61, 62, 63)]
    assert env.run("import", *urls).code == 0
    real = ingest.reparse.parse

    def parse(page: bytes | str, url: str, **kwargs: Any) -> Article:
        article = real(page, url, **kwargs)
        if "第62篇" in article.title:
            raise RuntimeError("injected reparse failure")
        return dataclasses.replace(article, summary=article.summary + "（新）")

    monkeypatch.setattr(ingest.reparse, "parse", parse)
    result = env.run("reparse")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "unexpected RuntimeError: injected reparse failure" in result.err
    assert sum(ln.startswith("changed:") for ln in result.lines) == 2, result.out
    assert "reparse: 3 pages, 2 changed" in result.out
    assert env.sql("select count(*) from articles where summary like '%（新）'") == [(2,)]
    verbose = env.run("-v", "reparse")
    assert "Traceback (most recent call last)" in verbose.err


def test_reparse_applies_the_date_rule_of_import(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest.pipeline, "parse", _dated(ingest.pipeline.parse, IMPLAUSIBLE))
    monkeypatch.setattr(ingest.reparse, "parse", _dated(ingest.reparse.parse, IMPLAUSIBLE))
    url = _serve(env, 21)
    assert env.run("import", url).lines[0].startswith("stored (date 1985-06-01 ignored)")
    # the same parser again: the same rule gives the same article, so nothing changes
    result = env.run("reparse")
    assert result.code == 0, result.out + result.err
    assert "1 pages, 0 changed, 1 unchanged" in result.out
    assert env.sql("select published from articles") == [(None,)]


def test_a_verification_page_from_any_host_is_never_an_article(env: Env) -> None:
    captcha = (
        "<html><head><meta charset='utf-8'><title>安全验证</title></head><body>"
        "<div class='box'><p>访问过于频繁，请拖动滑块完成验证</p><div id='slider'></div></div></body></html>"
    )
    env.server.route("www.example.org", "/news/1.html", Reply.html(captcha))
    good = _serve(env, 81)
    result = env.run("import", "https://www.example.org/news/1.html", good)
    assert result.code == 1
    (line,) = _lines_for(result.lines, "example.org")
    assert line.startswith("blocked:") and "verification" in line, line
    assert env.count("articles") == 1


def test_long_retry_after_is_honoured_up_to_the_cap_and_said_as_it_is(env: Env) -> None:
    env.server.route(QQ, "/rain/a/busy", Reply.retry_after(7200))
    (env.path / "urls.txt").write_text(f"https://{QQ}/rain/a/busy\n{wechat_long_url(90)}\n", encoding="utf-8")
    env.server.route(WX, "/s", Reply.html(wechat_page(90)))
    env.write_config(
        sources='[[sources]]\nname = "u"\nkind = "urls"\npath = "urls.txt"\n', extra_http="cooldown_max = 600"
    )
    result = env.run("crawl", "-v")
    text = result.out + result.err
    assert "Traceback" not in text
    # the URL's line and the summary say what happened: a long Retry-After, capped at cooldown_max
    assert f"HTTP 429 asking to retry after 7200 s: {QQ} paused for 600 s" in text, text
    assert f"paused: {QQ} (HTTP 429 asked to wait 7200 s)" in text and "verification" not in text, text
    assert len(env.server.requests_to(QQ, "/rain/a/busy")) == 1  # asked once, not hammered
    assert env.count("articles") == 1  # the other host went on
    # the next run leaves the host alone, and says why as it is
    later = env.run("crawl")
    text = later.out + later.err
    assert "HTTP 429 asked to wait 7200 s" in text and "verification" not in text, text
    assert len(env.server.requests_to(QQ, "/rain/a/busy")) == 1


# --- odd arguments to the query commands ------------------------------------------------------------


def test_odd_query_arguments_give_one_line_or_work(env: Env) -> None:
    assert env.run("import", _serve(env, 95)).code == 0
    for args, code in (
        (("show", "²"), 1),  # a digit to Python, not an id
        (("show", "٣"), 1),
        (("show", "99999999999999999999999999"), 1),  # past SQLite's integers
        (("list", "--until", "9999-12-31"), 0),
        (("search", "剪报", "--until", "9999-12-31"), 0),
        (("list", "--since", "0001-01-01"), 0),
        (("list", "--limit", str(10**30)), 0),
        (("search", "剪报", "--limit", str(10**30)), 0),
        (("export", str(env.path / "out"), "--until", "9999-12-31"), 0),
    ):
        result = env.run(*args)
        assert result.code == code and "Traceback" not in result.err, (args, result.out, result.err)
        if code:
            assert len(result.err.strip().splitlines()) == 1 and "no such article" in result.err, (args, result.err)
        elif args[0] in ("list", "search"):
            assert "第95篇" in result.out, (args, result.out)
