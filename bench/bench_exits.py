"""A cron crawl of a WeChat backlog through 1, 2 and 4 exits: does wall time fall as 1/N?

Run by hand:  .venv/bin/python bench/bench_exits.py [--urls 300] [--interval 0.2] [--exits 1,2,4]

For each N, a fresh database and N loopback forward proxies (tests/localserver.py, one CA for all),
each posing as mp.weixin.qq.com; config.toml lists them as ``[http] proxies`` with WeChat's interval
set to ``--interval``, and a `urls` source lists the same ``--urls`` article links. The installed
``jianbao crawl`` runs as a real process; its wall time is measured from start to exit. Ideal time is
urls * interval / N (each exit at its own pace). Target (issue 11): time(1) / time(N) within 20% of N.
Also checked per exit: its share of the requests and the smallest gap between the arrivals of two of
its requests (politeness holds: never below the interval, give or take the loopback's jitter).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import jianbao_command  # noqa: E402
from tests.localserver import LocalServer, Recorded, Reply  # noqa: E402
from tests.pages import wechat_ids, wechat_long_url, wechat_page  # noqa: E402

WX = "mp.weixin.qq.com"
CONFIG = """
db = "bench.db"
[http]
proxies = {proxies}
[http.daily_limit]
"mp.weixin.qq.com" = 1000000
[politeness]
"mp.weixin.qq.com" = {interval}
default = 0
[[sources]]
name = "backlog"
kind = "urls"
path = "urls.txt"
"""


def article(request: Recorded) -> Reply:
    mid = parse_qs(urlsplit(request.path).query).get("mid", ["0"])[0]
    return Reply.html(wechat_page(int(mid) - int(wechat_ids(0)["mid"])))


def run(n_exits: int, urls: list[str], interval: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        servers: list[LocalServer] = []
        for i in range(n_exits):
            folder = work / f"exit-{i}"
            folder.mkdir()
            server = LocalServer(folder, lifetime=900)
            if servers:
                server.ca = servers[0].ca
            stack.enter_context(server)
            server.route(WX, "/s", article)
            servers.append(server)
        proxies = json.dumps([f"http://127.0.0.1:{s.port}" for s in servers])
        (work / "config.toml").write_text(CONFIG.format(proxies=proxies, interval=interval), encoding="utf-8")
        (work / "urls.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env["SSL_CERT_FILE"] = str(servers[0].ca_file)
        start = time.perf_counter()
        proc = subprocess.run([*jianbao_command(), "crawl"], cwd=work, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        per_exit = [[r.at for r in s.requests_to(WX)] for s in servers]
        gaps = [b - a for times in per_exit for a, b in itertools.pairwise(times)]
        output = (proc.stdout + proc.stderr).strip().splitlines()
        return {
            "exits": n_exits,
            "seconds": elapsed,
            "code": proc.returncode,
            "requests": [len(t) for t in per_exit],
            "min_gap": min(gaps) if gaps else None,
            "last_line": output[-1] if output else "",
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--urls", type=int, default=300)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--exits", default="1,2,4")
    args = ap.parse_args()
    urls = [wechat_long_url(n) for n in range(1, args.urls + 1)]
    results = [run(int(n), urls, args.interval) for n in args.exits.split(",")]
    base = results[0]
    print(f"{args.urls} WeChat URLs, interval {args.interval:g} s, `jianbao crawl` (a real process) per run")
    print(f"{'exits':>5}  {'wall':>7}  {'ideal':>7}  {'speed-up':>8}  {'vs N':>6}  {'min gap':>7}  requests per exit")
    for r in results:
        n = int(r["exits"])  # type: ignore[call-overload]
        seconds = float(r["seconds"])  # type: ignore[arg-type]
        speedup = float(base["seconds"]) / seconds * int(base["exits"])  # type: ignore[arg-type, call-overload]
        ideal = args.urls * args.interval / n
        gap = f"{r['min_gap']:.3f}" if r["min_gap"] is not None else "-"
        print(
            f"{n:>5}  {seconds:>6.1f}s  {ideal:>6.1f}s  {speedup:>7.2f}x  {speedup / n:>5.0%}  {gap:>7}  "
            f"{r['requests']}  (exit {r['code']})"
        )
        if r["code"] != 0:
            print(f"       {r['last_line']}")


if __name__ == "__main__":
    main()
