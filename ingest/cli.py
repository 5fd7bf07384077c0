"""The ``jianbao`` command: thin click commands over the library; the only place that prints or exits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import click

from ingest.config import Config, load_config
from ingest.errors import ConfigError
from parsers.errors import JianbaoError, NotAnArticle

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_ARTICLE = 3
EXIT_LOCKED = 75  # EX_TEMPFAIL: cron should simply try again next time
EXIT_INTERRUPTED = 130  # a second Ctrl-C: 128 + SIGINT, as shells report it


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"jianbao: {message}", err=True)
    sys.exit(code)


def echo_traceback(verbose: int, error: BaseException | None) -> None:
    """The traceback of an unforeseen error, with -v only: without it the input's one line says enough."""
    if error is not None and verbose:
        import traceback

        click.echo("".join(traceback.format_exception(error)).rstrip(), err=True)


@dataclass
class Context:
    config_path: str | None
    db_path: str | None
    verbose: int = 0
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except ConfigError as exc:
                fail(str(exc))
        return self._config

    def resolved_db(self) -> str:
        if self.db_path:
            return self.db_path
        cfg = self.config
        db = Path(cfg.db)
        if cfg.path and not db.is_absolute():
            db = cfg.base_dir / db  # a db named in config.toml is relative to that file
        return str(db)

    @contextmanager
    def store(self, *, must_exist: bool = False) -> Iterator[Any]:
        from storage import Store

        path = self.resolved_db()
        if must_exist and path != ":memory:" and not Path(path).exists():
            fail(f"{path}: no database yet (run `jianbao import` or `jianbao crawl` first)", EXIT_SOME_FAILED)
        try:
            store = Store(path)
        except JianbaoError as exc:
            fail(str(exc), EXIT_SOME_FAILED)
        from storage.errors import StoreUnwritable

        try:
            yield store
        except StoreUnwritable as exc:
            # a read-only or full database is the machine's state, not a bug: one line, nothing half-written
            fail(str(exc), EXIT_SOME_FAILED)
        finally:
            store.close()


pass_ctx = click.make_pass_decorator(Context)


# the largest number SQLite takes: a larger --limit means "all" and an id beyond it names nothing
SQLITE_MAX_INT = 2**63 - 1
# an --until day ends at the next day's midnight, which date.max does not have
LAST_DAY = date.max - timedelta(days=1)


def parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return min(date.fromisoformat(value), LAST_DAY)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2025-02-07") from None


