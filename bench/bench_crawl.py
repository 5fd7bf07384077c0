"""A crawl over sources that list only already-stored URLs: how long it takes, and that it fetches none.

Run by hand:  .venv/bin/python bench/bench_crawl.py [--urls 1000]

Stores N articles in a fresh database (through storage.Store, as an import would), lists their URLs in
a `urls` source, and runs the installed `jianbao crawl` against a loopback server that would answer
every article URL. Target (issue 4): under 2 s, no article fetched.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from parsers.article import SHANGHAI, Article  # noqa: E402
from storage import Store  # noqa: E402
from tests.conftest import jianbao_command  # noqa: E402
from tests.localserver import LocalServer, Reply  # noqa: E402

CONFIG = """
db = "bench.db"
[politeness]
default = 0
[[sources]]
name = "backlog"
kind = "urls"
path = "urls.txt"
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--urls", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LocalServer(Path(tmp), lifetime=600) as server:
        work = Path(tmp)
        urls = [f"https://news.qq.com/rain/a/20250207A{n:05d}00" for n in range(args.urls)]
        with Store(work / "bench.db") as store, store.transaction():
            for n, url in enumerate(urls):
                article = Article(
                    url=url,
                    source="qq",
                    kind="article",
                    title=f"第{n}条",
                    article_id=url.rsplit("/", 1)[1],
                    published=datetime(2025, 2, 7, tzinfo=SHANGHAI),
                    body=f"正文{n}，内容各不相同：{n * 7919}。",
                )
                store.save_article(article, aliases=[url])
        for url in urls:
            server.route("news.qq.com", url.split("news.qq.com", 1)[1], Reply.html("<p>should not be fetched</p>"))
        (work / "config.toml").write_text(CONFIG, encoding="utf-8")
        (work / "urls.txt").write_text("\n".join(urls), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")} | server.env
        start = time.perf_counter()
        command = [*jianbao_command(), "crawl", "-v"]
        proc = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        fetched = len(server.requests)
    print(f"crawl over {args.urls} stored URLs: {elapsed:.2f} s (target < 2 s), exit {proc.returncode}, "
          f"{fetched} requests (target 0)")  # fmt: skip
    output = (proc.stdout + proc.stderr).strip().splitlines()
    print("  " + (output[-1] if output else "(no output)"))


if __name__ == "__main__":
    main()
