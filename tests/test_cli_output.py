"""Output for Chinese on a terminal: display widths, tables with headers, reports instead of reprs,
global options anywhere, Ctrl-C that ends in a summary, retry lines."""

from __future__ import annotations

import io
import re
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.crawl import CrawlSummary, SourceResult
from ingest.output import Column, Style, cut, human_size, minute, pad, printable, table, width
from parsers.article import SHANGHAI, Article
from storage import Store
from tests.conftest import Env
from tests.localserver import Reply
from tests.pages import wechat_page

ANSI = re.compile(r"\x1b\[")


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


# --- the pure parts ---------------------------------------------------------------------------------


def test_widths_cuts_and_padding_count_terminal_cells() -> None:
    assert width("每日经济新闻") == 12 and width("abc") == 3 and width("e\u0301") == 1
    assert cut("每日经济新闻", 7) == "每日经…" and width(cut("每日经济新闻", 7)) <= 7
    assert cut("每日经济新闻", 12) == "每日经济新闻" and cut("abcdef", 4) == "abc…" and cut("abc", 0) == ""
    assert pad("中文", 6) == "中文  " and pad("中文", 6, ">") == "  中文"
    assert human_size(0) == "0 B" and human_size(950) == "950 B" and human_size(14_600_000) == "14.6 MB"
    assert minute(datetime(2025, 2, 7, 10, 39, tzinfo=UTC)) == "2025-02-07 18:39" and minute(None) == "-"
    assert minute(datetime(1, 1, 1, tzinfo=SHANGHAI)) == "0001-01-01 00:00"  # never OverflowError
    assert minute(datetime(9999, 12, 31, 23, 0, tzinfo=UTC)) == "9999-12-31 23:00"


def test_text_from_pages_cannot_move_the_cursor_or_break_a_row() -> None:
    assert printable("标题\x1b[2J\x1b]0;pwned\x07\n第二行\u202e") == "标题 [2J ]0;pwned 第二行"
    assert "\x1b" not in printable("\x1b[31mred") and printable(None) == ""


def test_table_columns_line_up_by_display_width() -> None:
    rows = [(1, "每日经济新闻", "标题一"), (22, "36氪", "A title"), (333, "a very long account name indeed", "标题")]
    columns = [Column("ID", ">"), Column("ACCOUNT", max=10), Column("TITLE", flex=True)]
    lines = table(columns, rows)
    assert lines[0].split() == ["ID", "ACCOUNT", "TITLE"]
    starts = {
        width(line[: line.index(title)]) for line, title in zip(lines[1:], ("标题一", "A title", "标题"), strict=True)
    }
    assert len(starts) == 1  # every title begins in the same terminal column
    assert "a very lo…" in lines[3]
    narrow = table(columns, [(1, "账号", "很长的标题" * 20)], total=40)
    assert all(width(line) <= 40 for line in narrow) and narrow[1].endswith("…")
    assert table(columns, [(1, "账号", "很长的标题" * 20)])[1].endswith("标题")  # through a pipe: whole


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    assert Style.for_stream(_TTY(), env={}).enabled
    assert not Style.for_stream(_TTY(), env={"NO_COLOR": "1"}).enabled
    assert not Style.for_stream(_TTY(), env={"TERM": "dumb"}).enabled
    assert not Style.for_stream(io.StringIO(), env={}).enabled
    assert ANSI.search(table([Column("A")], [("x",)], style=Style(True))[0])
    assert not ANSI.search("\n".join(table([Column("A")], [("x",)])))


def test_crawl_summary_counts_failed_sources_first() -> None:
    failed = [SourceResult("feed", error="cannot resolve example.org"), SourceResult("album", error="HTTP 500")]
    line = CrawlSummary(failed, 1.25, set(), False).line()
    assert line.startswith("crawl: 2 of 2 sources failed (feed, album)"), line
    ok = CrawlSummary([SourceResult("feed", Counter(stored=3))], 0.5, set(), False).line()
    assert ok.startswith("crawl: 1 sources, 3 stored") and "failed (" not in ok


# --- the commands -----------------------------------------------------------------------------------


