"""Parsing budget: every pathological input up to ``max_bytes`` is parsed or refused within 5 s and 500 MB.

Run by hand:  .venv/bin/python bench/bench_budget.py [--mb 20] [--case NAME ...] [--timeout 60]

Each case is generated in a child process (one per case, so peak memory is that case's alone) and
handed to the entry point a fetched page or an imported file takes: ``parsers.parse(bytes, url)``
for pages (under a WeChat, a qq.com and a generic URL, the generic path being the slowest) and
``parsers.parse_markdown(text, path)`` for clippings. The child reports its wall time and its peak
resident memory (``ru_maxrss``), including the interpreter and imports (about 60 MB).

Cases (issue 16, item 4 and 5): a million tiny elements; 100k+ nested divs and inline elements;
a flat page of many paragraphs (the generic path was quadratic in elements); runs of ``[``, ``![``
and ``<!--`` in a page and in a clipping; a YAML alias bomb and 50k-deep YAML.
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
    "qq": "https://news.qq.com/a/20190923/001234.htm",
    "wechat": "https://mp.weixin.qq.com/s/budget",
}
TIME_LIMIT = 5.0
MEMORY_LIMIT_MB = 500


def _fill(head: bytes, unit: bytes, tail_unit: bytes, size: int, foot: bytes = b"") -> bytes:
    """``head`` + n units + n closing units (+ ``foot``) with the whole at most ``size`` bytes."""
    n = max(1, (size - len(head) - len(foot)) // (len(unit) + len(tail_unit)))
    return head + unit * n + tail_unit * n + foot


def _page(inner: bytes) -> bytes:
    return b"<html><head><title>budget</title></head><body><article>" + inner + b"</article></body></html>"


def _md(body: str, front: str = "title: budget\nurl: https://news.example.com/a/1.html\n") -> str:
    return f"---\n{front}---\n\n{body}\n"


HEAD = b"<html><head><title>budget</title></head><body>"
PARA = "北京时间昨日，港口吞吐量创新高，集装箱航线再扩容。".encode()


def html_cases(size: int) -> dict[str, Callable[[], bytes]]:
    return {
        "tiny-elements": lambda: HEAD + b"<i>a</i>" * ((size - len(HEAD)) // 8),
        "nested-div": lambda: _fill(HEAD, b"<div>", b"</div>", size),
        "nested-div-100k": lambda: _fill(HEAD, b"<div>", b"</div>", 100_000 * 11 + len(HEAD)),
        "nested-span": lambda: _fill(HEAD, b"<span>", b"</span>", size),
        "nested-b": lambda: _fill(HEAD, b"<b>", b"</b>", size),
        "unclosed-div": lambda: HEAD + b"<div>x" * ((size - len(HEAD)) // 6),
        "paragraphs-25k": lambda: _page(b"".join(b"<p>" + PARA + b"</p>\n" for _ in range(25_000))),
        "paragraphs-100k": lambda: _page(b"".join(b"<p>" + PARA + b"</p>\n" for _ in range(100_000))),
        "paragraphs-max": lambda: _page((b"<p>" + PARA + b"</p>\n") * ((size - 200) // (len(PARA) + 8))),
        "text-max": lambda: _page(b"<p>" + PARA * ((size - 200) // len(PARA)) + b"</p>"),
        "brackets-40k": lambda: _page(b"<p>" + b"[" * 40_000 + b"</p>"),
        "brackets-max": lambda: _page(b"<p>" + b"[" * (size - 200) + b"</p>"),
        "bang-brackets-max": lambda: _page(b"<p>" + b"![" * ((size - 200) // 2) + b"</p>"),
        "comments-max": lambda: _page(b"<p>x</p>" + b"<!--" * ((size - 200) // 4)),
        "attributes-max": lambda: HEAD + b"<div" + b" a=1" * ((size - 100) // 4) + b">x</div>",
    }


def md_cases(size: int) -> dict[str, Callable[[], str]]:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    return {
        "md-brackets-40k": lambda: _md("[" * 40_000),
        "md-brackets-max": lambda: _md("[" * (size - 200)),
        "md-bang-brackets-200k": lambda: _md("![" * 200_000),
        "md-bang-brackets-max": lambda: _md("![" * ((size - 200) // 2)),
        "md-comments-50k": lambda: _md("x\n\n" + "<!--" * 50_000),
        "md-comments-max": lambda: _md("x\n\n" + "<!--" * ((size - 200) // 4)),
        "md-script-tags-max": lambda: _md("x\n\n" + "<script>" * ((size - 200) // 8)),
        "md-html-tags-max": lambda: _md("x\n\n" + "<a " * ((size - 200) // 3)),
        "md-fences-max": lambda: _md("x\n\n" + "```\n" * ((size - 200) // 4)),
        "md-emphasis-max": lambda: _md("x\n\n" + "**" * ((size - 200) // 2)),
        "md-links-max": lambda: _md("x\n\n" + "[a](" * ((size - 200) // 4)),
        "md-yaml-alias-bomb": lambda: _md("x", front=bomb + "tags: *i\nurl: https://news.example.com/a/1.html\n"),
        "md-yaml-deep-50k": lambda: _md("x", front="tags: " + "[" * 50_000 + "]" * 50_000 + "\n"),
        "md-yaml-deep-map-max": lambda: _md("x", front="tags: " + "{a: " * ((size - 200) // 4) + "}"),
        "md-text-max": lambda: _md(("北京时间昨日，港口吞吐量创新高。" * 40 + "\n\n") * ((size - 200) // 1450)),
    }


def run_case(name: str, size: int) -> dict[str, object]:
    """In the child: build the input, parse it, report outcome, seconds and peak RSS."""
    from parsers import parse, parse_markdown
    from parsers.errors import JianbaoError

    html = html_cases(size)
    md = md_cases(size)
    results: dict[str, object] = {"case": name}
    if name in md:
        text = md[name]()
        targets: list[tuple[str, Callable[[], object]]] = [
            ("md", lambda: parse_markdown(text, "budget.md")),
        ]
        results["bytes"] = len(text.encode("utf-8", "surrogatepass"))
    else:
        data = html[name]()
        results["bytes"] = len(data)
        targets = [(site, lambda u=url: parse(data, u)) for site, url in URLS.items()]
    for site, fn in targets:
        start = time.perf_counter()
        try:
            fn()
            outcome = "parsed"
        except JianbaoError as err:
            outcome = f"refused: {err.reason}"[:100]
        results[site] = {"outcome": outcome, "seconds": round(time.perf_counter() - start, 3)}
    results["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=20.0, help="input size for the *-max cases (max_bytes: 20)")
    ap.add_argument("--case", action="append", help="run only these cases")
    ap.add_argument("--timeout", type=float, default=60.0, help="kill a case after this many seconds")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    size = int(args.mb * 1_000_000)
    if args.child:
        print(json.dumps(run_case(args.child, size)))
        return 0
    names = args.case or [*html_cases(size), *md_cases(size)]
    failed = 0
    print(f"{'case':24} {'MB':>6} {'peak MB':>8}  per entry point: outcome, seconds")
    for name in names:
        cmd = [sys.executable, __file__, "--child", name, "--mb", str(args.mb)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=os.environ)
        except subprocess.TimeoutExpired:
            print(f"{name:24} {'':>6} {'':>8}  KILLED after {args.timeout:.0f} s")
            failed += 1
            continue
        if proc.returncode != 0:
            print(
                f"{name:24} crashed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}"
            )
            failed += 1
            continue
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        parts = []
        ok = float(str(res["peak_mb"])) <= MEMORY_LIMIT_MB
        for site in ("web", "qq", "wechat", "md"):
            if site in res:
                r = res[site]
                assert isinstance(r, dict)
                ok = ok and r["seconds"] <= TIME_LIMIT
                parts.append(f"{site}: {r['outcome']} {r['seconds']:.2f}s")
        failed += not ok
        mb = int(str(res["bytes"])) / 1e6
        print(f"{name:24} {mb:6.1f} {res['peak_mb']:8.0f}  {'; '.join(parts)}{'' if ok else '  <-- OVER BUDGET'}")
    print(f"{failed} case(s) over {TIME_LIMIT:.0f} s / {MEMORY_LIMIT_MB} MB" if failed else "all within budget")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
