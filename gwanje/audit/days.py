"""Days and months in Asia/Seoul (anchors, purge cut-offs, the monthly review), as UTC bounds."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone

SEOUL = ZoneInfo("Asia/Seoul")
# Dates outside this range are refused (their UTC bounds would overflow).
MIN_DAY = date(1900, 1, 1)
MAX_DAY = date(9998, 12, 31)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def today() -> date:
    return timezone.now().astimezone(SEOUL).date()


def start_of(day: date) -> datetime:
    """The first instant of a Seoul day (an aware datetime)."""
    return datetime.combine(day, time.min, tzinfo=SEOUL)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    return start_of(day), start_of(day + timedelta(days=1))


def parse_day(text: str) -> date:
    """YYYY-MM-DD, or ValueError with a readable message."""
    try:
        day = date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise ValueError(f"not a date: {text!r} (expected YYYY-MM-DD)") from None
    if not MIN_DAY <= day <= MAX_DAY:
        raise ValueError(f"{text!r} is out of range (1900-01-01 … 9998-12-31)")
    return day


def parse_month(text: str) -> date:
    """YYYY-MM → the month's first day, or ValueError with a readable message."""
    m = _MONTH.match((text or "").strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1900 <= int(m.group(1)) <= 9998:
        raise ValueError(f"not a month: {text!r} (expected YYYY-MM, e.g. 2026-11)")
    return date(int(m.group(1)), int(m.group(2)), 1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    return start_of(month), start_of(next_month(month))


def local(value: datetime) -> datetime:
    return value.astimezone(SEOUL)


def db_datetime(value: datetime):
    """An aware datetime as a raw-SQL parameter (SQLite: Django's naive-UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def from_db(value) -> datetime:
    """A datetime read with raw SQL (SQLite returns text) as an aware datetime."""
    if isinstance(value, str):
        return connection.ops.convert_datetimefield_value(value, None, connection)
    return value
