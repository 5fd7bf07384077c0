"""Storage benchmark, run by hand: save rate, search latency, archive ratio and compression speed.

    .venv/bin/python bench/bench_storage.py                  # 100,000 synthetic articles + the corpus archive
    .venv/bin/python bench/bench_storage.py --articles 20000 --db /tmp/bench.db --keep

Prints numbers, asserts nothing. Targets: multi-character query < 50 ms, two-character query < 200 ms,
archive ≤ 15% of the corpus, ≥ 40 pages/s on ~1 MB pages; the save rate is reported (2,000/s was
withdrawn in issue 12: the search index is written in each article's transaction). To compare index
designs, run the same command on two checkouts (the database size is printed after the saves).
"""

from __future__ import annotations

import argparse
import lzma
import random
import statistics
import sys
import tempfile
import time
import zlib
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import zstandard  # noqa: E402

from parsers.article import SHANGHAI, Article  # noqa: E402
from storage import Store  # noqa: E402
from storage.text import simhash, story_text  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"

# the most frequent characters of modern Chinese news text, roughly in frequency order
COMMON = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学"
    "法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外"
    "天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很"
    "情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她"
    "手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研市场企业技术服务城市政策投资增长发展经济项目建设教育医疗"
)
PUNCT = "，，，，、。。。；：！？"


class TextMaker:
    """Seeded Chinese-looking text: a fixed vocabulary of 1–4 character words with Zipf-like frequencies."""

    def __init__(self, seed: int = 2025) -> None:
        self.rng = random.Random(seed)
        lengths = (1, 2, 2, 2, 2, 3, 3, 4)
        self.words = ["".join(self.rng.choices(COMMON, k=self.rng.choice(lengths))) for _ in range(12000)]
        self.weights = [1.0 / (rank + 10) for rank in range(len(self.words))]
        self.cum = list(_accumulate(self.weights))

    def sentence(self) -> str:
        words = self.rng.choices(self.words, cum_weights=self.cum, k=self.rng.randint(6, 18))
        return "".join(words) + self.rng.choice(PUNCT)

    def body(self, chars: int) -> str:
        paras: list[str] = []
        total = 0
        while total < chars:
            para = "".join(self.sentence() for _ in range(self.rng.randint(2, 6)))
            paras.append(para)
            total += len(para)
        return "\n\n".join(paras)


def _accumulate(values: list[float]) -> list[float]:
    out, acc = [], 0.0
    for v in values:
        acc += v
        out.append(acc)
    return out


def make_article(maker: TextMaker, n: int, mean_chars: int) -> Article:
    rng = maker.rng
    chars = max(80, int(rng.gauss(mean_chars, mean_chars / 2)))
    published = datetime(2024, 1, 1, 8, 0, tzinfo=SHANGHAI) + timedelta(minutes=7 * n)
    title = "".join(rng.choices(maker.words, cum_weights=maker.cum, k=rng.randint(4, 9)))
    if rng.random() < 0.5:
        return Article(
            url=f"https://news.qq.com/rain/a/2024{n:08d}",
            source="qq",
            kind="article",
            title=title,
            body=maker.body(chars),
            account=f"媒体{rng.randint(1, 300)}",
            article_id=f"2024{n:08d}",
            published=published,
        )
    return Article(
        url=f"https://mp.weixin.qq.com/s?__biz=MzA{n % 500}&mid={n}&idx=1&sn=s{n}",
        source="wechat",
        kind="article",
        title=title,
        body=maker.body(chars),
        account=f"公众号{rng.randint(1, 500)}",
        biz=f"MzA{n % 500}",
        mid=str(n),
        idx="1",
        sn=f"s{n}",
        published=published,
    )


