"""Import throughput and peak memory, against parse-only throughput on the same pages.

Run by hand:  .venv/bin/python bench/bench_import.py [--pages 2000] [--pad-kb 300]

Serves N generated article pages (WeChat and qq.com shapes, each padded with inline script to the size
of a real page: a site-wide script shared by every page plus a few KB of its own, as the real sites
serve them) from a loopback HTTPS proxy, runs the installed `jianbao import -f LIST` with
politeness 0 into a fresh database, and reports pages/s and the import process's peak RSS. Then times
parsers.parse over the same page bytes in this process.
Set BENCH_WRAP to a command prefix to run the import under a sampling profiler, e.g.
BENCH_WRAP="py-spy record -r 250 -f raw -o spy.txt --" (it sees every thread, which --profile does not).
Targets (issue 3): import >= half the parse-only throughput; peak memory < 300 MB for 2,000 pages.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from parsers import parse  # noqa: E402
from tests.conftest import jianbao_command  # noqa: E402
from tests.localserver import LocalServer, Reply  # noqa: E402
from tests.pages import qq_id, qq_page, wechat_page  # noqa: E402

CONFIG = """
db = "bench.db"
[http]
concurrency = 8
retries = 1
[http.daily_limit]
# the default daily cap (300 WeChat pages an exit) would leave most of the pages pending
"mp.weixin.qq.com" = 1000000
[politeness]
"mp.weixin.qq.com" = 0
"qq.com" = 0
default = 0
"""


OWN_KB = 8  # script of a page's own (its data, ids, config); the rest of the padding is site-wide


@functools.cache
def site_script(family: str, kb: int) -> str:
    """The site-wide script every page of a family repeats (WeChat's is ~2 MB of the same JavaScript):
    seeded, JS-like and not trivially compressible, so the archive's dictionary does the real work."""
    rng = random.Random(family)
    names = ["".join(rng.choices(string.ascii_letters, k=rng.randint(3, 12))) for _ in range(2000)]
    lines, size = [], 0
    while size < kb * 1024:
        a, b, c = rng.sample(names, 3)
        line = f"function {a}({b},{c}){{return {b}.{rng.choice(names)}({c}+{rng.randint(0, 99999)})||{a}.x}}\n"
        lines.append(line)
        size += len(line)
    return "".join(lines)


def padded(page: str, pad_kb: int, n: int, family: str) -> bytes:
    # real pages are mostly inline script: the site's own, the same on every page, plus a little per page
    own = "".join(f"var x{n}_{i} = '{(n * 7919 + i) % 100003:05d}' + 'jianbao';\n" for i in range(OWN_KB * 1024 // 36))
    script = site_script(family, max(0, pad_kb - OWN_KB)) + own
    return page.replace("</head>", f"<script>{script}</script></head>", 1).encode("utf-8")


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--pad-kb", type=int, default=300)
    ap.add_argument("--profile", metavar="FILE", help="run the import under cProfile, writing FILE")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LocalServer(Path(tmp), lifetime=3600) as server:
        work = Path(tmp)
        pages: list[tuple[str, bytes]] = []
        for n in range(args.pages):
            if n % 2:
                url, body = f"https://news.qq.com/rain/a/{qq_id(n)}", padded(qq_page(n), args.pad_kb, n, "qq")
                server.route(
                    "news.qq.com", f"/rain/a/{qq_id(n)}", Reply(200, body, {"Content-Type": "text/html; charset=utf-8"})
                )
            else:
                url = f"https://mp.weixin.qq.com/s/b{n}"
                body = padded(wechat_page(n, images=20), args.pad_kb, n, "wechat")
                server.route(
                    "mp.weixin.qq.com", f"/s/b{n}", Reply(200, body, {"Content-Type": "text/html; charset=utf-8"})
                )
            pages.append((url, body))
        total_mb = sum(len(b) for _, b in pages) / 1e6
        (work / "config.toml").write_text(CONFIG, encoding="utf-8")
        (work / "urls.txt").write_text("\n".join(u for u, _ in pages), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")} | server.env

        command = [*jianbao_command(), "import", "-f", "urls.txt"]
        if os.environ.get("BENCH_WRAP"):
            command = [*os.environ["BENCH_WRAP"].split(), *command]
        if args.profile:
            command = [sys.executable, "-m", "cProfile", "-o", str(Path(args.profile).resolve()), *command]
        start = time.perf_counter()
        server_cpu = time.process_time()  # the TLS server runs in this process's threads
        proc = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.DEVNULL)
        # VmHWM, not wait4's ru_maxrss: the latter counts the instant after fork(), when the child still
        # shares this process's memory (every page it serves); VmHWM starts afresh at exec.
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
        server_cpu = time.process_time() - server_cpu
        import_cpu = usage.ru_utime + usage.ru_stime
        code = os.waitstatus_to_exitcode(status)
        peak_mb = peak_kb / 1024
        db_mb = (work / "bench.db").stat().st_size / 1e6

        start = time.perf_counter()
        for url, body in pages:
            parse(body, url)
        parse_s = time.perf_counter() - start

    print(f"{args.pages} pages, {total_mb:.0f} MB served over loopback HTTPS (proxy), exit {code}")
    print(
        f"  import      {elapsed:7.2f} s  {args.pages / elapsed:7.1f} pages/s  peak RSS {peak_mb:.0f} MB (target < 300)"
    )
    print(
        f"  CPU during the import: jianbao {import_cpu:.1f} s ({1e3 * import_cpu / args.pages:.1f} ms/page),"
        f" local TLS server {server_cpu:.1f} s; {(import_cpu + server_cpu) / elapsed:.2f} of 2 cores busy"
    )
    print(f"  parse only  {parse_s:7.2f} s  {args.pages / parse_s:7.1f} pages/s")
    print(f"  import / parse-only throughput: {parse_s / elapsed:.2f} (target >= 0.5)")
    print(f"  database {db_mb:.0f} MB ({db_mb / total_mb:.1%} of the pages' size, raw archive included)")


if __name__ == "__main__":
    main()
