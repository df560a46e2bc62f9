"""Pure rules of API keys, usage plans and throttles: token bucket, quota periods, key format, order of checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from kumo.models import Api
from kumo_gateway.apigateway import api_keys, quota_periods, token_bucket, usage_plans
from kumo_gateway.apigateway.usage_plans import Outcome


def pets(**spec: object) -> Api:
    base: dict[str, object] = {
        "routes": [
            {"method": "GET", "path": "/pets", "function": "list-pets", "apiKeyRequired": True},
            {"method": "GET", "path": "/pets/{id}", "function": "get-pet", "throttle": {"rate": 50, "burst": 100}},
            {"method": "GET", "path": "/free", "function": "get-pet"},
        ],
        "stages": [{"name": "prod", "throttle": {"rate": 100, "burst": 200}}, {"name": "dev"}],
        "usagePlans": [
            {
                "name": "basic",
                "stages": ["prod"],
                "throttle": {"rate": 5, "burst": 10},
                "quota": {"limit": 1000, "period": "DAY"},
            },
            {"name": "devs", "stages": ["dev"]},
        ],
    }
    base.update(spec)
    return Api.model_validate({"metadata": {"name": "pets"}, "spec": base})


# -- token bucket --------------------------------------------------------------------------------


def test_a_new_bucket_is_full_and_a_refusal_takes_nothing() -> None:
    bucket = None
    for _ in range(3):
        allowed, bucket = token_bucket.take(bucket, 0.0, rate=1.0, burst=3)
        assert allowed
    allowed, after = token_bucket.take(bucket, 0.0, rate=1.0, burst=3)
    assert not allowed and after == bucket
    allowed, _ = token_bucket.take(bucket, 1000.0, rate=1.0, burst=3)  # one second refills one token
    assert allowed


def test_burst_zero_refuses_everything() -> None:
    assert token_bucket.take(None, 0.0, rate=100.0, burst=0) == (False, None)


@given(
    rate=st.floats(min_value=0.5, max_value=500),
    burst=st.integers(min_value=0, max_value=50),
    gaps=st.lists(st.floats(min_value=0, max_value=200), min_size=1, max_size=200),
)
def test_admitted_requests_never_exceed_burst_plus_rate_times_time(rate: float, burst: int, gaps: list[float]) -> None:
    bucket, now, admitted = None, 0.0, 0
    for gap in gaps:
        now += gap
        allowed, bucket = token_bucket.take(bucket, now, rate, burst)
        admitted += allowed
        assert admitted <= token_bucket.accepted_upper_bound(rate, burst, now / 1000.0) + 1e-6
        assert bucket is None or 0.0 <= bucket.tokens <= burst


def test_an_idle_bucket_expires_only_once_it_would_be_full() -> None:
    assert token_bucket.idle_expiry_ms(rate=2.0, burst=10) >= 5000


# -- quota periods ---------------------------------------------------------------------------------


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_day_periods_start_at_utc_midnight() -> None:
    start, end = quota_periods.period_bounds(at("2024-03-05T23:59:59"), "DAY")
    assert (start.isoformat(), end.isoformat()) == ("2024-03-05T00:00:00+00:00", "2024-03-06T00:00:00+00:00")


def test_weeks_start_on_sunday_with_offset_zero_and_monday_with_one() -> None:
    wednesday = at("2024-03-06T12:00:00")
    assert quota_periods.period_bounds(wednesday, "WEEK")[0].date().isoformat() == "2024-03-03"  # a Sunday
    assert quota_periods.period_bounds(wednesday, "WEEK", 1)[0].date().isoformat() == "2024-03-04"  # a Monday
    sunday = at("2024-03-03T00:00:00")
    assert quota_periods.period_bounds(sunday, "WEEK", 1)[0].date().isoformat() == "2024-02-26"


def test_months_start_on_the_offset_day_and_cross_years() -> None:
    assert quota_periods.period_bounds(at("2024-12-31T10:00:00"), "MONTH")[1].isoformat() == "2025-01-01T00:00:00+00:00"
    start, end = quota_periods.period_bounds(at("2024-01-10T00:00:00"), "MONTH", 14)
    assert (start.date().isoformat(), end.date().isoformat()) == ("2023-12-15", "2024-01-15")


@given(
    moment=st.floats(min_value=0, max_value=4_000_000_000),
    period_offset=st.sampled_from([("DAY", 0)] + [("WEEK", o) for o in range(7)] + [("MONTH", o) for o in range(28)]),
)
def test_every_instant_lies_in_its_period_and_the_next_period_starts_at_the_end(
    moment: float, period_offset: tuple[str, int]
) -> None:
    period, offset = period_offset
    start, end = quota_periods.period_bounds(moment, period, offset)
    assert start.timestamp() <= moment < end.timestamp()
    assert start.hour == start.minute == start.second == 0
    assert quota_periods.period_bounds(end.timestamp(), period, offset)[0] == end


# -- keys --------------------------------------------------------------------------------------------


def test_generated_keys_are_40_alphanumerics_and_only_their_hash_is_kept() -> None:
    value = api_keys.new_key_value()
    assert api_keys.is_generated_key(value) and value != api_keys.new_key_value()
    assert api_keys.key_hash(value) != value and len(api_keys.key_hash(value)) == 64
    assert api_keys.check_imported_value("short") is not None
    assert api_keys.check_imported_value("a" * 20) is None
    assert "value" not in api_keys.KeyRecord("abc", "pets", "basic", "n", True, 0.0).public()


# -- the order of checks ---------------------------------------------------------------------------------


def test_a_key_route_checks_plan_throttle_then_quota_then_the_stage_throttle() -> None:
    limits = usage_plans.route_limits(pets(), "prod", "GET /pets")
    assert limits.key_required and [p.name for p in limits.plans] == ["basic"]
    checks = usage_plans.checks_for(limits, "h" * 64, at("2024-03-05T10:00:00"))
    assert [c.outcome for c in checks] == [Outcome.PLAN_THROTTLED, Outcome.QUOTA_EXCEEDED, Outcome.STAGE_THROTTLED]
    assert all(c.plan == "basic" for c in checks[:2]) and checks[2].plan == ""
    quota = checks[1]
    assert quota.key.endswith(str(int(at("2024-03-05T00:00:00")))) and quota.a == 1000
    assert quota.b == 14 * 3600 + usage_plans.QUOTA_GRACE_S  # kept until the period ends, plus grace


def test_route_throttle_comes_before_the_stage_throttle_and_free_routes_check_nothing() -> None:
    api = pets()
    checks = usage_plans.checks_for(usage_plans.route_limits(api, "prod", "GET /pets/{id}"), None, 0)
    assert [c.outcome for c in checks] == [Outcome.ROUTE_THROTTLED, Outcome.STAGE_THROTTLED]
    assert not usage_plans.route_limits(api, "dev", "GET /free").checks_anything
    assert [p.name for p in usage_plans.route_limits(api, "dev", "GET /pets").plans] == ["devs"]


def test_redis_down_fails_closed_for_keys_and_follows_the_policy_for_throttles() -> None:
    api = pets()
    keyed = usage_plans.route_limits(api, "prod", "GET /pets")
    throttled = usage_plans.route_limits(api, "prod", "GET /pets/{id}")
    assert usage_plans.when_redis_is_down(keyed, "allow") == Outcome.UNAVAILABLE
    assert usage_plans.when_redis_is_down(throttled, "allow") == Outcome.ALLOW
    assert usage_plans.when_redis_is_down(throttled, "deny") == Outcome.UNAVAILABLE
    assert usage_plans.throttle_policy({}) == "allow"
    assert usage_plans.throttle_policy({"KUMO_THROTTLE_WHEN_REDIS_DOWN": "DENY"}) == "deny"


def test_answers_are_api_gateways() -> None:
    def shape(outcome: Outcome) -> tuple[int, bytes]:
        response = usage_plans.response_for(outcome)
        assert response is not None
        return response.status, response.body

    assert shape(Outcome.FORBIDDEN) == (403, b'{"message": "Forbidden"}')
    assert shape(Outcome.PLAN_THROTTLED) == (429, b'{"message": "Too Many Requests"}')
    assert shape(Outcome.QUOTA_EXCEEDED) == (429, b'{"message": "Limit Exceeded"}')
    assert shape(Outcome.UNAVAILABLE) == (503, b'{"message": "Service Unavailable"}')
    assert usage_plans.response_for(Outcome.ALLOW) is None


# -- the model ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"usagePlans": [{"name": "x", "stages": ["nope"]}]}, "stage 'nope' is not a stage of this Api"),
        ({"usagePlans": [{"name": "x", "stages": ["prod"]}, {"name": "x", "stages": ["dev"]}]}, "duplicate usage plan"),
        (
            {"usagePlans": [{"name": "x", "stages": ["prod"], "quota": {"limit": 1, "period": "WEEK", "offset": 7}}]},
            "offset",
        ),
        ({"usagePlans": [{"name": "x", "stages": ["prod"], "quota": {"limit": 0, "period": "DAY"}}]}, "limit"),
        ({"usagePlans": [{"name": "x", "stages": ["prod"], "throttle": {"rate": 0, "burst": 1}}]}, "rate"),
    ],
)
def test_bad_usage_plans_are_refused_clearly(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        pets(**change)