def bench_saves(store: Store, count: int, batch: int, mean_chars: int) -> TextMaker:
    maker = TextMaker()
    print(f"saving {count:,} synthetic articles (mean body {mean_chars} characters) in batches of {batch}")
    done = 0
    rates: list[float] = []
    total_time = 0.0
    gen_time = 0.0
    t_start = time.perf_counter()
    while done < count:
        g0 = time.perf_counter()
        articles = [make_article(maker, done + i, mean_chars) for i in range(min(batch, count - done))]
        g1 = time.perf_counter()
        gen_time += g1 - g0
        with store.transaction():
            for a in articles:
                store.save_article(a, aliases=[a.url + "&from=bench"])
        dt = time.perf_counter() - g1
        total_time += dt
        done += len(articles)
        rates.append(len(articles) / dt)
        if done % (batch * 20) == 0 or done == count:
            print(
                f"  {done:>8,} saved  last batch {rates[-1]:7.0f}/s  overall {done / total_time:7.0f}/s"
                f"  (wall {time.perf_counter() - t_start:6.0f} s)",
                flush=True,
            )
    print(f"save rate: {count / total_time:.0f} articles/s overall (text generation excluded, {gen_time:.0f} s)")
    print(
        f"  first 10% of batches {statistics.mean(rates[: max(1, len(rates) // 10)]):.0f}/s,"
        f" last 10% {statistics.mean(rates[-max(1, len(rates) // 10) :]):.0f}/s"
    )
    return maker


def bench_parts(maker: TextMaker, mean_chars: int) -> None:
    bodies = [maker.body(mean_chars) for _ in range(300)]
    t0 = time.perf_counter()
    texts = [story_text(b) for b in bodies]
    t1 = time.perf_counter()
    for t in texts:
        simhash(t)
    t2 = time.perf_counter()
    print(f"per article in Python: normalise {1e3 * (t1 - t0) / 300:.2f} ms, simhash {1e3 * (t2 - t1) / 300:.2f} ms")


def timed(store: Store, query: str, repeat: int = 5) -> tuple[float, int]:
    times = []
    hits = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        hits = len(store.search(query))
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times), hits


def bench_search(store: Store, maker: TextMaker) -> None:
    rng = random.Random(7)
    mid = maker.words[200:3000]
    long3 = [w for w in mid if len(w) >= 3]
    cases: list[tuple[str, list[str]]] = [
        ("multi-character (3–4 chars)", [w for w in rng.sample(mid, 400) if len(w) >= 3][:8]),
        ("two words of 3+ chars", [f"{a} {b}" for a, b in zip(long3[0:16:2], long3[1:16:2], strict=True)]),
        ("two-character", [w for w in rng.sample(mid, 400) if len(w) == 2][:8]),
        ("two-character, frequent", [w for w in maker.words[:200] if len(w) == 2][:5]),
        ("one-character", list(rng.sample(COMMON[:300], 3))),
        ("mixed 1 + 3 chars", [f"{rng.choice(COMMON[:100])} {w}" for w in mid if len(w) == 3][:5]),
    ]
    for label, queries in cases:
        results = [timed(store, q) for q in queries]
        ms = [r[0] for r in results]
        print(
            f"search {label:28s} median {statistics.median(ms):8.1f} ms  max {max(ms):8.1f} ms"
            f"  ({len(queries)} queries, e.g. {queries[0]!r} -> {results[0][1]} hits)"
        )
    for label, kwargs in (("+ source filter", {"source": "qq"}), ("+ since filter", {"since": datetime(2024, 6, 1)})):
        q = next(w for w in mid if len(w) >= 3)
        t0 = time.perf_counter()
        store.search(q, **kwargs)
        print(f"search {label:28s} {1e3 * (time.perf_counter() - t0):8.1f} ms")
    t0 = time.perf_counter()
    urls = [f"https://news.qq.com/rain/a/2024{n:08d}" for n in range(0, 2000, 2)]
    seen = store.seen_urls(urls)
    print(f"seen_urls(1,000 URLs): {1e3 * (time.perf_counter() - t0):.1f} ms ({len(seen)} known)")
    t0 = time.perf_counter()
    store.list_articles(limit=50)
    print(f"list_articles(limit=50): {1e3 * (time.perf_counter() - t0):.1f} ms")


