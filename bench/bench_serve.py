"""``jianbao serve`` benchmark, run by hand: feed and search latency, and the server's memory.

    .venv/bin/python bench/bench_storage.py --db /tmp/bench100k.db --keep --skip-archive   # once: 100,000 articles
    .venv/bin/python bench/bench_serve.py --db /tmp/bench100k.db

Starts the real ``jianbao serve`` (uvicorn) on 127.0.0.1 over the database, read-only, and times
requests one after another from this process (httpx, keep-alive, no proxy):

- ``/feed.atom`` of the newest 50, of one account, of one source (each first request renders every
  entry's Markdown: "cold"; a reader polling again gets the cached document: "warm"), and a poll with
  ``If-None-Match`` (304);
- ``/search?q=`` with one-, two- and three/four-character words of the generated vocabulary;
- the server's resident memory (VmRSS) and its peak (VmHWM) after all of it.

Prints numbers, asserts nothing. Targets: median < 50 ms per request, server RSS < 200 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_storage import COMMON, TextMaker  # noqa: E402
from serve.app import SEARCH_LIMIT  # noqa: E402
from storage.feeds import open_readonly  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) // 1024
    return out


def timed(client: httpx.Client, path: str, headers: dict[str, str] | None = None) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    response = client.get(path, headers=headers)
    elapsed = 1e3 * (time.perf_counter() - t0)
    if response.status_code not in (200, 304):
        raise SystemExit(f"{path}: HTTP {response.status_code}: {response.text[:200]}")
    return elapsed, response


def report(label: str, times: list[float], note: str = "") -> None:
    print(
        f"{label:44s} median {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms"
        f"  ({len(times)} requests){'  ' + note if note else ''}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="database (bench_storage.py --db FILE --keep builds one)")
    ap.add_argument("--repeat", type=int, default=20, help="requests per warm measurement")
    args = ap.parse_args()
    if not args.db.exists():
        raise SystemExit(f"{args.db}: no such database (build one with bench/bench_storage.py --db {args.db} --keep)")
    jianbao = Path(sys.executable).parent / "jianbao"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    workdir = tempfile.TemporaryDirectory()  # serve.secret goes beside the (absent) config.toml
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen(
        [str(jianbao), "--db", str(args.db.resolve()), "serve", "--port", str(port)],
        cwd=workdir.name,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with httpx.Client(base_url=base, trust_env=False, timeout=60) as client:
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/healthz").status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start: {proc.stderr.read() if proc.stderr else ''}")
                time.sleep(0.1)
            print(f"server pid {proc.pid}, memory at start {memory(proc.pid)} MB; database {args.db}")
            run(client, args.repeat, args.db)
            print(f"server memory after the runs (MB): {memory(proc.pid)}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        workdir.cleanup()


def run(client: httpx.Client, repeat: int, db: Path) -> None:
    rng = random.Random(11)
    accounts = [f"公众号{n}" for n in rng.sample(range(1, 501), 10)]
    accounts += [f"媒体{n}" for n in rng.sample(range(1, 301), 10)]

    cold, response = timed(client, "/feed.atom")
    size = len(response.content)
    warm = [timed(client, "/feed.atom")[0] for _ in range(repeat)]
    report("/feed.atom (newest 50), first request", [cold], f"{size / 1024:.0f} KB")
    report("/feed.atom (newest 50), again", warm)
    etag = response.headers["etag"]
    polls = [timed(client, "/feed.atom", {"If-None-Match": etag})[0] for _ in range(repeat)]
    report("/feed.atom with If-None-Match (304)", polls)

    per_account = [timed(client, f"/feed.atom?account={a}")[0] for a in accounts]
    report("/feed.atom?account= (20 accounts, first)", per_account)
    per_account_warm = [timed(client, f"/feed.atom?account={a}")[0] for a in accounts]
    report("/feed.atom?account= (20 accounts, again)", per_account_warm)
    report("/feed.atom?source=wechat, first", [timed(client, "/feed.atom?source=wechat")[0]])
    report("/feed.json (newest 50), first", [timed(client, "/feed.json")[0]])
    report("/feed.atom?limit=500, first", [timed(client, "/feed.atom?limit=500")[0]])
    report("/opml", [timed(client, "/opml")[0] for _ in range(3)])

    maker = TextMaker()
    mid = maker.words[200:3000]
    queries = {
        "one character": list(rng.sample(COMMON[:300], 5)),
        "two characters": [w for w in rng.sample(mid, 400) if len(w) == 2][:10],
        "three or four characters": [w for w in rng.sample(mid, 400) if len(w) >= 3][:10],
        "two words": [f"{a} {b}" for a, b in zip(mid[0:40:4], mid[1:40:4], strict=True)][:5],
    }
    everything: list[float] = []
    for label, words in queries.items():
        times = [timed_search(client, w) for w in words]
        everything += times
        report(f"/search?q= {label}", times, f"e.g. {words[0]!r}")
    report("/search?q= all of the above", everything)
    # the same queries straight on the storage layer, in this process: what the page adds on top
    store = open_readonly(db)
    direct: list[float] = []
    for words in queries.values():
        for w in words:
            t0 = time.perf_counter()
            store.search(w, limit=SEARCH_LIMIT)
            direct.append(1e3 * (time.perf_counter() - t0))
    store.close()
    report("Store.search, the same 30 queries (no HTTP)", direct)
    report("/ (newest 30)", [timed(client, "/")[0] for _ in range(5)])
    report("/?page=100", [timed(client, "/?page=100")[0]])


def timed_search(client: httpx.Client, word: str) -> float:
    t0 = time.perf_counter()
    response = client.get("/search", params={"q": word})
    if response.status_code != 200:
        raise SystemExit(f"search {word!r}: HTTP {response.status_code}")
    return 1e3 * (time.perf_counter() - t0)


if __name__ == "__main__":
    main()