def article_ref(ref: str) -> int | str | None:
    """An id or a URL; None for digits that can name no article (``²`` is a digit to Python, and an
    id past SQLite's integers cannot exist)."""
    if not ref.isdigit():
        return ref
    if ref.isascii() and int(ref) <= SQLITE_MAX_INT:
        return int(ref)
    return None


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--source, --account, --since, --until: the filters list, search and export share."""
    for option in reversed(
        (
            click.option("--source", type=click.Choice(["wechat", "qq", "web"]), help="Only this source."),
            click.option("--account", help="Only this WeChat account / qq media."),
            click.option("--since", metavar="YYYY-MM-DD", help="Published on or after this day."),
            click.option("--until", metavar="YYYY-MM-DD", help="Published on or before this day."),
        )
    ):
        command = option(command)
    return command


class _Group(click.Group):
    """Global options work after the command too (``jianbao list --db x.db -v``): people type them there.

    Options the command defines itself (``crawl -v``) stay the command's; everything after ``--`` stays put.
    """

    GLOBAL_WITH_VALUE = ("--db", "--config")
    GLOBAL_FLAGS = ("-v", "--verbose")

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        i = 0
        while i < len(args) and args[i] not in self.commands:  # the global options before the command
            i += 2 if args[i] in self.GLOBAL_WITH_VALUE else 1
        if i < len(args):
            command = self.commands[args[i]]
            own = {name for p in command.params for name in (*p.opts, *p.secondary_opts)}
            moved: list[str] = []
            rest: list[str] = []
            tail = args[i + 1 :]
            j = 0
            while j < len(tail):
                arg = tail[j]
                name = arg.split("=", 1)[0]
                if arg == "--":
                    rest += tail[j:]
                    break
                if name in self.GLOBAL_WITH_VALUE and name not in own:
                    take = 1 if "=" in arg else 2
                    moved += tail[j : j + take]
                    j += take
                    continue
                if (arg in self.GLOBAL_FLAGS or re.fullmatch(r"-v+", arg)) and arg not in own and "-v" not in own:
                    moved.append(arg)
                else:
                    rest.append(arg)
                j += 1
            args = [*args[:i], *moved, args[i], *rest]
        return super().parse_args(ctx, args)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jianbao")
@click.option("--db", "db_path", envvar="JIANBAO_DB", metavar="PATH", help="SQLite file (env JIANBAO_DB).")
@click.option(
    "--config",
    "config_path",
    envvar="JIANBAO_CONFIG",
    metavar="PATH",
    help="config.toml (env JIANBAO_CONFIG; default ./config.toml when present).",
)
@click.option("-v", "--verbose", count=True, help="More output; cron stays quiet without it.")
@click.pass_context
def cli(ctx: click.Context, db_path: str | None, config_path: str | None, verbose: int) -> None:
    """jianbao (剪报): collect qq.com and WeChat articles into SQLite, search and export them.

    \b
    Examples:
        jianbao import https://mp.weixin.qq.com/s/abc saved.html clip.md
        jianbao crawl
        jianbao search 台风 --limit 5
        jianbao export site/content/posts

    The options below work after the command too: jianbao list --db x.db
    """
    ctx.obj = Context(config_path=config_path, db_path=db_path, verbose=verbose)
    if config_path is not None and not ctx.resilient_parsing:
        ctx.obj.config  # noqa: B018 - a config named but missing (or broken) is an error for every command


# --- parse ------------------------------------------------------------------------------------


@cli.command("parse")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--url", help="The page's URL (default: what the page records: og:url, msg_link, …).")
def parse_cmd(file: str, url: str | None) -> None:
    """Parse a saved page and print the Article as JSON (no database).

    \b
    Example:
        jianbao parse saved.html --url https://mp.weixin.qq.com/s/abc
    """
    from parsers.saved import parse_saved

    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    try:
        # the same reader as `import`: what one accepts the other accepts, what one refuses the other does
        article = parse_saved(data, file, suffix=Path(file).suffix.lower(), url=url).article
    except NotAnArticle as exc:
        click.echo(f"{file}: not an article: {exc.reason}", err=True)
        sys.exit(EXIT_NOT_ARTICLE)
    except JianbaoError as exc:
        fail(f"{file}: {exc.reason}")
    click.echo(json.dumps(article.to_dict(), ensure_ascii=False, indent=2))


# --- import -----------------------------------------------------------------------------------


@cli.command("import")
@click.argument("inputs", nargs=-1)
@click.option("-f", "--from-file", "list_file", metavar="LIST", help="Read inputs from LIST, one per line (- = stdin).")
@click.option("--url", help="The origin URL of a saved page given as the only input.")
@pass_ctx
def import_cmd(ctx: Context, inputs: tuple[str, ...], list_file: str | None, url: str | None) -> None:
    """Import article URLs, saved .html pages and Markdown clippings.

    \b
    Example:
        jianbao import https://mp.weixin.qq.com/s/abc saved.html clip.md -f urls.txt

    Prints one line per input; exits 0 when every input was stored, updated or unchanged, else 1.
    """
    from ingest.pipeline import Importer, read_list

    items = list(inputs)
    if list_file:
        try:
            if list_file == "-":
                items += read_list(sys.stdin)
            else:
                items += read_list(Path(list_file).read_text(encoding="utf-8").splitlines())
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"{list_file}: cannot read list: {getattr(exc, 'strerror', None) or exc}")
    if not items:
        fail("nothing to import: give URLs, files, or -f LIST")
    if url and len(items) != 1:
        fail("--url goes with exactly one saved page")
    config = ctx.config
    stop = _StopRequest()

    def report(outcome: Any) -> None:
        click.echo(outcome.line())
        echo_traceback(ctx.verbose, outcome.error)

    async def run() -> list[Any]:
        with ctx.store() as store:
            importer = Importer(store, config)
            importer.fetcher.on_retry = _retry_reporter(ctx.verbose)
            importer.fetcher.on_warning = _warner()
            try:
                return await importer.import_inputs(items, url=url, on_outcome=report, should_stop=stop.requested)
            finally:
                await importer.aclose()

    with stop:
        try:
            outcomes = asyncio.run(run())
        except KeyboardInterrupt:  # the second Ctrl-C: the user wants out now
            fail("interrupted; inputs in progress were not imported", EXIT_INTERRUPTED)
    if len(items) > 1 or stop.requested():
        click.echo(_import_summary(outcomes, len(items), stopped=stop.requested()), err=True)
    sys.exit(EXIT_OK if all(o.ok for o in outcomes) and len(outcomes) == len(items) else EXIT_SOME_FAILED)


def _import_summary(outcomes: list[Any], total: int, *, stopped: bool) -> str:
    from collections import Counter

    from ingest.crawl import SUMMARY_KEYS

    counts = Counter(o.status for o in outcomes)
    line = f"import: {total} inputs, " + ", ".join(f"{counts[k]} {k.replace('-', ' ')}" for k in SUMMARY_KEYS)
    if stopped:
        line += f"; stopped early, {total - len(outcomes)} inputs not imported"
    return line


class _StopRequest:
    """Ctrl-C (or SIGTERM) asks to stop after the input in hand: the usual summary follows, no traceback,
    no "Aborted!". A second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self._requested = False
        self._saved: dict[int, Any] = {}

    def requested(self) -> bool:
        return self._requested

    def _handle(self, signum: int, frame: Any) -> None:
        if self._requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self._requested = True
        click.echo("jianbao: stopping after the input in hand (Ctrl-C again to quit now)", err=True)

    def __enter__(self) -> _StopRequest:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread: keep the default
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)


