"""Usage-plan quota periods (pure): where the period holding an instant starts and ends, in UTC.

API Gateway's ``QuotaSettings.offset`` is "the day that a time period starts" (the SDK references:
``WEEK`` offset 0 starts on Sunday, 1 on Monday); Kumo reads it the same way for ``MONTH``
(offset 0 = the 1st, ... 27 = the 28th, so every month has the day) and requires 0 for ``DAY``.
Periods start at 00:00 UTC of their first day. See docs/usage-plans.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

PERIODS = ("DAY", "WEEK", "MONTH")


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _month_day(year: int, month: int, day: int) -> datetime:
    while month > 12:
        year, month = year + 1, month - 12
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, day, tzinfo=UTC)


def period_bounds(epoch_s: float, period: str, offset: int = 0) -> tuple[datetime, datetime]:
    """``(start, end)`` of the ``period`` holding ``epoch_s``: ``start <= instant < end``, both UTC."""
    moment = datetime.fromtimestamp(epoch_s, UTC)
    day = _midnight(moment)
    if period == "DAY":
        return day, day + timedelta(days=1)
    if period == "WEEK":
        days_since_sunday = (day.weekday() + 1) % 7  # Python: Monday = 0; API Gateway: Sunday = offset 0
        start = day - timedelta(days=(days_since_sunday - offset) % 7)
        return start, start + timedelta(days=7)
    if period == "MONTH":
        first = offset + 1
        start = _month_day(day.year, day.month if day.day >= first else day.month - 1, first)
        return start, _month_day(start.year, start.month + 1, first)
    raise ValueError(f"unknown quota period {period!r} (use one of {', '.join(PERIODS)})")


#: The last period computed per (period, offset): most requests fall in the same one.
_RECENT: dict[tuple[str, int], tuple[int, int]] = {}


def period_id(epoch_s: float, period: str, offset: int = 0) -> tuple[int, int]:
    """``(start, end)`` of the period as whole epoch seconds: the start names the counter, the end expires it."""
    recent = _RECENT.get((period, offset))
    if recent is not None and recent[0] <= epoch_s < recent[1]:
        return recent
    start, end = period_bounds(epoch_s, period, offset)
    found = _RECENT[(period, offset)] = (int(start.timestamp()), int(end.timestamp()))
    return found
