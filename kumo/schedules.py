"""EventBridge schedule expressions and their ticks (pure).

``rate(N unit)`` — ``unit`` is ``minute``/``minutes``, ``hour``/``hours`` or ``day``/``days`` (singular for
1, plural otherwise, as EventBridge requires). Kumo anchors rates at the Unix epoch: ``rate(5 minutes)``
ticks at every multiple of 300 s (UTC), so every worker computes the same ticks without shared state.

``cron(Minutes Hours Day-of-month Month Day-of-week Year)`` — six fields, UTC, with ``*``, ``,``, ``-``,
``/`` and ``?`` (required in exactly one of the two day fields); months ``1-12`` or ``JAN-DEC``, days of
the week ``1-7`` (1 = Sunday) or ``SUN-SAT``, years 1970-2199. EventBridge's ``L``, ``W`` and ``#`` are
refused with a clear error (not supported).

A tick is a whole number of seconds since the epoch. :func:`latest_tick` is the most recent tick at or
before a time (what a scheduler fires), :func:`next_tick` the first one after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

MIN_YEAR, MAX_YEAR = 1970, 2199
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {
    name: i + 1
    for i, name in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
}
_DAYS = {name: i + 1 for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}


class ScheduleError(ValueError):
    """A schedule expression Kumo cannot run (the message says why)."""


@dataclass(frozen=True)
class Rate:
    period_s: int

    def latest(self, t: float) -> int | None:
        return int(t // self.period_s) * self.period_s

    def next(self, t: float) -> int | None:
        return (int(t // self.period_s) + 1) * self.period_s


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None  # None: '?' (the day of the week decides)
    months: frozenset[int]
    days_of_week: frozenset[int] | None  # 1 = Sunday; None: '?'
    years: frozenset[int]

    def _day_matches(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.days_of_month is not None:
            return day.day in self.days_of_month
        assert self.days_of_week is not None
        return (day.isoweekday() % 7) + 1 in self.days_of_week

    def next(self, t: float) -> int | None:
        start = datetime.fromtimestamp(int(t // 60) * 60, UTC) + timedelta(minutes=1)
        return self._search(start, 1)

    def latest(self, t: float) -> int | None:
        return self._search(datetime.fromtimestamp(int(t // 60) * 60, UTC), -1)

    def _search(self, start: datetime, step: int) -> int | None:
        """The first matching minute from ``start`` (included) going forward (step 1) or back (-1)."""
        times = sorted((h, m) for h in self.hours for m in self.minutes)
        if step < 0:
            times.reverse()
        day, bound = start.date(), (start.hour, start.minute)
        while MIN_YEAR <= day.year <= MAX_YEAR:
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1) if step > 0 else date(day.year - 1, 12, 31)
            elif day.month not in self.months:
                day = _next_month(day) if step > 0 else date(day.year, day.month, 1) - timedelta(days=1)
            elif not self._day_matches(day):
                day += timedelta(days=step)
            else:
                for hm in times:
                    if bound is None or (hm >= bound if step > 0 else hm <= bound):
                        found = datetime(day.year, day.month, day.day, hm[0], hm[1], tzinfo=UTC)
                        return int(found.timestamp())
                day += timedelta(days=step)
            bound = None
        return None


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


Schedule = Rate | Cron


def parse(expression: str) -> Schedule:
    """The schedule of ``rate(...)`` or ``cron(...)``; :class:`ScheduleError` says what is wrong."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate is not None:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise ScheduleError(f"{expression!r}: the rate must be a positive whole number")
        if (value == 1) != (not unit.endswith("s")):
            raise ScheduleError(f"{expression!r}: use the singular unit for 1 and the plural otherwise")
        return Rate(value * _UNIT_S[unit.rstrip("s")])
    if text.startswith("rate("):
        raise ScheduleError(f"{expression!r}: expected rate(N minute[s]|hour[s]|day[s])")
    cron = _CRON.match(text)
    if cron is None:
        raise ScheduleError(f"{expression!r}: expected rate(...) or cron(...)")
    return _parse_cron(expression, cron.group(1).split())


def _parse_cron(expression: str, fields: list[str]) -> Cron:
    if len(fields) != 6:
        raise ScheduleError(f"{expression!r}: cron takes 6 fields (minutes hours day-of-month month day-of-week year)")
    dom, dow = fields[2], fields[4]
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(f"{expression!r}: use '?' in exactly one of day-of-month and day-of-week")
    return Cron(
        minutes=_field(expression, fields[0], 0, 59),
        hours=_field(expression, fields[1], 0, 23),
        days_of_month=None if dom == "?" else _field(expression, dom, 1, 31),
        months=_field(expression, fields[3], 1, 12, _MONTHS),
        days_of_week=None if dow == "?" else _field(expression, dow, 1, 7, _DAYS),
        years=_field(expression, fields[5], MIN_YEAR, MAX_YEAR),
    )


def _field(expression: str, text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = _number(expression, step_text, None) if step_text else 1
        if step < 1:
            raise ScheduleError(f"{expression!r}: the increment in {part!r} must be 1 or more")
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first_text, _, last_text = base.partition("-")
            first, last = _number(expression, first_text, names), _number(expression, last_text, names)
        else:
            first = _number(expression, base, names)
            last = high if step_text else first
        if not (low <= first <= high and low <= last <= high) or first > last:
            raise ScheduleError(f"{expression!r}: {part!r} is outside {low}-{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _number(expression: str, text: str, names: dict[str, int] | None) -> int:
    if names is not None and text.upper() in names:
        return names[text.upper()]
    if any(c in text.upper() for c in "LW#"):
        raise ScheduleError(f"{expression!r}: {text!r}: L, W and # are not supported by Kumo")
    if not text.isdigit():
        raise ScheduleError(f"{expression!r}: {text!r} is not a number here")
    return int(text)


def check(expression: str) -> Schedule:
    """The schedule of ``expression`` if Kumo can run it: it parses and fires at least once."""
    parsed = parse(expression)
    if next_tick(parsed, 0) is None:
        raise ScheduleError(f"{expression!r} never fires")
    return parsed


def latest_tick(schedule: Schedule, t: float) -> int | None:
    """The most recent tick at or before ``t`` (epoch seconds), or None when there is none."""
    return schedule.latest(t)


def next_tick(schedule: Schedule, t: float) -> int | None:
    """The first tick strictly after ``t`` (epoch seconds), or None when there is none."""
    return schedule.next(t)
