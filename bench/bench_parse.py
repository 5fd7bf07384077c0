"""Parse throughput over every page in ../shared/corpus, against trafilatura and a bare DOM parse.

Run by hand:  .venv/bin/python bench/bench_parse.py [--rounds 3]

Timings over the same pages, in the same run, best of N rounds:
  jianbao          parsers.parse(bytes, url): decode, pick the parser, build the Article (NotAnArticle counts)
  trafilatura      trafilatura.extract(html): its default, plain text, no metadata
  trafilatura-job  trafilatura.extract with the job jianbao does: Markdown, images, links, metadata
  floor            selectolax LexborHTMLParser(bytes).body.text(): the least any DOM-based parser can do
                   from the same input (it decodes too)
Targets (issue 2): jianbao >= 15x trafilatura's pages/s, and within 5x of the floor's time.
Then the portal pages alone (corpus/web, the generic path; issue 13): jianbao >= 10x trafilatura-job.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from parsers import parse  # noqa: E402
from parsers.decode import decode_html  # noqa: E402
from parsers.errors import JianbaoError  # noqa: E402
from parsers.origin import find_origin_url  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
FALLBACK_URL = {
    "wechat": "https://mp.weixin.qq.com/s/bench",
    "qq": "https://news.qq.com/rain/a/bench",
    "web": "https://news.example.cn/a/bench.html",
}


def load_pages() -> list[tuple[str, bytes, str]]:
    pages = []
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix.lower() not in (".html", ".htm"):
            continue
        data = path.read_bytes()
        kind = path.relative_to(CORPUS).parts[0]
        portal = _portal_url(path.name) if kind == "web" else None
        url = portal or find_origin_url(decode_html(data)) or FALLBACK_URL.get(kind, FALLBACK_URL["web"])
        pages.append((path.name, data, url))
    return pages


def _portal_url(name: str) -> str | None:
    # the address each portal page was read under in bench/eval_portals.py (most record none)
    sys.path.insert(0, str(ROOT / "bench"))
    from eval_portals import PAGES

    facts = PAGES.get(name)
    return facts.url if facts else None


def best_of(rounds: int, fn: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if not CORPUS.exists():
        sys.exit(f"no corpus at {CORPUS}")
    import trafilatura
    from selectolax.lexbor import LexborHTMLParser

    pages = load_pages()
    texts = [decode_html(data) for _, data, _ in pages]
    total_mb = sum(len(d) for _, d, _ in pages) / 1e6

    def run_jianbao() -> None:
        for _, data, url in pages:
            with contextlib.suppress(JianbaoError):
                parse(data, url)

    def run_trafilatura() -> None:
        for text in texts:
            trafilatura.extract(text)

    def run_trafilatura_job() -> None:
        for text, (_, _, url) in zip(texts, pages, strict=True):
            trafilatura.extract(
                text,
                url=url,
                output_format="markdown",
                include_images=True,
                include_links=True,
                include_tables=True,
                with_metadata=True,
            )

    def run_floor() -> None:
        for _, data, _ in pages:
            tree = LexborHTMLParser(data)
            if tree.body is not None:
                tree.body.text()

    print(f"{len(pages)} pages, {total_mb:.1f} MB, best of {args.rounds} rounds")
    per_page = {}
    runs = (
        ("floor", run_floor),
        ("jianbao", run_jianbao),
        ("trafilatura", run_trafilatura),
        ("trafilatura-job", run_trafilatura_job),
    )
    for name, fn in runs:
        seconds = best_of(args.rounds, fn)
        per_page[name] = seconds
        print(f"  {name:<16} {seconds:7.3f} s  {len(pages) / seconds:8.1f} pages/s  {total_mb / seconds:7.1f} MB/s")
    j = per_page["jianbao"]
    print(f"jianbao vs trafilatura (default):  {per_page['trafilatura'] / j:.1f}x faster (target >= 15x)")
    print(f"jianbao vs trafilatura (same job): {per_page['trafilatura-job'] / j:.1f}x faster (target >= 15x)")
    print(f"jianbao vs floor:                  {j / per_page['floor']:.1f}x the floor's time (target <= 5x)")
    web = [(p, t) for p, t in zip(pages, texts, strict=True) if (CORPUS / "web" / p[0]).exists()]
    if web:

        def run_web_jianbao() -> None:
            for (_, data, url), _text in web:
                with contextlib.suppress(JianbaoError):
                    parse(data, url)

        def run_web_trafilatura_job() -> None:
            for (_, _, url), text in web:
                trafilatura.extract(
                    text,
                    url=url,
                    output_format="markdown",
                    include_images=True,
                    include_links=True,
                    include_tables=True,
                    with_metadata=True,
                )

        ours = best_of(args.rounds, run_web_jianbao)
        theirs = best_of(args.rounds, run_web_trafilatura_job)
        mb = sum(len(p[1]) for p, _ in web) / 1e6
        print(f"portal pages only (corpus/web, the generic path): {len(web)} pages, {mb:.1f} MB")
        for label, seconds in (("jianbao", ours), ("trafilatura-job", theirs)):
            rate, ms = len(web) / seconds, seconds / len(web) * 1000
            print(f"  {label:<16} {seconds:7.3f} s  {rate:8.1f} pages/s  {ms:6.1f} ms/page")
        print(f"generic path vs trafilatura (same job): {theirs / ours:.1f}x faster (target >= 10x)")
    print("per page (jianbao, ms):")
    for name, data, url in pages:
        t = best_of(args.rounds, lambda d=data, u=url: _quiet_parse(d, u))
        print(f"  {t * 1000:7.1f}  {len(data) / 1e6:5.2f} MB  {name}")


def _quiet_parse(data: bytes, url: str) -> None:
    with contextlib.suppress(JianbaoError):
        parse(data, url)


if __name__ == "__main__":
    main()