def _retry_reporter(verbose: int, before: Callable[[], None] | None = None) -> Callable[..., None] | None:
    """On a terminal (or with -v) a retry is a line, not a silent wait: ``retrying HOST (2/5) in 4 s``."""
    if not (verbose or sys.stderr.isatty()):
        return None

    def report(host: str, attempt: int, attempts: int, wait: float) -> None:
        if before is not None:
            before()
        shown = f"{wait:.0f}" if wait >= 1 else f"{wait:.1f}"
        click.echo(f"retrying {host} ({attempt}/{attempts}) in {shown} s", err=True)

    return report


def _warner(before: Callable[[], None] | None = None) -> Callable[[str], None]:
    """An exit benched or cooling down while others go on: one line on stderr, when it happens."""

    def warn(message: str) -> None:
        if before is not None:
            before()
        click.echo(f"warning: {message}", err=True)

    return warn


# --- show / list ------------------------------------------------------------------------------


def _stored_json(stored: Any) -> dict[str, Any]:
    data = stored.article.to_dict()
    data.update(
        id=stored.id,
        content_hash=stored.content_hash,
        first_seen=_iso(stored.first_seen),
        last_seen=_iso(stored.last_seen),
        updated=_iso(stored.updated),
        duplicate_of=stored.duplicate_of,
    )
    return data


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _minute(value: datetime) -> str:
    from ingest.output import minute

    return minute(value)


_BODY_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # no escape sequence from a page reaches the terminal


def _last_fetch(store: Any, ref: str) -> str:
    """Why an URL is not stored, from the fetch log: the reader's first question after "no such article"."""
    if ref.isdigit() or "://" not in ref:  # an id, or not an address at all
        return ""
    attempts = store.fetches(ref)
    if not attempts:
        return " (never fetched)"
    last = attempts[-1]
    why = last.reason or last.error or (f"HTTP {last.status}" if last.status else "")
    when = _minute(last.at)
    tries = f", {len(attempts)} attempts" if len(attempts) > 1 else ""
    return f"; last fetch {when}: {last.outcome}{f' ({why})' if why else ''}{tries}"


@cli.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="The stored record as JSON.")
@click.option("--markdown", "as_markdown", is_flag=True, help="Markdown with front matter, as export writes it.")
@pass_ctx
def show_cmd(ctx: Context, ref: str, as_json: bool, as_markdown: bool) -> None:
    """Show one article by id or URL.

    \b
    Examples:
        jianbao show 12
        jianbao show https://mp.weixin.qq.com/s/abc --markdown
    """
    from ingest.export import render_markdown
    from storage.errors import NoArticle

    with ctx.store(must_exist=True) as store:
        try:
            key = article_ref(ref)
            if key is None:
                raise NoArticle("not an article id", url=ref)
            stored = store.get_article(key)
        except NoArticle:
            fail(f"{ref}: no such article{_last_fetch(store, ref)}", EXIT_SOME_FAILED)
        except JianbaoError as exc:
            fail(f"{ref}: {exc.reason}", EXIT_SOME_FAILED)
        copies = store.copies_of(stored.id)
    if as_json:
        data = _stored_json(stored)
        data["copies"] = [{"id": c.id, "url": c.article.url, "account": c.article.account} for c in copies]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if as_markdown:
        click.echo(render_markdown(stored.article), nl=False)
        return
    from ingest.output import pad, printable

    a = stored.article
    click.echo(f"# {printable(a.title)}\n")
    meta = [
        ("id", stored.id),
        ("url", a.url),
        ("source", f"{a.source} / {a.kind}"),
        ("account", a.account),
        ("author", a.author),
        ("published", _minute(a.published) if a.published else None),
        ("original", a.original_account or a.original_url),
        ("duplicate of", f"#{stored.duplicate_of}" if stored.duplicate_of else None),
        ("copies", ", ".join(f"#{c.id} {c.article.account or c.article.url}" for c in copies) or None),
        ("images", len(a.images) or None),
    ]
    for label, value in meta:
        if value:
            click.echo(f"{pad(label, 12, '>')}: {printable(value)}")
    click.echo("")
    click.echo(_BODY_UNPRINTABLE.sub("", a.body))


