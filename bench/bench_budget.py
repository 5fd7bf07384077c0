"""Parsing budget: every pathological input up to ``max_bytes`` is parsed or refused within 5 s and 500 MB.

Run by hand:  .venv/bin/python bench/bench_budget.py [--mb 20] [--case NAME ...] [--entry NAME ...]
                                                     [--timeout 30] [--markdown]

Each (case, entry point) pair runs in a child process of its own, so the peak memory reported is that
pair's alone: the child builds the input, hands it to the entry point, and reports the wall time of the
call and its peak resident memory (``ru_maxrss``: interpreter, imports and the input included, about
60 MB before the call). A child past ``--timeout`` is killed and reported as such.

Entry points, what a fetched page or an imported file goes through:
  web      parsers.parse(bytes, url) under an unknown host (the generic path)
  portal   the same under a portal's article URL (news.sina.com.cn)
  qq       under a qq.com article URL (news.qq.com/rain/a/…)
  qq-cms   under an old qq.com CMS URL (news.qq.com/a/2019…/….htm)
  wechat   under a WeChat URL
  saved    parsers.saved.parse_saved(bytes, "x.html"): a saved page, its address read from the page
  md       parsers.parse_markdown(text, path): a clipping (Markdown cases only)

Cases (issue 16, items 4 and 5): element counts and nesting past and just under the budget; runs of
``[``, ``![``, ``<!--``, ``<a>``, entities, ``<meta`` and ``<img`` without their ends; one huge element,
attribute, title, script, word or line; Chinese text without punctuation; hostile JSON-LD and scripts;
for clippings the same runs plus fences, YAML bombs and deep YAML. An outcome is ``parsed``, or
``refused: <reason>`` for a ParseError/NotAnArticle; anything else is a crash and counts as a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

URLS = {
    "web": "https://news.example.com/a/1.html",
    "portal": "https://news.sina.com.cn/c/2019-09-23/doc-iicezzrq1234567.shtml",
    "qq": "https://news.qq.com/rain/a/20190923A0ABCD00",
    "qq-cms": "https://news.qq.com/a/20190923/001234.htm",
    "wechat": "https://mp.weixin.qq.com/s/budget",
}
HTML_ENTRIES = (*URLS, "saved")
TIME_LIMIT = 5.0
MEMORY_LIMIT_MB = 500
CHILD_MEMORY_CAP = 6 << 30  # address space a child may take before it is stopped with MemoryError

HEAD = b"<html><head><title>budget</title></head><body>"
PARA = "北京时间昨日，港口吞吐量创新高，集装箱航线再扩容。".encode()
CJK = "港口吞吐量创新高集装箱航线再扩容".encode()  # no punctuation
AT_CAP = 199_000  # elements just under the default max_elements (200,000)


def _fill(head: bytes, unit: bytes, tail_unit: bytes, size: int, foot: bytes = b"") -> bytes:
    """``head`` + n units + n closing units (+ ``foot``) with the whole at most ``size`` bytes."""
    n = max(1, (size - len(head) - len(foot)) // (len(unit) + len(tail_unit)))
    return head + unit * n + tail_unit * n + foot


# the body an entry point's parser looks for, so the hostile part reaches the article code of each
SHAPES = {
    "web": (b"<article><h1>budget</h1>", b"</article>"),
    "qq": (b'<div class="content-article">', b"</div>"),
    "qq-cms": (b'<div id="Cnt-Main-Article-QQ">', b"</div>"),
    "wechat": (b'<h1 id="activity-name">budget</h1><div id="js_content" class="rich_media_content">', b"</div>"),
}
SHAPE = "web"  # set by run_case from the entry point
OG_URL = b'<meta property="og:url" content="https://news.example.com/a/1.html">'


def _page(inner: bytes, head: bytes = b"") -> bytes:
    before, after = SHAPES.get(SHAPE, SHAPES["web"])
    return (
        b"<html><head><title>budget</title>"
        + OG_URL
        + head
        + b"</head><body>"
        + before
        + inner
        + after
        + b"</body></html>"
    )


def _run(unit: bytes, size: int, overhead: int = 200) -> bytes:
    return unit * ((size - overhead) // len(unit))


def _md(body: str, front: str = "title: budget\nurl: https://news.example.com/a/1.html\n") -> str:
    return f"---\n{front}---\n\n{body}\n"


def _json_ld(body: bytes) -> bytes:
    return b'<script type="application/ld+json">' + body + b"</script>"


def _deep_nested_blocks(depth: int, blocks: int) -> bytes:
    one = b"<div>" * depth + PARA + b"</div>" * depth
    return _page(one * blocks)


def html_cases(size: int) -> dict[str, Callable[[], bytes]]:
    s = size
    return {
        # element counts and nesting
        "tiny-elements": lambda: HEAD + b"<i>a</i>" * ((s - len(HEAD)) // 8),
        "nested-div": lambda: _fill(HEAD, b"<div>", b"</div>", s),
        "nested-div-100k": lambda: _fill(HEAD, b"<div>", b"</div>", 100_000 * 11 + len(HEAD)),
        "nested-span": lambda: _fill(HEAD, b"<span>", b"</span>", s),
        "nested-b": lambda: _fill(HEAD, b"<b>", b"</b>", s),
        "unclosed-div": lambda: HEAD + b"<div>x" * ((s - len(HEAD)) // 6),
        "depth-999-x100": lambda: _deep_nested_blocks(999, 100),
        "paragraphs-25k": lambda: _page(b"".join(b"<p>" + PARA + b"</p>\n" for _ in range(25_000))),
        "paragraphs-100k": lambda: _page(b"".join(b"<p>" + PARA + b"</p>\n" for _ in range(100_000))),
        "paragraphs-max": lambda: _page(_run(b"<p>" + PARA + b"</p>\n", s)),
        "paragraphs-at-cap": lambda: _page((b"<p>" + PARA + b"</p>\n") * AT_CAP),
        "short-paragraphs-at-cap": lambda: _page(b"<p>\xe6\xae\xb5\xe8\x90\xbd\xe3\x80\x82</p>" * AT_CAP),
        "links-at-cap": lambda: _page(b"".join(b'<a href="/n/%d.html">%d</a>' % (i, i) for i in range(AT_CAP))),
        "link-paragraphs-at-cap": lambda: _page(
            b"".join(b'<p><a href="/n/%d.html">' % i + PARA + b"</a></p>" for i in range(AT_CAP // 2))
        ),
        "images-at-cap": lambda: _page(b"".join(b'<img src="/i/%d.jpg">' % i for i in range(AT_CAP))),
        "images-paren-at-cap": lambda: _page(b"".join(b'<img src="/i/(%d).jpg">' % i for i in range(AT_CAP))),
        "images-then-end-at-cap": lambda: _page(
            (b"<p>" + PARA * 40 + b"</p>\n") * 5_000
            + "<p>扫码关注</p>".encode()
            + b"".join(b'<p><img src="/i/%d.jpg"></p>' % i for i in range(AT_CAP // 2 - 6_000))
        ),
        "table-cells-at-cap": lambda: _page(b"<table><tr>" + b"<td>x</td>" * AT_CAP + b"</tr></table>"),
        "table-rows-at-cap": lambda: _page(b"<table>" + b"<tr><td>a</td><td>b</td></tr>" * (AT_CAP // 3) + b"</table>"),
        "list-items-at-cap": lambda: _page(b"<ul>" + (b"<li>" + PARA) * AT_CAP + b"</ul>"),
        "br-at-cap": lambda: _page(b"<p>" + (PARA + b"<br>") * AT_CAP + b"</p>"),
        "deep-inline-then-many": lambda: _page(b"<span>" * 990 + b"<i>x</i>" * (AT_CAP - 1_000) + b"</span>" * 990),
        "nested-div-999-text-max": lambda: _page(b"<div>" * 999 + _run(PARA, s, 20_000) + b"</div>" * 999),
        "nested-b-999-text-max": lambda: _page(b"<b>" * 999 + _run(PARA, s, 20_000) + b"</b>" * 999),
        "nested-furniture-999-text": lambda: _page(
            b'<div class="share">' * 999 + _run(PARA, s // 10, 30_000) + b"</div>" * 999
        ),
        "date-labels-max": lambda: _page(b"<p>" + PARA + b"</p><p>" + _run("\u65f6\u95f4\uff1a".encode(), s) + b"</p>"),
        "a-tags-max": lambda: _page(_run(b'<a href="x">', s)),
        # one huge thing
        "text-max": lambda: _page(b"<p>" + _run(PARA, s) + b"</p>"),
        "cjk-no-punct-max": lambda: _page(b"<p>" + _run(CJK, s) + b"</p>"),
        "ascii-word-max": lambda: _page(b"<p>" + _run(b"a", s) + b"</p>"),
        "whitespace-max": lambda: _page(b"<p>x" + _run(b" \n\t", s) + b"y</p>"),
        "lines-max": lambda: _page(b"<pre>" + _run(b"x\n", s) + b"</pre>"),
        "attributes-max": lambda: HEAD + b"<div" + _run(b" a=1", s, 100) + b">x</div>",
        "valueless-attributes-max": lambda: HEAD + b"<div" + _run(b" a", s, 100) + b">x</div>",
        "attributes-at-cap": lambda: HEAD + b"<div" + b" a" * 2_900_000 + b">x</div>",
        "attributes-spread-max": lambda: HEAD + _run(b"<i" + b" a=1" * 25 + b">x</i>", s),
        "quoted-gt-attributes-max": lambda: HEAD + b"<div" + _run(b' a=">"', s, 100) + b">x</div>",
        "distinct-attributes-20k": lambda: HEAD + b"<div" + b"".join(b" a%d" % i for i in range(20_000)) + b">x</div>",
        "distinct-attributes-80k": lambda: HEAD + b"<div" + b"".join(b" a%d" % i for i in range(80_000)) + b">x</div>",
        "attribute-value-max": lambda: HEAD + b'<div title="' + _run(b"a", s, 100) + b'">x</div>',
        "title-max": lambda: b"<html><head><title>" + _run(CJK, s) + b"</title></head><body><p>x</p></body></html>",
        "title-spaces-max": lambda: (
            b"<html><head><title>a" + _run("\u2004".encode(), s) + b"b</title></head><body><p>x</p></body></html>"
        ),
        "title-separators-max": lambda: (
            b"<html><head><title>" + _run(b"a_", s) + b"</title></head><body><p>x</p></body></html>"
        ),
        # runs of an opener without its end
        "brackets-40k": lambda: _page(b"<p>" + b"[" * 40_000 + b"</p>"),
        "brackets-max": lambda: _page(b"<p>" + _run(b"[", s) + b"</p>"),
        "bang-brackets-max": lambda: _page(b"<p>" + _run(b"![", s) + b"</p>"),
        "link-syntax-max": lambda: _page(b"<p>" + _run(b"[a](", s) + b"</p>"),
        "backslashes-max": lambda: _page(b"<p>" + _run(b"\\", s) + b"</p>"),
        "comments-max": lambda: _page(b"<p>x</p>" + _run(b"<!--", s)),
        "comment-unclosed-max": lambda: _page(b"<p>x</p><!--" + _run(PARA, s)),
        "entities-max": lambda: _page(b"<p>" + _run(b"&amp;", s) + b"</p>"),
        "numeric-entities-max": lambda: _page(b"<p>" + _run(b"&#20013;", s) + b"</p>"),
        "ampersands-max": lambda: _page(b"<p>" + _run(b"&", s) + b"</p>"),
        "meta-open-max": lambda: HEAD + _run(b"<meta ", s),
        "link-open-max": lambda: HEAD + _run(b"<link ", s),
        "img-open-max": lambda: HEAD + _run(b"<img ", s),
        "script-open-max": lambda: HEAD + _run(b'<script type="application/ld+json">', s),
        # scripts and data
        "json-ld-deep": lambda: _page(b"<p>" + PARA + b"</p>", head=_json_ld(b"[" * 100_000 + b"]" * 100_000)),
        "json-ld-max": lambda: _page(
            b"<p>" + PARA + b"</p>", head=_json_ld(b'{"@graph": [' + _run(b'{"@type": "NewsArticle"},', s) + b"{}]}")
        ),
        "script-quotes-max": lambda: _page(b"<p>" + PARA + b"</p>", head=b"<script>" + _run(b'\\"', s) + b"</script>"),
        "script-vars-max": lambda: _page(
            b"<p>" + PARA + b"</p>", head=b"<script>" + _run(b'var msg_title = "\\', s) + b"</script>"
        ),
        "script-braces-max": lambda: _page(
            b"<p>" + PARA + b"</p>",
            head=b"<script>var cgiDataNew = " + _run(b"{", s) + b"</script>",
        ),
        "wechat-picture-list": lambda: _page(
            b"<p>" + PARA + b"</p>",
            head=b'<script>var item_show_type = \'8\'; window.picture_page_info_list = [{"cdn_url": "x\n"'
            + _run(b'\\"', s)
            + b'"}];</script>',
        ),
        "qq-rain-tiny-elements": lambda: _qq_rain("\\u003ci\\u003ea\\u003c/i\\u003e" * ((s - 400) // 30)),
        "qq-rain-nested": lambda: _qq_rain("\\u003cdiv\\u003e" * 100_000 + "x" + "\\u003c/div\\u003e" * 100_000),
        "wechat-noencode-elements": lambda: _page(
            b"",
            head=b"<script>var item_show_type = '0'; var cgiDataNew = {content_noencode: '"
            + _run(b"\\x3ci\\x3ea\\x3c/i\\x3e", s)
            + b"', title: 'x'};</script>",
        ),
        "qq-data-deep": lambda: _page(
            b"<p>" + PARA + b"</p>", head=b"<script>window.DATA = " + b"[" * 100_000 + b"]" * 100_000 + b"</script>"
        ),
    }


def _qq_rain(content: str) -> bytes:
    data = '{"article_id": "20190923A0ABCD00", "title": "budget", "originContent": {"text": "' + content + '"}}'
    return (
        b"<!DOCTYPE html><html><head><title>budget</title>"
        + OG_URL
        + b'</head><body><div id="root"></div><script>window.DATA = '
        + data.encode()
        + b"</script></body></html>"
    )


def md_cases(size: int) -> dict[str, Callable[[], str]]:
    s = size
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )

    def run(unit: str, overhead: int = 200) -> str:
        return unit * ((s - overhead) // len(unit.encode()))

    return {
        "md-brackets-40k": lambda: _md("[" * 40_000),
        "md-brackets-max": lambda: _md(run("[")),
        "md-bang-brackets-200k": lambda: _md("![" * 200_000),
        "md-bang-brackets-max": lambda: _md(run("![")),
        "md-comments-50k": lambda: _md("x\n\n" + "<!--" * 50_000),
        "md-comments-max": lambda: _md("x\n\n" + run("<!--")),
        "md-script-tags-max": lambda: _md("x\n\n" + run("<script>")),
        "md-html-tags-max": lambda: _md("x\n\n" + run("<a ")),
        "md-img-tags-max": lambda: _md("x\n\n" + run("<img ")),
        "md-tabs-img-max": lambda: _md("x\n\n" + run("\t") + "<img"),
        "md-fences-max": lambda: _md("x\n\n" + run("```\n")),
        "md-fence-lines-max": lambda: _md("x\n\n```\n" + run("x\n") + "```"),
        "md-fence-unclosed-max": lambda: _md("x\n\n```\n" + run("x\n")),
        "md-emphasis-max": lambda: _md("x\n\n" + run("**")),
        "md-links-max": lambda: _md("x\n\n" + run("[a](")),
        "md-images-max": lambda: _md("x\n\n" + run("![a](https://e.com/i.jpg)\n")),
        "md-data-images-max": lambda: _md("x\n\n" + run("![](data:image/svg+xml,(")),
        "md-script-links-max": lambda: _md("x\n\n" + run("[a](javascript:(")),
        "md-line-max": lambda: _md(run("北京时间昨日港口吞吐量创新高")),
        "md-newlines-max": lambda: _md("x" + run("\n") + "y"),
        "md-lines-max": lambda: _md(run("x\n")),
        "md-text-max": lambda: _md(("北京时间昨日，港口吞吐量创新高。" * 40 + "\n\n") * ((s - 200) // 1450)),
        "md-yaml-alias-bomb": lambda: _md("x", front=bomb + "tags: *i\nurl: https://news.example.com/a/1.html\n"),
        "md-yaml-deep-50k": lambda: _md("x", front="tags: " + "[" * 50_000 + "]" * 50_000 + "\n"),
        "md-yaml-deep-map-max": lambda: _md("x", front="tags: " + run("{a: ") + "}"),
        "md-yaml-tags-max": lambda: _md(
            "x", front="url: https://news.example.com/a/1.html\ntags: [" + run("t, ") + "t]\n"
        ),
    }


def run_case(name: str, entry: str, size: int) -> dict[str, object]:
    """In the child: build the input, parse it, report outcome, seconds and peak RSS."""
    from parsers import parse, parse_markdown
    from parsers.errors import JianbaoError
    from parsers.saved import parse_saved

    global SHAPE
    SHAPE = entry if entry in SHAPES else "web"
    md = md_cases(size)
    fn: Callable[[], object]
    if name in md:
        text = md[name]()
        size_bytes = len(text.encode("utf-8", "surrogatepass"))
        fn = lambda: parse_markdown(text, "budget.md")  # noqa: E731
    else:
        data = html_cases(size)[name]()
        size_bytes = len(data)
        if entry == "saved":
            fn = lambda: parse_saved(data, "budget.html", suffix=".html")  # noqa: E731
        else:
            fn = lambda: parse(data, URLS[entry])  # noqa: E731
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    try:
        fn()
        outcome = "parsed"
    except JianbaoError as err:
        outcome = f"refused: {err.reason}"
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "case": name,
        "entry": entry,
        "bytes": size_bytes,
        "outcome": outcome[:120],
        "seconds": round(seconds, 3),
        "peak_mb": round(peak, 1),
        "before_mb": round(before, 1),
    }


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_CAP, CHILD_MEMORY_CAP))


def run_child(name: str, entry: str, mb: float, timeout: float) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", name, "--child-entry", entry, "--mb", str(mb)]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=os.environ, preexec_fn=_limit_memory
        )
    except subprocess.TimeoutExpired:
        return {"case": name, "entry": entry, "outcome": f"KILLED after {timeout:.0f} s", "failed": True}
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return {
            "case": name,
            "entry": entry,
            "outcome": f"CRASHED: {lines[-1] if lines else proc.returncode}"[:160],
            "failed": True,
        }
    res: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    over_time = float(str(res["seconds"])) > TIME_LIMIT
    over_memory = float(str(res["peak_mb"])) > MEMORY_LIMIT_MB
    res["failed"] = over_time or over_memory
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=20.0, help="input size for the *-max cases (max_bytes: 20)")
    ap.add_argument("--case", action="append", help="run only these cases")
    ap.add_argument("--entry", action="append", help=f"run only these entry points ({', '.join(HTML_ENTRIES)})")
    ap.add_argument("--timeout", type=float, default=30.0, help="kill a child after this many seconds")
    ap.add_argument("--markdown", action="store_true", help="also print a Markdown table, one row per case")
    ap.add_argument("--json", help="write every result to this file")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-entry", help=argparse.SUPPRESS)
    args = ap.parse_args()
    size = int(args.mb * 1_000_000)
    if args.child:
        print(json.dumps(run_case(args.child, args.child_entry, size)))
        return 0
    html, md = html_cases(size), md_cases(size)
    names = args.case or [*html, *md]
    unknown = [n for n in names if n not in html and n not in md]
    if unknown:
        ap.error(f"unknown case(s): {', '.join(unknown)}")
    results: list[dict[str, object]] = []
    print(f"{'case':26} {'entry':7} {'MB':>5} {'s':>6} {'peak MB':>8}  outcome")
    for name in names:
        entries = ["md"] if name in md else [e for e in HTML_ENTRIES if not args.entry or e in args.entry]
        for entry in entries:
            res = run_child(name, entry, args.mb, args.timeout)
            results.append(res)
            if "seconds" in res:
                mb = int(str(res["bytes"])) / 1e6
                line = f"{name:26} {entry:7} {mb:5.1f} {res['seconds']:6.2f} {res['peak_mb']:8.0f}  {res['outcome']}"
            else:
                line = f"{name:26} {entry:7} {'':>5} {'':>6} {'':>8}  {res['outcome']}"
            print(line + ("  <-- OVER BUDGET" if res["failed"] else ""), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1))
    if args.markdown:
        print(markdown_table(results))
    failed = [r for r in results if r["failed"]]
    print(
        f"{len(failed)} of {len(results)} runs over {TIME_LIMIT:.0f} s / {MEMORY_LIMIT_MB} MB"
        if failed
        else f"all {len(results)} runs within {TIME_LIMIT:.0f} s / {MEMORY_LIMIT_MB} MB"
    )
    return 1 if failed else 0


def markdown_table(results: list[dict[str, object]]) -> str:
    """One row per case: its size, the outcomes, the slowest entry point and the highest peak."""
    rows = ["| case | MB | outcome | slowest | peak |", "|---|---|---|---|---|"]
    by_case: dict[str, list[dict[str, object]]] = {}
    for r in results:
        by_case.setdefault(str(r["case"]), []).append(r)
    for case, runs in by_case.items():
        done = [r for r in runs if "seconds" in r]
        outcomes: dict[str, list[str]] = {}
        for r in runs:
            outcome = str(r["outcome"])
            if outcome.startswith("refused: "):
                outcome = "refused `" + outcome.removeprefix("refused: ").split(" over ")[0] + "`"
            outcomes.setdefault(outcome, []).append(str(r["entry"]))
        said = "; ".join(f"{o} ({', '.join(e)})" if len(outcomes) > 1 and o else o for o, e in outcomes.items())
        mb = max((int(str(r["bytes"])) for r in done), default=0) / 1e6
        slowest = max(done, key=lambda r: float(str(r["seconds"])), default=None)
        peak = max((float(str(r["peak_mb"])) for r in done), default=0)
        slow = f"{slowest['seconds']:.2f} s ({slowest['entry']})" if slowest else ""
        flag = " **over**" if any(r["failed"] for r in runs) else ""
        rows.append(f"| {case} | {mb:.1f} | {said} | {slow} | {peak:.0f} MB{flag} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
