"""Search over pathological articles, run by hand: a clipping repeating one phrase until it is 2 MB
(87,000 times, as issue 16 found it) and one of 100 MB, among ordinary articles.

    .venv/bin/python bench/bench_search_hostile.py                 # 2,000 ordinary articles, 2 MB and 100 MB
    .venv/bin/python bench/bench_search_hostile.py --sizes 2 --articles 20000

Prints, per query that matches the pathological articles, the median of 5 searches (snippets
included) and the time it took to save each article. Target: every search < 200 ms. Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_storage import TextMaker, make_article  # noqa: E402

from parsers.article import SHANGHAI, Article  # noqa: E402
from storage import Store  # noqa: E402

PHRASE = "重要的事情说三遍，"  # 9 characters, 27 bytes: 87,000 of them make a 2 MB clipping once framed
QUERIES = ("重要的事情", "事情说", "三遍", "重", "重要 三遍", "事情 的")


def pathological(n: int, megabytes: int) -> Article:
    repeats = megabytes * 1_000_000 // len(PHRASE.encode("utf-8")) + 1
    return Article(
        url=f"https://example.com/clip/{n}",
        source="web",
        kind="article",
        title=f"剪藏 {megabytes} MB",
        body=PHRASE * repeats,
        published=datetime(2025, 1, 1, tzinfo=SHANGHAI),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=2000, help="ordinary articles around them")
    ap.add_argument("--sizes", type=int, nargs="+", default=[2, 100], help="pathological articles, in MB")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "hostile.db") as store:
        maker = TextMaker()
        with store.transaction():
            for n in range(args.articles):
                store.save_article(make_article(maker, n, 1200))
        for n, size in enumerate(args.sizes):
            big = pathological(n, size)
            t0 = time.perf_counter()
            store.save_article(big)
            print(f"saved a {len(big.body.encode()) / 1e6:.0f} MB article ({len(big.body):,} characters)"
                  f" in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        print(f"{args.articles:,} ordinary articles; searches matching the pathological ones (median of 5):")
        for query in QUERIES:
            times = []
            hits = []
            for _ in range(5):
                t0 = time.perf_counter()
                hits = store.search(query)
                times.append(time.perf_counter() - t0)
            print(
                f"  {query!r:14} {1e3 * statistics.median(times):7.1f} ms  max {1e3 * max(times):7.1f} ms"
                f"  {len(hits)} hits, snippet {len(hits[0].snippet) if hits else 0} characters"
            )


if __name__ == "__main__":
    main()
