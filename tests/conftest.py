"""Shared fixtures: the installed ``jianbao`` run against a loopback server and a real SQLite file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

if sys.dont_write_bytecode:
    # PYTHONDONTWRITEBYTECODE (set on this machine) made every run, and every jianbao subprocess a test
    # starts, compile all modules from source: collection alone took 5 s instead of 1.6 s. The compiled
    # files go to a folder in the temporary directory instead of beside the sources, which is what the
    # setting keeps clean.
    sys.pycache_prefix = os.path.join(tempfile.gettempdir(), "jianbao-pycache")
    sys.dont_write_bytecode = False
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = sys.pycache_prefix

from tests.localserver import LocalServer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
FIXTURES = ROOT / "fixtures"

FAST_CONFIG = """
db = "jianbao.db"
[http]
timeout = {timeout}
retries = 3
backoff = 0.05
backoff_max = 2.0
cooldown = 60.0
{extra_http}
[politeness]
"mp.weixin.qq.com" = {wechat}
"qq.com" = {qq}
default = 0
{sources}
"""


def jianbao_command() -> list[str]:
    """The console script pip installed beside this interpreter (what a user runs)."""
    script = Path(sys.executable).parent / "jianbao"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from ingest.cli import main; main()"]


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return [ln for ln in self.out.splitlines() if ln.strip()]


class Env:
    """A working directory with config.toml, a database path and a local server for the network."""

    def __init__(self, path: Path, server: LocalServer) -> None:
        self.path = path
        self.server = server
        self.db = path / "jianbao.db"
        self.write_config()

    def write_config(
        self, *, sources: str = "", wechat: float = 0, qq: float = 0, timeout: float = 2.0, extra_http: str = ""
    ) -> None:
        (self.path / "config.toml").write_text(
            FAST_CONFIG.format(sources=sources, wechat=wechat, qq=qq, timeout=timeout, extra_http=extra_http),
            encoding="utf-8",
        )

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and k != "SSL_CERT_DIR"}
        env.update(self.server.env)
        env.pop("JIANBAO_DB", None)
        env.pop("JIANBAO_CONFIG", None)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def run(self, *args: str, timeout: float = 120, stdin: str | None = None, process: bool = False) -> Result:
        """Run ``jianbao ARGS`` in this folder: in-process through click's runner (fast), or with
        ``process=True`` as the installed console script in a real process (exit codes as the shell
        sees them, signals, locks between processes)."""
        if not process:
            return self.invoke(*args, stdin=stdin)
        proc = subprocess.run(
            [*jianbao_command(), *args],
            cwd=self.path,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def invoke(self, *args: str, stdin: str | None = None) -> Result:
        from click.testing import CliRunner

        from ingest.cli import cli

        wanted = self.environ()
        # what the subprocess would not inherit is unset for the call, the rest set
        env: dict[str, str | None] = {k: None for k in os.environ if k not in wanted}
        env.update({k: v for k, v in wanted.items() if os.environ.get(k) != v})
        old = os.getcwd()
        os.chdir(self.path)
        try:
            result = CliRunner(env=env).invoke(cli, list(args), input=stdin, catch_exceptions=True)
        finally:
            os.chdir(old)
        err = result.stderr
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            # what a real process would print: the traceback on stderr, exit status 1
            import traceback

            err += "".join(traceback.format_exception(result.exception))
        return Result(result.exit_code, result.stdout, err)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*jianbao_command(), *args],
            cwd=self.path,
            env=self.environ(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def sql(self, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        con = sqlite3.connect(self.db)
        try:
            return con.execute(query, params).fetchall()
        finally:
            con.close()

    def sql_write(self, query: str, params: tuple[object, ...] = ()) -> None:
        con = sqlite3.connect(self.db)
        try:
            with con:
                con.execute(query, params)
        finally:
            con.close()

    def count_safe(self, table: str) -> int:
        """Like count, while another process may still be creating the file or holding a write."""
        try:
            return self.count(table)
        except sqlite3.Error:
            return 0

    def count(self, table: str) -> int:
        if not self.db.exists():
            return 0
        return int(self.sql(f"select count(*) from {table}")[0][0])


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with LocalServer(tmp_path, lifetime=300) as server:
        yield Env(tmp_path, server)


def corpus_files(kind: str, pattern: str = "*.htm*") -> list[Path]:
    folder = CORPUS / kind
    return sorted(folder.glob(pattern)) if folder.exists() else []
