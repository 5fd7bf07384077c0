"""Text for a terminal that shows Chinese: display widths, cut names, tables with a header, sparing colour.

A CJK character takes two cells, so ``str.ljust`` misaligns every column after a Chinese name; widths
here come from ``wcwidth``. Text from pages (titles, account names) is made printable first: a newline
would break a row and an escape sequence in a title must never reach the terminal. Pure functions; the
CLI decides where the text goes.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from wcwidth import wcswidth, wcwidth

from parsers.article import SHANGHAI

ELLIPSIS = "…"
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]+")
_ANSI = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33"}


def printable(text: object) -> str:
    """One line of text a terminal shows as it is: control characters, bidi overrides and line
    breaks become one space (no ESC from a page reaches the terminal)."""
    return _UNPRINTABLE.sub(" ", "" if text is None else str(text)).strip()


def width(text: str) -> int:
    """Cells ``text`` takes on a terminal (CJK two, combining marks none)."""
    w = wcswidth(text)
    if w >= 0:
        return w
    return sum(max(wcwidth(c), 0) for c in text)  # an unprintable character counts as nothing


def cut(text: str, cells: int) -> str:
    """``text`` in at most ``cells`` cells, ending in ``…`` when it was longer."""
    if cells <= 0:
        return ""
    if width(text) <= cells:
        return text
    out, used = [], 0
    for ch in text:
        w = max(wcwidth(ch), 0)
        if used + w > cells - 1:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + ELLIPSIS


def pad(text: str, cells: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``cells`` cells (``>`` right-aligns)."""
    gap = " " * max(cells - width(text), 0)
    return gap + text if align == ">" else text + gap


def human_size(n: int | float | None) -> str:
    """Bytes as a person reads them: ``0 B``, ``950 B``, ``14.6 MB``, ``1.2 GB`` (decimal units)."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def minute(value: datetime | None) -> str:
    """``YYYY-MM-DD HH:MM`` in Asia/Shanghai, or ``-``."""
    if value is None:
        return "-"
    aware = value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    try:
        d = aware.astimezone(SHANGHAI)
    except (OverflowError, ValueError):  # a stored year 1 or 9999 must not take the table down
        d = aware
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}"


def number(n: int) -> str:
    return f"{n:,}"


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: ``align`` ``<`` or ``>``; ``max`` caps its width (longer cells are cut with …);
    ``flex`` marks the one column that shrinks to fit the terminal (the title)."""

    name: str
    align: str = "<"
    max: int | None = None
    flex: bool = False


class Style:
    """Colour on a terminal only: never when piped, never with ``NO_COLOR`` set, never on a dumb terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @classmethod
    def for_stream(cls, stream: IO[Any] | None, env: dict[str, str] | None = None) -> Style:
        env = dict(os.environ) if env is None else env
        tty = bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())
        return cls(tty and not env.get("NO_COLOR") and env.get("TERM") != "dumb")

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles or not text:
            return text
        codes = ";".join(_ANSI[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


PLAIN = Style(False)


def terminal_width(stream: IO[Any] | None) -> int | None:
    """Columns of the terminal ``stream`` writes to; None when it is not one (nothing is cut for a pipe
    except what a column's ``max`` says)."""
    if stream is None or not hasattr(stream, "isatty") or not stream.isatty():
        return None
    return shutil.get_terminal_size((100, 24)).columns


def table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
    *,
    total: int | None = None,
    style: Style = PLAIN,
    indent: str = "",
    gap: str = "  ",
) -> list[str]:
    """Rows under a header, each column as wide as its widest cell (by display width, capped by its
    ``max``); with ``total`` the flex column shrinks so a row fits. Trailing blanks are trimmed."""
    cells = [[printable(v) for v in row] for row in rows]
    widths = []
    for i, col in enumerate(columns):
        w = max([width(col.name), *(width(r[i]) for r in cells)])
        widths.append(min(w, col.max) if col.max else w)
    if total is not None:
        flex = [i for i, c in enumerate(columns) if c.flex]
        if flex:
            i = flex[0]
            others = sum(w for j, w in enumerate(widths) if j != i) + len(gap) * (len(columns) - 1) + len(indent)
            widths[i] = max(min(widths[i], total - others), width(columns[i].name), 8)
    last = len(columns) - 1

    def line(values: Sequence[str], header: bool = False) -> str:
        parts = []
        for i, (col, value) in enumerate(zip(columns, values, strict=True)):
            text = cut(value, widths[i])
            text = text if i == last and col.align == "<" else pad(text, widths[i], col.align)
            parts.append(style(text, "bold") if header else text)
        return (indent + gap.join(parts)).rstrip()

    return [line([c.name for c in columns], header=True), *(line(r) for r in cells)]


