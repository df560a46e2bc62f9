"""Which concurrency pool an invocation draws from, and how long its lease lives (pure rules).

Lambda's model: the account has a limit (1,000 by default). A function with reserved concurrency
``R`` runs at most ``R`` invocations at once, and those ``R`` are set aside for it; every other
function shares what is left (the unreserved pool: the account limit minus all reservations).
Over its pool an invocation is refused with ``TooManyRequestsException`` and the pool's ``Reason``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Lambda's default account limit (concurrent executions).
DEFAULT_ACCOUNT_LIMIT = 1000
ACCOUNT_REASON = "ConcurrentInvocationLimitExceeded"
RESERVED_REASON = "ReservedFunctionConcurrentInvocationLimitExceeded"
#: A lease outlives the function's timeout by this much (cold start, waiting for an instance,
#: the answer's way back); after that a crashed holder's slot is free again.
LEASE_GRACE_S = 30.0
#: What ``Retry-After`` says on a refusal (seconds).
RETRY_AFTER_S = 1

POOL_KEY_PREFIX = "kumo:concurrency:"
UNRESERVED_KEY = POOL_KEY_PREFIX + "unreserved"


@dataclass(frozen=True)
class Pool:
    """A sorted set of leases (``key``) holding at most ``limit``; ``reason`` when it is full."""

    key: str
    limit: int
    reason: str
    message: str


def function_key(name: str) -> str:
    return f"{POOL_KEY_PREFIX}function:{name}"


def reserved_total(reservations: Iterable[int | None]) -> int:
    """Concurrency set aside by every function with a reservation."""
    return sum(r for r in reservations if r is not None)


def pool_for(name: str, reserved: int | None, account_limit: int, total_reserved: int) -> Pool:
    """The pool an invocation of ``name`` draws from; ``total_reserved``: every function's reservations.

    Functions without a reservation share the account limit minus every reservation."""
    if reserved is not None:
        return Pool(
            function_key(name),
            reserved,
            RESERVED_REASON,
            f"Rate Exceeded. The function {name} is at its reserved concurrency ({reserved}).",
        )
    return Pool(
        UNRESERVED_KEY,
        max(0, account_limit - total_reserved),
        ACCOUNT_REASON,
        "Rate Exceeded. The account's concurrent executions limit is reached.",
    )


def lease_ttl_ms(timeout_s: float) -> int:
    """How long a lease lives unless released: the function's timeout plus :data:`LEASE_GRACE_S`."""
    return int((timeout_s + LEASE_GRACE_S) * 1000)


def check_account_limit(value: int) -> str | None:
    """Why ``value`` is not a usable account limit (``--concurrency-limit``; 0 turns counting off), or None."""
    if value < 0:
        return f"the concurrency limit must be 0 (no limit) or more (got {value})"
    return None


#: Lambda keeps at least this much of the account limit unreserved (PutFunctionConcurrency refuses more).
MIN_UNRESERVED = 100


def min_unreserved(account_limit: int) -> int:
    """The unreserved concurrency a reservation must leave: Lambda's 100, or a tenth of a smaller limit."""
    return min(MIN_UNRESERVED, account_limit // 10)


def check_reservation(value: object, account_limit: int, others_reserved: int) -> str | None:
    """Why ``ReservedConcurrentExecutions: value`` cannot be set (``others_reserved``: every other
    function's reservation), or None. ``account_limit`` 0 (no counting) checks only the value's type."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return "ReservedConcurrentExecutions must be a whole number of 0 or more."
    if account_limit > 0:
        keep = min_unreserved(account_limit)
        if account_limit - others_reserved - value < keep:
            return (
                f"Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{keep}]."
            )
    return None