def _list_line(stored: Any) -> str:
    from ingest.output import cut, pad, printable

    a = stored.article
    day = _minute(a.published) if a.published else " " * 16
    who = pad(cut(printable(a.account), 16), 16)
    return f"{stored.id:>6}  {day}  {a.source:<6}  {who}  {printable(a.title)}"


LIST_COLUMNS = (
    ("ID", ">", None),
    ("PUBLISHED", "<", None),
    ("SOURCE", "<", None),
    ("ACCOUNT", "<", 16),
    ("TITLE", "<", None),
)


def _list_table(rows: list[Any]) -> list[str]:
    """id, time, source, account and title under a header, aligned by display width; on a terminal the
    title is cut to the window with …, through a pipe it is whole."""
    from ingest.output import Column, Style, table, terminal_width

    out = sys.stdout
    columns = [Column(name, align, max=cap, flex=name == "TITLE") for name, align, cap in LIST_COLUMNS]
    cells = [
        (r.id, _minute(r.article.published) if r.article.published else "-", r.article.source, r.article.account or "",
         r.article.title)
        for r in rows
    ]  # fmt: skip
    return table(columns, cells, total=terminal_width(out), style=Style.for_stream(out))


@cli.command("list")
@filter_options
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
@pass_ctx
def list_cmd(
    ctx: Context,
    source: str | None,
    account: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List stored articles, newest first.

    \b
    Example:
        jianbao list --source wechat --account 阮一峰的网络日志 --since 2025-01-01
    """
    with ctx.store(must_exist=True) as store:
        rows = store.list_articles(
            source=source,
            account=account,
            since=parse_day(since),
            until=parse_day(until),
            limit=min(limit, SQLITE_MAX_INT),
        )
    if as_json:
        click.echo(json.dumps([_stored_json(r) for r in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no articles", err=True)
        return
    for line in _list_table(rows):
        click.echo(line)


# --- search / export / reparse -----------------------------------------------------------------


@cli.command("search")
@click.argument("query")
@filter_options
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON array with snippets.")
@pass_ctx
def search_cmd(
    ctx: Context,
    query: str,
    source: str | None,
    account: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Full-text search in the text of titles and bodies (Chinese: any length, several words ANDed).

    Prints how many stories matched, then each hit with one line of text showing every word (in bold
    on a terminal). --json gives "snippet" as plain text and "marked" with each match in [brackets].
    --account takes a part of the name.

    \b
    Example:
        jianbao search "小米 汽车" --source wechat --since 2024-01-01
    """
    from ingest.output import Style, number, printable

    if not query.strip():
        fail("empty query")
    # private-use characters: never in stored text, so a mark is never mistaken for a bracket
    marks = ("\ue000", "\ue001")
    with ctx.store(must_exist=True) as store:
        hits = store.search(
            query,
            source=source,
            account=account,
            since=parse_day(since),
            until=parse_day(until),
            limit=min(limit, SQLITE_MAX_INT),
            mark=marks,
        )

    def marked(snippet: str, start: str, end: str) -> str:
        return snippet.replace(marks[0], start).replace(marks[1], end)

    if as_json:
        out = []
        for h in hits:
            data = _stored_json(h.article)
            data.pop("body", None)
            data.update(snippet=marked(h.snippet, "", ""), marked=marked(h.snippet, "[", "]"), rank=h.rank)
            out.append(data)
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("no matches", err=True)
        return
    total, more = getattr(hits, "total", len(hits)), getattr(hits, "more", False)
    shown = f" (showing {len(hits)})" if len(hits) < total else ""
    click.echo(f"{number(total)}{'+' if more else ''} {'match' if total == 1 else 'matches'}{shown}")
    style = Style.for_stream(sys.stdout)
    bold_on, bold_off = ("\x1b[1m", "\x1b[0m") if style.enabled else ("", "")
    for h in hits:
        click.echo(_list_line(h.article))
        click.echo(f"        {marked(printable(h.snippet), bold_on, bold_off)}")


@cli.command("delete")
@click.argument("refs", metavar="ID|URL...", nargs=-1, required=True)
@click.option("--purge", is_flag=True, help="Also remove the archived raw pages (reparse cannot bring it back).")
@pass_ctx
def delete_cmd(ctx: Context, refs: tuple[str, ...], purge: bool) -> None:
    """Delete articles with their URLs, search rows and duplicate links (one transaction each).

    The raw page stays in the archive unless --purge. One line per article; an unknown one is an
    error (exit 1), the others are still deleted.

    \b
    Example:
        jianbao delete 12 https://mp.weixin.qq.com/s/abc --purge
    """
    from storage.errors import NoArticle

    failed = False
    with ctx.store(must_exist=True) as store:
        for ref in refs:
            try:
                key = article_ref(ref)
                if key is None:
                    raise NoArticle("not an article id", url=ref)
                gone = store.delete_article(key, purge=purge)
            except NoArticle:
                click.echo(f"jianbao: {ref}: no such article", err=True)
                failed = True
                continue
            extra = [f"{len(gone.copies)} copies relinked"] if gone.copies else []
            extra += [f"{gone.pages} raw pages purged"] if purge else []
            click.echo(f"deleted #{gone.id}: {gone.url}" + (f" ({', '.join(extra)})" if extra else ""))
    if failed:
        sys.exit(EXIT_SOME_FAILED)


@cli.command("export")
@click.argument("out_dir", metavar="DIR", type=click.Path(file_okay=False))
@filter_options
@click.option(
    "--images",
    type=click.Choice(["keep", "download"]),
    default="keep",
    show_default=True,
    help="keep: link the remote images; download: save them beside each article (a page bundle).",
)
@click.option("--force", is_flag=True, help="Rewrite every file as a first export would, dropping your edits.")
@pass_ctx
def export_cmd(
    ctx: Context,
    out_dir: str,
    source: str | None,
    account: str | None,
    since: str | None,
    until: str | None,
    images: str,
    force: bool,
) -> None:
    """Write one Markdown file per article with Hugo front matter; re-exports update in place.

    \b
    Example:
        jianbao export site/content/posts --source wechat --images download

    A re-export rewrites only jianbao's own front-matter keys: keys you added (draft, weight, …),
    tags you added and a body you edited are kept, unless --force.
    """
    from ingest.export import ExportError, check_export_dir, file_stem, save_export

    target = Path(out_dir)
    try:
        check_export_dir(target)  # before a single byte is written
    except ExportError as exc:
        fail(str(exc))
    config = ctx.config
    with ctx.store(must_exist=True) as store:
        rows = store.list_articles(
            source=source, account=account, since=parse_day(since), until=parse_day(until), limit=None
        )
        written = unchanged = kept = 0
        failed_images = 0
        problems: list[str] = []
        results: list[tuple[Any, str | None, list[tuple[str, str]]]]
        if images == "download":
            from ingest.images import download_all

            results = list(asyncio.run(download_all(target, rows, config, on_retry=_retry_reporter(ctx.verbose))))
        else:
            results = [(r.article, None, []) for r in rows]
        for article, body, failures in results:
            try:
                done = save_export(target, article, body=body, bundle=images == "download", force=force)
            except (ExportError, OSError) as exc:
                problems.append(f"{file_stem(article)}: {getattr(exc, 'strerror', None) or exc}")
                continue
            if done.skipped:
                problems.append(f"{done.path}: left as is: {done.skipped}")
            written += done.written
            unchanged += not done.written and not done.skipped
            kept += done.kept_body
            if done.kept_body and ctx.verbose:
                click.echo(f"kept your edited body: {done.path}", err=True)
            for url, why in failures:
                failed_images += 1
                click.echo(f"image not saved: {url} ({why}) in {done.path}", err=True)
    for line in problems:
        click.echo(f"jianbao: {line}", err=True)
    click.echo(
        f"exported {len(rows)} {'article' if len(rows) == 1 else 'articles'} to {target}: "
        f"{written} written, {unchanged} unchanged"
        + (f", {kept} edited bodies kept (--force rewrites them)" if kept else "")
        + (f", {len(problems)} not written" if problems else "")
        + (f", {failed_images} images kept remote" if failed_images else "")
    )
    sys.exit(EXIT_OK if not failed_images and not problems else EXIT_SOME_FAILED)


@cli.command("reparse")
@click.option("--source", type=click.Choice(["wechat", "qq", "web"]), help="Only pages of this source.")
@click.option("--url", "urls", multiple=True, help="Only this page (repeatable).")
@click.option("--dry-run", is_flag=True, help="Report what would change, write nothing.")
@pass_ctx
def reparse_cmd(ctx: Context, source: str | None, urls: tuple[str, ...], dry_run: bool) -> None:
    """Rebuild articles from the archived raw pages (no network), after a parser change.

    \b
    Example:
        jianbao reparse --source wechat --dry-run
    """
    from ingest.reparse import reparse_pages

    with ctx.store(must_exist=True) as store:
        report = reparse_pages(store, source=source, urls=urls or None, dry_run=dry_run)
    for change in report.changes:
        note = f" ({change.warning})" if change.warning else ""
        verb = "would change" if dry_run else "changed"
        click.echo(f"{verb}{note}: #{change.id} {change.url}: {', '.join(change.fields)}")
    for url, why in report.errors:
        click.echo(f"cannot reparse {url}: {why}", err=True)
        echo_traceback(ctx.verbose, report.unexpected.get(url))
    click.echo(
        f"reparse: {report.pages} pages, {len(report.changes)} changed, {report.unchanged} unchanged, "
        f"{report.new} new, {len(report.errors)} not articles or unreadable"
    )
    # a page the parser refuses is expected (a deleted article's archive); an unforeseen error is not
    sys.exit(EXIT_SOME_FAILED if report.unexpected else EXIT_OK)


# --- crawl / stats ----------------------------------------------------------------------------


class _Progress:
    """A live status line on a terminal; plain log lines (only with -v, or for failures) otherwise."""

    def __init__(self, verbose: int) -> None:
        self.tty = sys.stderr.isatty()
        self.verbose = verbose
        self.done = 0
        self.width = 0
        self.said: set[str] = set()

    def outcome(self, source: str, outcome: Any) -> None:
        self.done += 1
        bad = outcome.status == "failed"
        # a blocked URL stays pending: the summary names its paused host once, not a line per URL
        if bad or self.verbose:
            self.clear()
            click.echo(f"[{source}] {outcome.line()}", err=bad or outcome.status == "blocked")
            echo_traceback(self.verbose, outcome.error)
        elif self.tty:
            text = f"[{self.done}] {source}: {outcome.status} {outcome.title or outcome.input}"[:100]
            self.width = max(self.width, len(text))
            click.echo("\r" + text.ljust(self.width), nl=False, err=True)

    def error(self, source: str, message: str) -> None:
        from ingest.weread import NO_SESSION, SESSION_EXPIRED

        self.clear()
        if message in (SESSION_EXPIRED, NO_SESSION):
            # every account source fails alike: the fix is one command, said once
            if message not in self.said:
                self.said.add(message)
                click.echo(message, err=True)
            return
        click.echo(f"[{source}] source failed: {message}", err=True)

    def note(self, message: str) -> None:
        self.clear()
        click.echo(message, err=True)

    def clear(self) -> None:
        if self.tty and self.width:
            click.echo("\r" + " " * self.width + "\r", nl=False, err=True)
            self.width = 0


def _print_new(source: str, entry: Any) -> None:
    when = _minute(entry.published) if entry.published else "-"
    click.echo(f"[{source}] {when}\t{entry.url}\t{entry.title or ''}".rstrip())


@cli.command("crawl")
@click.argument("sources", nargs=-1)
@click.option("-v", "--verbose", count=True, help="A line per article and the summary (also as a global option).")
@click.option(
    "--dry-run", is_flag=True, help="Read the listings and print the new URLs; fetch no article, write nothing."
)
@click.option(
    "--max",
    "limit",
    type=click.IntRange(min=1),
    help="At most N new articles per source in this run; the rest stay new for the next.",
)
@pass_ctx
def crawl_cmd(ctx: Context, sources: tuple[str, ...], verbose: int, dry_run: bool, limit: int | None) -> None:
    """Check the sources in config.toml (all, or those named) and store what is new.

    \b
    Examples:
        jianbao crawl
        jianbao crawl tech ruanyf -v
        jianbao crawl album --dry-run
        jianbao crawl --max 20

    Safe to run from cron every few minutes: quiet unless -v or something failed; exit 0 when every
    source ran and nothing failed, 1 otherwise, 75 when another crawl holds the lock.
    """
    import signal

    from ingest.crawl import Crawler
    from ingest.errors import CrawlLocked
    from ingest.lock import CrawlLock

    config = ctx.config
    for name in sources:
        try:
            config.source(name)
        except ConfigError as exc:
            fail(str(exc))
    if not sources and not any(s.enabled for s in config.sources):
        fail(f"{config.path or 'config.toml'}: no [[sources]] to crawl")
    db = ctx.resolved_db()
    lock = CrawlLock(db)
    try:
        if not dry_run:  # a dry run only reads: it may look while cron's crawl runs
            lock.acquire()
    except CrawlLocked as exc:
        fail(str(exc), EXIT_LOCKED)
    ctx.verbose += verbose
    progress = _Progress(ctx.verbose)
    try:
        with ctx.store() as store:
            crawler = Crawler(
                store,
                config,
                on_outcome=progress.outcome,
                on_error=progress.error,
                on_new=_print_new,
                dry_run=dry_run,
                limit=limit,
            )
            crawler.importer.fetcher.on_retry = _retry_reporter(ctx.verbose, before=progress.clear)
            if crawler.weread is not None:
                crawler.weread.on_note = progress.note
            crawler.importer.fetcher.on_warning = _warner(before=progress.clear)

            async def run() -> Any:
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, crawler.stop)
                return await crawler.run(sources)

            summary = asyncio.run(run())
    finally:
        lock.release()
    progress.clear()
    blocked = summary.blocked_hosts or summary.totals()["blocked"]
    if ctx.verbose or dry_run or not summary.ok or blocked or summary.stopped or progress.tty:
        click.echo(summary.line(), err=not summary.ok)
    sys.exit(EXIT_OK if summary.ok else EXIT_SOME_FAILED)