# --- reports ------------------------------------------------------------------------------------------

CRAWL_COUNTS = ("stored", "updated", "failed")
TOP_ACCOUNTS = 10
RECENT_DAYS = 7


def stats_report(stats: Any, *, total: int | None = None, style: Style = PLAIN) -> list[str]:
    """``jianbao stats`` as a reader wants it: totals first, then one table per question, sizes in
    KB/MB, times in Shanghai minutes; never a Python repr."""
    s = stats
    head = style  # section titles: bold on a terminal, as the headers are

    def section(title: str, columns: Sequence[Column], rows: Sequence[Sequence[object]], more: str = "") -> None:
        lines.append("")
        lines.append(head(title, "bold"))
        if not rows:
            lines.append("  (none)")
            return
        lines.extend(table(columns, rows, total=total, style=style, indent="  "))
        if more:
            lines.append(f"  {more}")

    ratio = f" ({100 * s.pages_stored / s.pages_size:.1f}%)" if s.pages_size else ""
    outcomes = ", ".join(f"{number(n)} {k}" for k, n in sorted(s.fetch_outcomes.items(), key=lambda kv: -kv[1]))
    sizes = f"{human_size(s.pages_size)} raw, {human_size(s.pages_stored)} stored{ratio}"
    lines = [
        f"articles  {number(s.articles)} ({number(s.duplicates)} duplicates)",
        f"archive   {number(s.pages)} pages, {sizes}",
        f"fetches   {outcomes or 'none yet'}",
    ]
    section("By source", [Column("SOURCE"), Column("ARTICLES", ">")], [(k, number(n)) for k, n in s.by_source.items()])
    accounts = list(s.by_account.items())
    rest = len(accounts) - TOP_ACCOUNTS
    section(
        "By account",
        [Column("ACCOUNT", max=30, flex=True), Column("ARTICLES", ">")],
        [(k or "(none)", number(n)) for k, n in accounts[:TOP_ACCOUNTS]],
        more=f"… and {rest} more accounts (stats --json lists them all)" if rest > 0 else "",
    )
    days = list(s.by_day.items())
    section(
        f"By day (the last {RECENT_DAYS} with articles)",
        [Column("DAY"), Column("ARTICLES", ">")],
        [(k, number(n)) for k, n in days[:RECENT_DAYS]],
    )
    crawls = []
    for name, c in sorted(s.last_crawls.items()):
        counts = c.counts or {}
        result = "ok" if c.ok else "failed"
        seconds = (c.finished - c.started).total_seconds() if c.finished and c.started else None
        crawls.append(
            (
                name,
                minute(c.finished),
                result,
                *(number(int(counts.get(k, 0))) for k in CRAWL_COUNTS),
                f"{seconds:.1f} s" if seconds is not None else "-",
                c.error or "",
            )
        )
    section(
        "Last crawl of each source",
        [
            Column("SOURCE", max=20),
            Column("FINISHED"),
            Column("RESULT"),
            *(Column(k.upper(), ">") for k in CRAWL_COUNTS),
            Column("TOOK", ">"),
            Column("ERROR", flex=True),
        ],
        crawls,
    )
    failures = [
        (
            minute(f.at),
            f.outcome,
            f.reason or f.error or (f"HTTP {f.status}" if f.status else ""),
            f.url,
        )
        for f in s.recent_failures
    ]
    section(
        f"Recent failures (the last {len(failures)})" if failures else "Recent failures",
        [Column("WHEN"), Column("OUTCOME"), Column("WHY", max=40), Column("URL", flex=True)],
        failures,
    )
    return lines
