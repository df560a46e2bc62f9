"""Schedule expressions and their ticks (kumo.schedules): parsing, refusals, and tick math checked
against a brute-force minute-by-minute scan."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kumo.models.events import EventSource
from kumo.schedules import Cron, Rate, ScheduleError, latest_tick, next_tick, parse


def ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def test_rates() -> None:
    assert parse("rate(1 minute)") == Rate(60)
    assert parse("rate(5 minutes)") == Rate(300)
    assert parse("rate(1 hour)") == Rate(3600)
    assert parse("rate(2 days)") == Rate(172800)
    assert next_tick(Rate(300), ts(2024, 1, 1, 12, 3)) == ts(2024, 1, 1, 12, 5)
    assert latest_tick(Rate(300), ts(2024, 1, 1, 12, 5)) == ts(2024, 1, 1, 12, 5)
    assert latest_tick(Rate(300), ts(2024, 1, 1, 12, 4, 59)) == ts(2024, 1, 1, 12, 0)


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("rate(1 minutes)", "singular"),
        ("rate(5 minute)", "singular"),
        ("rate(0 minutes)", "positive"),
        ("rate(5 seconds)", "expected rate"),
        ("cron(0 12 * * ? *)x", "expected rate(...) or cron(...)"),
        ("cron(0 12 * *)", "6 fields"),
        ("cron(0 12 * * * *)", "'?'"),
        ("cron(0 12 ? * ? *)", "'?'"),
        ("cron(0 0 L * ? *)", "L, W and # are not supported"),
        ("cron(0 0 15W * ? *)", "L, W and # are not supported"),
        ("cron(0 0 ? * 2#1 *)", "L, W and # are not supported"),
        ("cron(60 0 * * ? *)", "outside 0-59"),
        ("cron(0 24 * * ? *)", "outside 0-23"),
        ("cron(0 0 ? * 8 *)", "outside 1-7"),
        ("cron(0 0 * 13 ? *)", "outside 1-12"),
        ("cron(0 0 * * ? 1969)", "outside 1970-2199"),
        ("cron(0/0 0 * * ? *)", "increment"),
        ("cron(x 0 * * ? *)", "not a number"),
    ],
)
def test_refused_expressions_say_why(expression: str, why: str) -> None:
    with pytest.raises(ScheduleError, match=why.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        parse(expression)


def test_cron_fields_names_ranges_steps() -> None:
    cron = parse("cron(0/15 9-17 ? * MON-FRI *)")
    assert isinstance(cron, Cron)
    assert cron.minutes == {0, 15, 30, 45}
    assert cron.hours == set(range(9, 18))
    assert cron.days_of_week == {2, 3, 4, 5, 6}
    assert cron.days_of_month is None
    assert parse("cron(0 0 1 JAN,jul ? 2030-2031)").months == {1, 7}  # type: ignore[union-attr]
    # 2024-01-05 is a Friday: after 17:45 the next tick is Monday 09:00.
    assert next_tick(cron, ts(2024, 1, 5, 17, 45)) == ts(2024, 1, 8, 9, 0)
    assert latest_tick(cron, ts(2024, 1, 7, 12, 0)) == ts(2024, 1, 5, 17, 45)
    noon = parse("cron(0 12 * * ? *)")
    assert next_tick(noon, ts(2024, 2, 28, 12, 0)) == ts(2024, 2, 29, 12, 0)
    assert latest_tick(noon, ts(2024, 3, 1, 11, 59, 59)) == ts(2024, 2, 29, 12, 0)
    assert next_tick(parse("cron(0 0 29 2 ? *)"), ts(2025, 1, 1)) == ts(2028, 2, 29)
    assert next_tick(parse("cron(0 0 1 1 ? 2030)"), ts(2031, 1, 1)) is None
    assert latest_tick(parse("cron(0 0 1 1 ? 2030)"), ts(2029, 1, 1)) is None


def test_the_manifest_refuses_bad_schedules_clearly() -> None:
    assert EventSource.model_validate({"schedule": "rate(5 minutes)"}).schedule == "rate(5 minutes)"
    for body, message in [
        ({"schedule": "cron(0 0 L * ? *)"}, "not supported"),
        ({"schedule": "cron(0 0 30 2 ? *)"}, "never fires"),
        ({"schedule": "rate(5 minutes)", "batchSize": 2}, "batchSize"),
        ({"schedule": "rate(5 minutes)", "queue": "q"}, "exactly one source"),
    ]:
        with pytest.raises(ValueError, match=message):
            EventSource.model_validate(body)


def brute_next(cron: Cron, t: int, limit_days: int) -> int | None:
    """Minute by minute (whole days skipped when the day itself cannot match)."""
    minute = (t // 60 + 1) * 60
    end = minute + limit_days * 86400
    while minute < end:
        if not day_matches(cron, minute):
            minute = (minute // 86400 + 1) * 86400
            continue
        if matches(cron, minute):
            return minute
        minute += 60
    return None


def day_matches(cron: Cron, t: int) -> bool:
    at = datetime.fromtimestamp(t, UTC)
    if at.month not in cron.months or at.year not in cron.years:
        return False
    if cron.days_of_month is not None:
        return at.day in cron.days_of_month
    assert cron.days_of_week is not None
    return (at.isoweekday() % 7) + 1 in cron.days_of_week


def matches(cron: Cron, t: int) -> bool:
    at = datetime.fromtimestamp(t, UTC)
    return day_matches(cron, t) and at.minute in cron.minutes and at.hour in cron.hours


def _part(low: int, high: int) -> st.SearchStrategy[str]:
    single = st.integers(low, high).map(str)
    ranged = st.tuples(st.integers(low, high), st.integers(low, high)).map(lambda p: f"{min(p)}-{max(p)}")
    stepped = st.tuples(st.integers(low, high), st.integers(1, 9)).map(lambda p: f"{p[0]}/{p[1]}")
    return st.one_of(st.just("*"), single, ranged, stepped)


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    return st.lists(_part(low, high), min_size=1, max_size=3).map(",".join)


crons = st.builds(
    lambda m, h, dom, month, dow, use_dow: (
        f"cron({m} {h} {'?' if use_dow else dom} {month} {dow if use_dow else '?'} *)"
    ),
    _field(0, 59),
    _field(0, 23),
    _field(1, 28),
    st.one_of(st.just("*"), _field(1, 12)),
    _field(1, 7),
    st.booleans(),
)
times = st.integers(ts(2000, 1, 1), ts(2100, 1, 1))


@settings(max_examples=150, deadline=None)
@given(crons, times)
def test_cron_ticks_agree_with_a_minute_scan(expression: str, t: int) -> None:
    cron = parse(expression)
    assert isinstance(cron, Cron)
    found = next_tick(cron, t)
    # Days of the month 1-28 exist in every month, every weekday within a week: a tick within 13 months.
    assert found == brute_next(cron, t, 400)
    assert found is not None and found > t and matches(cron, found)
    latest = latest_tick(cron, t)
    assert latest is not None and latest <= t and matches(cron, latest)
    assert next_tick(cron, latest) == found  # no tick between the latest and t
    assert latest_tick(cron, found) == found
    assert latest_tick(cron, found - 1) == latest


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 500), st.sampled_from(["minutes", "hours", "days"]), times)
def test_rate_ticks_are_epoch_multiples(value: int, unit: str, t: int) -> None:
    rate = parse(f"rate({value} {unit if value > 1 else unit.rstrip('s')})")
    assert isinstance(rate, Rate)
    latest, following = latest_tick(rate, t), next_tick(rate, t)
    assert latest is not None and following is not None
    assert latest <= t < following == latest + rate.period_s
    assert latest % rate.period_s == 0