def stored(env: Env) -> None:
    now = datetime(2025, 2, 7, 18, 39, tzinfo=SHANGHAI)
    with Store(str(env.db)) as store:
        for i, (account, title) in enumerate(
            [("每日经济新闻", "小米汽车发布新款"), ("36氪", "A title in English"), ("", "无账号的文章\n第二行")]
        ):
            store.save_article(
                Article(
                    url=f"https://www.example.com/{i}",
                    source="web",
                    kind="article",
                    title=title,
                    account=account or None,
                    published=now - timedelta(days=i),
                    body=f"正文{i}",
                )
            )
        store.save_fetch("https://www.example.com/gone", "failed", error="HTTP 503", status=503)


def test_list_prints_a_table_with_a_header_aligned_for_chinese(env: Env) -> None:
    stored(env)
    result = env.run("list")
    assert result.code == 0, result.err
    header, *rows = result.out.splitlines()
    assert header.split() == ["ID", "PUBLISHED", "SOURCE", "ACCOUNT", "TITLE"]
    titles = ("小米汽车发布新款", "A title in English", "无账号的文章 第二行")
    assert {width(row[: row.index(t)]) for row, t in zip(rows, titles, strict=True)} == {
        width(header[: header.index("TITLE")])
    }
    assert not ANSI.search(result.out)  # piped: no colour


def test_stats_reads_as_a_report(env: Env) -> None:
    stored(env)
    with Store(str(env.db)) as store:
        start = datetime(2025, 2, 7, 10, 0, tzinfo=UTC)
        store.save_crawl("tech", started=start, finished=start + timedelta(seconds=3), counts={"stored": 2, "failed": 1},
                         ok=False, error="HTTP 500 on page 2")  # fmt: skip
    result = env.run("stats")
    assert result.code == 0, result.err
    out = result.out
    assert "datetime" not in out and "None" not in out and "{" not in out, out
    assert re.search(r"^archive .* (B|KB|MB) raw", out, re.M)
    assert "SOURCE" in out and "ACCOUNT" in out and "每日经济新闻" in out
    crawl = next(line for line in out.splitlines() if line.strip().startswith("tech"))
    assert "2025-02-07 18:00" in crawl and "failed" in crawl and "HTTP 500 on page 2" in crawl
    assert "https://www.example.com/gone" in out and "HTTP 503" in out


def test_global_options_work_after_the_command(env: Env, tmp_path: Path) -> None:
    stored(env)
    other = tmp_path / "elsewhere.db"
    env.db.rename(other)
    assert env.run("list", "--db", str(other)).code == 0
    assert env.run("list", f"--db={other}", "-v").code == 0
    assert env.run("stats", "--db", str(other), "--config", "config.toml").code == 0
    for args in (
        ("list", "--config", "missing.toml"),
        ("--config", "missing.toml", "list"),
        ("parse", "x.html", "--config", "missing.toml"),
    ):
        result = env.run(*args, "--db", str(other))
        assert result.code == 2 and "missing.toml: config file not found" in result.err, (args, result.err)


def test_a_retry_on_a_terminal_says_so(env: Env) -> None:
    env.server.route("mp.weixin.qq.com", "/s/retry", [Reply(503), Reply.html(wechat_page(7))])
    result = env.run("import", "https://mp.weixin.qq.com/s/retry", "-v")
    assert result.code == 0, result.err
    assert re.search(r"^retrying mp\.weixin\.qq\.com \(2/4\) in \d+(\.\d)? s$", result.err, re.M), result.err


def test_ctrl_c_during_import_stops_after_the_input_in_hand_with_a_summary(env: Env) -> None:
    for n in range(6):
        env.server.route(
            "mp.weixin.qq.com",
            f"/s/slow{n}",
            Reply(200, wechat_page(n).encode(), {"Content-Type": "text/html"}, delay=0.3),
        )
    proc = env.popen("import", *(f"https://mp.weixin.qq.com/s/slow{n}" for n in range(6)))
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("stored:"), first
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, (out, err)
    assert "Aborted" not in err and "Traceback" not in err
    done = 1 + sum(line.startswith("stored:") for line in out.splitlines())
    assert done < 6 and f"stopped early, {6 - done} inputs not imported" in err, err
    assert re.search(rf"^import: 6 inputs, {done} stored, ", err, re.M), err
    assert env.count("articles") == done