def bench_archive() -> None:
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    if not files:
        print(f"no corpus at {CORPUS}: archive benchmark skipped")
        return
    data = [p.read_bytes() for p in files]
    raw = sum(map(len, data))
    print(f"\narchive: {len(files)} files, {raw / 1e6:.1f} MB in {CORPUS}")
    codecs = {
        "zlib-9": lambda d: zlib.compress(d, 9),
        "lzma-6": lambda d: lzma.compress(d),
        "zstd-3": zstandard.ZstdCompressor(level=3).compress,
        "zstd-9": zstandard.ZstdCompressor(level=9).compress,
        "zstd-19": zstandard.ZstdCompressor(level=19).compress,
    }
    for name, fn in codecs.items():
        t0 = time.perf_counter()
        size = sum(len(fn(d)) for d in data)
        dt = time.perf_counter() - t0
        print(f"  {name:10s} page by page      {100 * size / raw:5.1f}%   {raw / dt / 1e6:6.1f} MB/s")
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "archive.db") as store:
        t0 = time.perf_counter()
        for path, content in zip(files, data, strict=True):
            # the folder names the site: give each page a URL of its kind so it joins that family
            url = (
                f"https://mp.weixin.qq.com/s/{path.name}"
                if "wechat" in path.parts
                else f"https://news.qq.com/x/{path.name}"
            )
            store.save_page(url, content=content, final_url=url, status=200, headers={"content-type": "text/html"})
        dt = time.perf_counter() - t0
        st = store.stats()
        print(
            f"  Store.save_page (zstd-9 + family dictionary): {100 * st.pages_stored / st.pages_size:5.1f}% of raw"
            f" (dictionaries included), {st.pages_size / dt / 1e6:6.1f} MB/s, {len(files) / dt:5.1f} pages/s"
            f" = about {st.pages_size / dt / 1e6:.0f} pages/s at 1 MB"
        )
        t0 = time.perf_counter()
        back = sum(len(p.content) for p in store.pages())
        dt = time.perf_counter() - t0
        print(f"  Store.pages() read back {back / 1e6:.1f} MB in {dt:.2f} s ({back / dt / 1e6:.0f} MB/s)")
        # steady state: pages after the dictionary exists (the first one per family pays for building it)
        wechat = [d for p, d in zip(files, data, strict=True) if "wechat" in p.parts and len(d) > 1_000_000]
        t0 = time.perf_counter()
        for n, content in enumerate(wechat * 5):
            url = f"https://mp.weixin.qq.com/s/again{n}"
            store.save_page(url, content=content, final_url=url, status=200, headers={})
        dt = time.perf_counter() - t0
        mb = sum(map(len, wechat)) * 5 / 1e6
        print(
            f"  steady state on {len(wechat) * 5} WeChat pages of 2–3.7 MB:"
            f" {mb / dt:.0f} MB/s, {len(wechat) * 5 / dt:.1f} pages/s"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--chars", type=int, default=1200, help="mean body length in characters")
    ap.add_argument("--db", type=Path, help="database file (default: a temporary file)")
    ap.add_argument("--keep", action="store_true", help="reuse --db when it already holds articles")
    ap.add_argument("--skip-archive", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    path = args.db or Path(tmp.name) / "bench.db"
    if path.exists() and not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    with Store(path) as store:
        existing = store.stats().articles
        if existing and args.keep:
            print(f"reusing {existing:,} articles in {path}")
            maker = TextMaker()
        else:
            maker = bench_saves(store, args.articles, args.batch, args.chars)
        bench_parts(TextMaker(seed=9), args.chars)
        print(f"database: {path.stat().st_size / 1e6:.0f} MB for {store.stats().articles:,} articles")
        bench_search(store, maker)
    if not args.skip_archive:
        bench_archive()
    tmp.cleanup()


if __name__ == "__main__":
    main()
