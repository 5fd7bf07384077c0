"""The one place that reads dates and times, for every parser and listing.

Every value comes back as an aware datetime in Asia/Shanghai, or None; nothing here raises, whatever
the input. A time without a zone is Beijing time (the zone of the news jianbao collects); a date
without a time is midnight, and :func:`search_datetime` says whether a time of day was present.

Read here: ``datetime``/``date`` objects; unix seconds or milliseconds (numbers or digit strings);
ISO 8601 / RFC 3339 with ``Z`` or an offset; the forms Chinese pages show (``2019-9-7 9:05``,
``2025/03/01``, ``2019.06.15``, ``2020年09月11日 18:05``, ``2019年06月15日08:18``), behind an
optional label (``发布时间：``, ``日期:`` …); RFC 822 as feeds write it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

from parsers.article import SHANGHAI

# --- data ------------------------------------------------------------------------------------------
# labels pages put before a publish time; stripped before a value is read as a whole
LABELS = ("发布时间", "发表时间", "发布日期", "更新时间", "时间", "日期", "发布于", "发表于")
EARLIEST = datetime(1990, 1, 1, tzinfo=SHANGHAI)  # before the web had Chinese news
FUTURE_SLACK = timedelta(days=2)  # clocks and zones disagree; more than this ahead is a wrong date

# year, month, day, then an optional time of day and zone; every part is bounded, so the scan is linear
_DATE_TIME = re.compile(
    r"(?<!\d)(\d{4})[ \t]*(?:[-/.]|年)[ \t]*(\d{1,2})[ \t]*(?:[-/.]|月)[ \t]*(\d{1,2})(?!\d)[ \t]*日?"
    r"(?:(?:[ \t\u3000]{0,4}|T)(\d{1,2})[ \t]*[:：时][ \t]*(\d{2})(?:[ \t]*[:：分][ \t]*(\d{2}))?(?!\d)"
    r"(?:[.,]\d{1,9})?[ \t]*(Z|z|[+-]\d{2}:?\d{2}(?!\d)|UTC|GMT)?)?"
)
# the same with spaces for separators, as some pages lay a date out in boxes ("2019 09 / 07 19 : 02");
# read only where a date is expected (next to a title), and only with a time of day
_LOOSE_DATE_TIME = re.compile(
    r"(?<!\d)(\d{4})[ \t]*(?:[-/.年]|[ \t])[ \t]*(\d{1,2})[ \t]*(?:[-/.月]|[ \t])[ \t]*(\d{1,2})(?!\d)[ \t]*日?"
    r"[ \t\u3000]{0,4}(\d{1,2})[ \t]*[:：][ \t]*(\d{2})(?:[ \t]*[:：][ \t]*(\d{2}))?(?!\d)"
)
# month and day without a year ("发布时间：10-08 12:00", "09月11日 01:53"), read with a year given
_MONTH_DAY_TIME = re.compile(
    r"(?<![\d./-])(\d{1,2})[ \t]*(?:[-/.]|月)[ \t]*(\d{1,2})(?!\d)[ \t]*日?"
    r"[ \t\u3000]{0,4}(\d{1,2})[ \t]*[:：][ \t]*(\d{2})(?!\d)"
)
_EPOCH = re.compile(r"\d{9,13}(?:\.\d+)?")
_LABEL = re.compile(r"^(?:" + "|".join(LABELS) + r")[ \t]*[:：]?[ \t]*")
_RFC822 = re.compile(r"^(?:[A-Za-z]{3},?\s+)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s")


class Found(NamedTuple):
    """A date found in text: the time, whether the text had a time of day, and where it was."""

    when: datetime
    has_time: bool
    start: int
    end: int


def parse_datetime(value: Any, *, as_written: bool = False) -> datetime | None:
    """``value`` as a whole (one of the forms above) -> aware Asia/Shanghai datetime, else None.

    With ``as_written``, a real date at the edge of the calendar (``0001-01-01``, which no other zone
    can show) comes back aware in its own zone instead of None, for a caller that says "implausible
    date, ignored" rather than "unreadable date"."""
    try:
        return _parse(value, _as_written if as_written else _usable)
    except (ValueError, OverflowError, OSError, TypeError, IndexError):
        return None


