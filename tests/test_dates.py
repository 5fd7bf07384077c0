"""parsers.dates: the one date reader; Asia/Shanghai when naive, None (never an exception) when unusable."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from parsers.article import SHANGHAI
from parsers.dates import from_epoch, parse_datetime, plausible, search_datetime


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-12-03T01:30:00Z", sh(2024, 12, 3, 9, 30)),
        ("2024-12-03T01:30:00.123Z", sh(2024, 12, 3, 9, 30)),
        ("2019-09-08T00:20:15+08:00", sh(2019, 9, 8, 0, 20, 15)),
        ("2019-09-07T16:28:35+0800", sh(2019, 9, 7, 16, 28, 35)),
        ("2025-03-01T02:00:00-05:00", sh(2025, 3, 1, 15, 0)),
        ("2019-9-7 9:05", sh(2019, 9, 7, 9, 5)),
        ("2025/03/01", sh(2025, 3, 1)),
        ("2019/06/15 08:28", sh(2019, 6, 15, 8, 28)),
        ("2019.06.15", sh(2019, 6, 15)),
        ("2020年09月11日 18:05", sh(2020, 9, 11, 18, 5)),
        ("2019年06月15日08:18", sh(2019, 6, 15, 8, 18)),
        ("2019年11月25日 16:04:30", sh(2019, 11, 25, 16, 4, 30)),
        ("发布时间：2019-09-07 09:59:22", sh(2019, 9, 7, 9, 59, 22)),
        ("日期: 2024-05-06", sh(2024, 5, 6)),
        ("Sat, 01 Mar 2025 02:00:00 GMT", sh(2025, 3, 1, 10, 0)),
        ("01 Mar 2025 10:00:00 +0800", sh(2025, 3, 1, 10, 0)),
        (1740794400, sh(2025, 3, 1, 10, 0)),
        ("1740794400", sh(2025, 3, 1, 10, 0)),
        ("1740794400000", sh(2025, 3, 1, 10, 0)),  # milliseconds
        (1740794400.5, sh(2025, 3, 1, 10, 0, 0, 500000)),
        (datetime(2025, 3, 1, 10, 0), sh(2025, 3, 1, 10, 0)),  # naive: Beijing
        (datetime(2025, 3, 1, 2, 0, tzinfo=UTC), sh(2025, 3, 1, 10, 0)),
        (date(2025, 3, 1), sh(2025, 3, 1)),
    ],
)
def test_reads_every_form_in_beijing_time(raw: object, expected: datetime) -> None:
    got = parse_datetime(raw)
    assert got == expected
    assert got is not None and got.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    "raw",
    [
        None, "", "   ", "昨天", "10分钟前", "2019-13-01", "2019-02-30", "2019-09-07 25:00", 0, -5, True,
        float("nan"), float("inf"), 10**30, "9" * 13 + "9" * 8, [], {}, object(),
        "9999-12-31T23:59:59-14:00",  # overflows the conversion to +08:00
        "0001-01-01",  # before the calendar's edge in UTC
        "0001-01-01T00:00:00+14:00", "2019-09-07T10:00:00+25:00",
        "2019-09-07 10:00 and then some words", "Sat, 99 Foo 2025 02:00:00 GMT", "x" * 10_000,
    ],
)  # fmt: skip
def test_unusable_values_are_none_never_an_exception(raw: object) -> None:
    assert parse_datetime(raw) is None


def test_a_date_at_the_calendars_edge_comes_back_as_written_when_asked() -> None:
    # a clipping's 0001-01-01 is "implausible, ignored" at import, not "unreadable"
    year_one = parse_datetime("0001-01-01 00:00:00", as_written=True)
    assert year_one is not None and (year_one.year, year_one.utcoffset()) == (1, timedelta(hours=8))
    assert parse_datetime(datetime(1, 1, 1), as_written=True) == datetime(1, 1, 1, tzinfo=SHANGHAI)
    assert parse_datetime("next tuesday", as_written=True) is None
    assert parse_datetime("2019-09-07 10:00", as_written=True) == parse_datetime("2019-09-07 10:00")


def test_search_finds_the_first_date_in_text_and_says_whether_it_had_a_time() -> None:
    found = search_datetime("来源：新京报 2018年12月28日 19:55 分享到")
    assert found is not None
    assert found.when == sh(2018, 12, 28, 19, 55) and found.has_time
    day = search_datetime("发布日期：2019-03-06 责任编辑：龙慧")
    assert day is not None and day.when == sh(2019, 3, 6) and not day.has_time
    assert search_datetime("没有日期的文字 12:30") is None
    assert search_datetime("") is None and search_datetime(None) is None


def test_search_reads_a_month_day_time_only_with_a_year_given() -> None:
    assert search_datetime("发布时间：10-08 12:00") is None
    found = search_datetime("发布时间：10-08 12:00", year=2019)
    assert found is not None and found.when == sh(2019, 10, 8, 12, 0)


def test_search_is_linear_on_hostile_text() -> None:
    # long runs of near-dates cannot make the scan backtrack: it still answers
    assert search_datetime("2019-1-" * 20_000) is None
    assert search_datetime("1" * 50_000 + "年") is None


def test_epoch() -> None:
    assert from_epoch("1740794400") == sh(2025, 3, 1, 10, 0)
    assert from_epoch(0) is None and from_epoch("x") is None and from_epoch(1e300) is None


def test_plausible_is_a_pure_window_around_now() -> None:
    now = sh(2026, 12, 3, 9, 0)
    assert plausible(sh(2019, 9, 7, 9, 5), now=now)
    assert plausible(now + timedelta(days=1, hours=23), now=now)
    assert not plausible(now + timedelta(days=2, minutes=1), now=now)
    assert not plausible(sh(1989, 12, 31, 23, 59), now=now)
    assert plausible(sh(1990, 1, 1), now=now)
    assert not plausible(None, now=now)
    assert plausible(datetime(2020, 1, 1), now=datetime(2026, 1, 1))  # naive: Beijing on both sides
    assert plausible(datetime(2020, 1, 1, tzinfo=UTC), now=now)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-12-03T01:30:00Z", sh(2024, 12, 3, 9, 30)),  # qq dropped the time of day
        ("2019-9-7 9:05", sh(2019, 9, 7, 9, 5)),  # listings could not read it
        ("2025/03/01", sh(2025, 3, 1)),  # qq could not read it
        ("2020年09月11日 18:05", sh(2020, 9, 11, 18, 5)),
    ],
)
def test_every_parser_reads_a_date_alike(raw: str, expected: datetime) -> None:
    from parsers.clipping import _to_datetime
    from parsers.listings import parse_time
    from parsers.qq import _parse_time

    assert parse_datetime(raw) == expected
    assert _parse_time(raw) == expected
    assert parse_time(raw) == expected
    assert _to_datetime(raw) == expected


def test_a_date_laid_out_in_boxes_is_read_only_when_asked_and_only_with_a_time() -> None:
    assert search_datetime("2019 09 / 07 19 : 02 扬眼") is None
    found = search_datetime("2019 09 / 07 19 : 02 扬眼", loose=True)
    assert found is not None and found.when == sh(2019, 9, 7, 19, 2) and found.has_time
    assert search_datetime("2019 10 12 件", loose=True) is None
