"""The pure concurrency rules: which pool an invocation draws from, its limit, reason and lease life."""

from __future__ import annotations

from kumo_gateway.concurrency import rules


def test_a_function_with_a_reservation_draws_from_its_own_pool() -> None:
    pool = rules.pool_for("slow", 3, 1000, 3)
    assert pool.key == rules.function_key("slow") == "kumo:concurrency:function:slow"
    assert pool.limit == 3
    assert pool.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert "slow" in pool.message


def test_other_functions_share_the_account_limit_minus_every_reservation() -> None:
    total = rules.reserved_total([3, None, 10, 0])
    assert total == 13
    pool = rules.pool_for("hello", None, 100, total)
    assert (pool.key, pool.limit, pool.reason) == (rules.UNRESERVED_KEY, 87, "ConcurrentInvocationLimitExceeded")


def test_reservations_beyond_the_account_limit_leave_nothing_unreserved() -> None:
    assert rules.pool_for("hello", None, 10, 25).limit == 0


def test_a_reservation_of_zero_stops_the_function() -> None:
    assert rules.pool_for("off", 0, 1000, 0).limit == 0


def test_a_lease_outlives_the_timeout_by_the_grace() -> None:
    assert rules.lease_ttl_ms(3.0) == int((3.0 + rules.LEASE_GRACE_S) * 1000)


def test_the_account_limit_is_zero_for_none_or_positive() -> None:
    assert rules.check_account_limit(1) is None
    assert rules.check_account_limit(0) is None
    assert rules.check_account_limit(-5) is not None


def test_the_clusters_limit_comes_from_the_environment() -> None:
    import pytest

    from kumo_gateway.kubernetes.serve import SettingsError, concurrency_limit_from_env

    assert concurrency_limit_from_env({}) == rules.DEFAULT_ACCOUNT_LIMIT
    assert concurrency_limit_from_env({"KUMO_CONCURRENCY_LIMIT": " 250 "}) == 250
    assert concurrency_limit_from_env({"KUMO_CONCURRENCY_LIMIT": "0"}) == 0
    for bad in ("many", "-1", "1.5"):
        with pytest.raises(SettingsError):
            concurrency_limit_from_env({"KUMO_CONCURRENCY_LIMIT": bad})


def test_a_reservation_must_leave_lambdas_minimum_unreserved() -> None:
    assert rules.min_unreserved(1000) == 100
    assert rules.min_unreserved(20) == 2
    assert rules.check_reservation(900, 1000, 0) is None
    assert "[100]" in (rules.check_reservation(901, 1000, 0) or "")
    assert "[100]" in (rules.check_reservation(400, 1000, 501) or "")
    assert rules.check_reservation(0, 1000, 900) is None
    for bad in (-1, 1.5, "3", True, None):
        assert "whole number" in (rules.check_reservation(bad, 1000, 0) or "")
    assert rules.check_reservation(5000, 0, 0) is None  # counting off: only the value's type


def test_account_settings_shape() -> None:
    from kumo_gateway.lambda_.concurrency_api import account_settings

    settings = account_settings(1000, 250, [10, 20])
    assert settings["AccountLimit"] == {
        "TotalCodeSize": 80 * 1024**3,
        "CodeSizeUnzipped": 250 * 1024**2,
        "CodeSizeZipped": 50 * 1024**2,
        "ConcurrentExecutions": 1000,
        "UnreservedConcurrentExecutions": 750,
    }
    assert settings["AccountUsage"] == {"TotalCodeSize": 30, "FunctionCount": 2}