def search_datetime(text: Any, *, year: int | None = None, loose: bool = False) -> Found | None:
    """The first date (with its time of day when shown) anywhere in ``text``; with ``year``, a
    month-day-time without a year (``10-08 12:00``) counts too, in that year; with ``loose``, a
    date-time spaced out in boxes (``2019 09 / 07 19 : 02``) too."""
    if not isinstance(text, str) or not text:
        return None
    for m in _DATE_TIME.finditer(text):
        when = _from_groups(*m.groups())
        if when is not None:
            return Found(when, m.group(4) is not None, m.start(), m.end())
    if loose:
        for m in _LOOSE_DATE_TIME.finditer(text):
            y, mo, d, h, mi, sec = m.groups()
            when = _from_groups(y, mo, d, h, mi, sec, None)
            if when is not None:
                return Found(when, True, m.start(), m.end())
    if year is not None:
        for m in _MONTH_DAY_TIME.finditer(text):
            month, day, hour, minute = m.groups()
            when = _from_groups(str(year), month, day, hour, minute, None, None)
            if when is not None:
                return Found(when, True, m.start(), m.end())
    return None


def from_epoch(value: Any) -> datetime | None:
    """Unix seconds, or milliseconds when the number is that large; None for zero, negative, junk."""
    try:
        seconds = float(value)
        if seconds != seconds or seconds <= 0:  # NaN
            return None
        if seconds > 1e11:  # milliseconds
            seconds /= 1000
        return _usable(datetime.fromtimestamp(seconds, SHANGHAI))
    except (ValueError, OverflowError, OSError, TypeError):
        return None


def plausible(dt: datetime | None, *, now: datetime) -> bool:
    """A publish time worth keeping: not before 1990 and at most two days after ``now``."""
    if dt is None:
        return False
    try:
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=SHANGHAI)
        if now.tzinfo is None:
            now = now.replace(tzinfo=SHANGHAI)
        return EARLIEST <= dt <= now + FUTURE_SLACK
    except (OverflowError, ValueError):
        return False


# --- internals -------------------------------------------------------------------------------------


def _parse(value: Any, usable: Callable[[datetime], datetime | None]) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return usable(value if value.tzinfo else value.replace(tzinfo=SHANGHAI))
    if isinstance(value, date):
        return usable(datetime.combine(value, time(), tzinfo=SHANGHAI))
    if isinstance(value, int | float):
        return from_epoch(value)
    if not isinstance(value, str):
        return None
    text = value.strip().replace("\u00a0", " ").replace("\u3000", " ")
    if not text or len(text) > 200:
        return None
    if _EPOCH.fullmatch(text):
        return from_epoch(text)
    text = _LABEL.sub("", text)
    m = _DATE_TIME.match(text)
    if m and not text[m.end() :].strip():
        return _from_groups(*m.groups(), usable=usable)
    if _RFC822.match(text):
        parsed = parsedate_to_datetime(text)
        return usable(parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI))
    return None


def _from_groups(
    year: str,
    month: str,
    day: str,
    hour: str | None,
    minute: str | None,
    second: str | None,
    zone: str | None,
    *,
    usable: Callable[[datetime], datetime | None] | None = None,
) -> datetime | None:
    usable = usable or _usable
    try:
        dt = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except (ValueError, OverflowError):
        return None
    if zone is None:
        return usable(dt.replace(tzinfo=SHANGHAI))
    if zone in ("Z", "z", "UTC", "GMT"):
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 14 or minutes > 59:
            return None
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return usable(dt.replace(tzinfo=tz))


def _as_written(dt: datetime) -> datetime | None:
    return _usable(dt) or dt


def _usable(dt: datetime) -> datetime | None:
    """In Asia/Shanghai, and only if it also converts to UTC (0001-01-01 or 9999-12-31 at the edge
    of the calendar would raise later, in storage or export)."""
    try:
        out = dt.astimezone(SHANGHAI)
        out.astimezone(UTC)
        return out
    except (OverflowError, ValueError):
        return None
