"""The token bucket API Gateway documents for throttles (pure): ``rate`` tokens per second refill a
bucket holding at most ``burst``; a request takes one token or is throttled (429).

A bucket starts full. This is the reference the Redis script (:mod:`limits_store`) implements in Lua;
both keep ``(tokens, last refill time)`` and refill lazily when a request arrives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bucket:
    tokens: float
    #: When ``tokens`` was computed, in milliseconds.
    at_ms: float


def refill(bucket: Bucket | None, now_ms: float, rate: float, burst: int) -> float:
    """The tokens in the bucket at ``now_ms`` (a missing bucket is full; time never runs backwards)."""
    if bucket is None:
        return float(burst)
    elapsed = max(0.0, now_ms - bucket.at_ms)
    return min(float(burst), bucket.tokens + elapsed * rate / 1000.0)


def take(bucket: Bucket | None, now_ms: float, rate: float, burst: int) -> tuple[bool, Bucket | None]:
    """``(allowed, bucket after)``: one token taken when there is one; a refused request changes nothing."""
    tokens = refill(bucket, now_ms, rate, burst)
    if tokens < 1.0:
        return False, bucket
    return True, Bucket(tokens - 1.0, now_ms)


def idle_expiry_ms(rate: float, burst: int) -> int:
    """How long an untouched bucket must be kept: after that it would be full again, like a missing one."""
    return math.ceil(burst / rate * 1000.0) + 1000


def accepted_upper_bound(rate: float, burst: int, window_s: float) -> float:
    """The most requests a bucket admits in ``window_s`` seconds, starting full: ``burst + rate * window``."""
    return burst + rate * window_s