@cli.command("stats")
@click.option("--json", "as_json", is_flag=True, help="As one JSON object.")
@pass_ctx
def stats_cmd(ctx: Context, as_json: bool) -> None:
    """Counts by source, account and day; each source's last crawl; recent failures.

    \b
    Example:
        jianbao stats
    """
    import dataclasses

    from ingest.output import Style, stats_report, terminal_width

    with ctx.store(must_exist=True) as store:
        stats = store.stats()
        exits = _exit_uses(store, ctx.config)
        weread = _weread_state(ctx.config, store)
    if as_json:
        data = {**dataclasses.asdict(stats), "exits": [dataclasses.asdict(e) for e in exits]}
        if weread is not None:
            data["weread"] = {**dataclasses.asdict(weread[0]), "accounts": dataclasses.asdict(weread[1])}
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_iso))
        return
    out = sys.stdout
    style = Style.for_stream(out)
    for line in stats_report(stats, total=terminal_width(out), style=style):
        click.echo(line)
    for line in _exits_section(exits, ctx.config, style):
        click.echo(line)
    if weread is not None:
        click.echo("")
        for part in weread:
            click.echo(part.line())


def _weread_state(config: Config, store: Any) -> Any:
    """The WeRead session as known without asking WeRead, and the accounts' use of today's caps; None
    when there are neither wechat-account sources nor a session."""
    from ingest.weread import KIND, accounts_usage, session_status

    status = session_status(config)
    if status.origin is None and status.error is None and not any(s.kind == KIND for s in config.sources):
        return None
    return status, accounts_usage(store, config)


def _exit_uses(store: Any, config: Config) -> list[Any]:
    """Each exit's use of each host today, and its cool-downs; configured exits unused today too."""
    from ingest.fetch import exit_labels
    from parsers.article import SHANGHAI
    from storage.hoststate import ExitUse, exit_uses

    now = datetime.now().astimezone()
    uses = exit_uses(store, day=now.astimezone(SHANGHAI).date().isoformat(), now=now)
    used = {u.exit for u in uses}
    return uses + [ExitUse(label, "") for label in exit_labels(config.http.proxies) if label not in used]


def _exits_section(uses: list[Any], config: Config, style: Any) -> list[str]:
    """The stats table of exits (what is persisted: a benched exit is benched for its run only)."""
    from ingest.output import Column, minute, number, table

    lines = ["", style("Exits today (requests and verification pages per host; cool-downs across runs)", "bold")]
    if not uses:
        return [*lines, "  (none)"]
    rows = []
    for u in uses:
        limit = config.daily_limit_for(u.host) if u.host else None
        requests = number(u.requests) + (f" / {number(limit)}" if limit is not None else "")
        cooling = f"{minute(u.until)} ({u.strikes} in a row)" if u.until else "-"
        rows.append((u.exit or "(default)", u.host or "-", requests, number(u.verification), cooling))
    columns = [Column("EXIT"), Column("HOST"), Column("REQUESTS", ">"), Column("VERIFICATION", ">")]
    columns.append(Column("COOLING DOWN UNTIL"))
    return lines + table(columns, rows, style=style, indent="  ")


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--base-url", metavar="URL", help="Public URL for links in feeds, e.g. behind a reverse proxy.")
@pass_ctx
def serve_cmd(ctx: Context, host: str, port: int, base_url: str | None) -> None:
    """Serve Atom/JSON feeds, OPML, images and a reader over the database (read-only).

    \b
    Example:
        jianbao serve --port 8080 --base-url https://news.example.org/jianbao
    """
    import uvicorn

    from serve.app import create_app

    if base_url and not base_url.startswith(("http://", "https://")):
        fail(f"--base-url {base_url!r}: not an http(s) URL")
    config = ctx.config
    try:
        app = create_app(ctx.resolved_db(), config, base_url=base_url)
    except (JianbaoError, OSError, ValueError) as exc:
        fail(str(exc), EXIT_SOME_FAILED)
    click.echo(f"jianbao: serving {ctx.resolved_db()} on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info" if ctx.verbose else "warning", proxy_headers=False)


# --- login / logout (WeRead) ---------------------------------------------------------------------


@cli.group("login")
def login_group() -> None:
    """Log in to a service jianbao reads through: weread (WeChat Reading, for wechat-account sources).

    \b
    Example:
        jianbao login weread
    """


@cli.group("logout")
def logout_group() -> None:
    """Remove a saved login: weread.

    \b
    Example:
        jianbao logout weread
    """


def _show_qr(url: str, png: Path) -> None:
    import io

    import segno

    qr = segno.make(url, error="m")
    text = io.StringIO()
    qr.terminal(out=text, compact=True)
    click.echo("Scan this with WeChat (扫一扫) and confirm on the phone; waiting…", err=True)
    click.echo(text.getvalue(), nl=False)
    try:
        qr.save(str(png), kind="png", scale=8, border=4)
    except OSError as exc:
        click.echo(f"(could not save the QR code as {png}: {exc.strerror or exc})", err=True)
    else:
        click.echo(f"(the same code as an image, for terminals that cannot show it: {png})", err=True)


@login_group.command("weread")
@click.option(
    "--cookie-file",
    metavar="F",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Cookies of a browser logged in to weread.qq.com: a Cookie header, cookies.txt or JSON export (- = stdin).",
)
@click.option("--status", is_flag=True, help="Say whether the saved session works (one request to weread.qq.com).")
@pass_ctx
def login_weread_cmd(ctx: Context, cookie_file: str | None, status: bool) -> None:
    """Log in to WeChat Reading with your own WeChat account: scan the QR code shown (also saved as a PNG).

    The session is saved beside config.toml (weread-session.json, mode 0600), never in the database,
    and sent to weread.qq.com only.

    \b
    Examples:
        jianbao login weread
        jianbao login weread --cookie-file cookies.txt
        jianbao login weread --status
    """
    from datetime import UTC

    from ingest import weread
    from parsers.weread import WeReadLoginExpired, parse_cookie_text

    config = ctx.config
    path = weread.session_path(config)
    if status and cookie_file:
        fail("--status and --cookie-file do not go together")
    session: Any = None
    if status:
        try:
            session = weread.load_session(path)
        except weread.SessionError as exc:
            fail(str(exc), EXIT_SOME_FAILED)
        if session is None:
            fail("weread: not logged in (run jianbao login weread)", EXIT_SOME_FAILED)
    elif cookie_file:
        try:
            text = sys.stdin.read() if cookie_file == "-" else Path(cookie_file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"{cookie_file}: cannot read: {getattr(exc, 'strerror', None) or exc}")
        try:
            cookies = parse_cookie_text(text)
        except JianbaoError as exc:
            fail(f"{cookie_file}: {exc.reason}")
        session = weread.Session(cookies, "cookie-file", created=datetime.now(UTC))
    png = config.base_dir / "weread-login.png"

    async def run() -> tuple[Any, int]:
        async with weread.WeReadClient(config, session, persist=status) as client:
            if client.session is None:
                client.session = await weread.login_qr(client, show=lambda url: _show_qr(url, png))
            shelf = await weread.check_session(client)
            return client.session, shelf

    try:
        session, shelf = asyncio.run(run())
    except WeReadLoginExpired:
        where = f"the cookies in {cookie_file} are" if cookie_file else "the session is"
        fail(f"weread: {where} not logged in or expired: run jianbao login weread", EXIT_SOME_FAILED)
    except JianbaoError as exc:
        fail(f"weread: {exc}", EXIT_SOME_FAILED)
    finally:
        if not status and not cookie_file:
            png.unlink(missing_ok=True)  # the code is used up either way
    if status:
        click.echo(f"weread: logged in; {shelf} accounts on the shelf")
        click.echo(weread.session_status(config).line())
        return
    try:
        weread.save_session(session, path)
    except weread.SessionError as exc:
        fail(str(exc), EXIT_SOME_FAILED)
    click.echo(f"weread: logged in; {shelf} accounts on the shelf; session saved to {path} (mode 0600)")
    if os.environ.get(weread.ENV_COOKIE):
        click.echo(f"weread: note: ${weread.ENV_COOKIE} is set and is used instead of this file", err=True)


@logout_group.command("weread")
@pass_ctx
def logout_weread_cmd(ctx: Context) -> None:
    """Remove the saved WeRead session (the file beside config.toml).

    \b
    Example:
        jianbao logout weread
    """
    from ingest import weread

    path = weread.session_path(ctx.config)
    if weread.remove_session(path):
        click.echo(f"weread: session removed ({path})")
    else:
        click.echo(f"weread: no session saved ({path})")
    if os.environ.get(weread.ENV_COOKIE):
        click.echo(f"weread: note: ${weread.ENV_COOKIE} is still set", err=True)


def main() -> None:
    # a closed pipe (`jianbao list | head`) is not an error worth a traceback
    try:
        cli(prog_name="jianbao")
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_SOME_FAILED)


if __name__ == "__main__":
    main()
