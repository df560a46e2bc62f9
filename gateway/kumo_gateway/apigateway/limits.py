"""The endpoint's one call for API keys, usage plans and throttles: :meth:`Limits.check`.

Pure rules in :mod:`usage_plans`, Redis in :mod:`limits_store`. A route with no key, plan or
throttle returns at once (no Redis). :meth:`Limits.admit` also takes the invocation's concurrency lease
in the same script call, so a keyed request costs the Redis round trips of an open one.
Redis unreachable: keys and quotas fail closed (503), throttles
alone follow ``KUMO_THROTTLE_WHEN_REDIS_DOWN`` (default ``allow``); never a 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from kumo_gateway.apigateway import usage_plans
from kumo_gateway.apigateway.api_keys import API_KEY_HEADER, key_hash
from kumo_gateway.apigateway.gateway_responses import HttpResponse
from kumo_gateway.apigateway.limits_store import LimitsStore
from kumo_gateway.apigateway.usage_plans import Outcome, RouteLimits

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from kumo.models import Api
    from kumo_gateway.apigateway.access_log import RequestNote
    from kumo_gateway.concurrency.gate import ConcurrencyGate, Lease
    from kumo_gateway.metrics import GatewayMetrics

log = logging.getLogger("kumo.gateway.limits")

#: The longest a request waits for Redis before it is treated as unreachable.
REDIS_TIMEOUT_S = 1.0
_WARN_EVERY_S = 10.0


class Limits:
    """Checks a matched request against its route's key requirement, usage plans and throttles."""

    def __init__(
        self,
        redis: Redis | None,
        metrics: GatewayMetrics | None = None,
        *,
        clock: Callable[[], float] = time.time,
        throttle_policy: str | None = None,
        leases: ConcurrencyGate | None = None,
    ) -> None:
        self.store = LimitsStore(redis) if redis is not None else None
        #: Where :meth:`admit` takes concurrency leases (None: it takes none).
        self.leases = leases
        self.metrics = metrics
        #: The quota periods' clock (epoch seconds); tests move it to the next period.
        self.clock = clock
        self.throttle_policy = throttle_policy or usage_plans.throttle_policy()
        self._routes: dict[tuple[str, str, str], tuple[Api, RouteLimits]] = {}
        self._warned_at = -_WARN_EVERY_S

    def route_limits(self, api: Api, stage: str, route_key: str) -> RouteLimits:
        cache_key = (api.metadata.name, stage, route_key)
        entry = self._routes.get(cache_key)
        if entry is None or entry[0] is not api:
            entry = self._routes[cache_key] = (api, usage_plans.route_limits(api, stage, route_key))
        return entry[1]

    async def check(
        self, api: Api, stage: str, route_key: str, headers: Mapping[str, str], note: RequestNote
    ) -> HttpResponse | None:
        """None: go on; else API Gateway's answer (403, 429, or 503 when Redis is needed and down)."""
        denied, _ = await self.admit(api, stage, route_key, headers, note, None)
        return denied

    async def admit(
        self, api: Api, stage: str, route_key: str, headers: Mapping[str, str], note: RequestNote, function: str | None
    ) -> tuple[HttpResponse | None, Lease | None]:
        """:meth:`check`, and — when the route checks anything, passes, and ``function`` is named — a
        concurrency lease of ``function`` taken in the same script call: ``(None, lease)`` (hand it to
        the gate's ``acquire``); raises the gate's ``TooManyRequests`` when its pool is full. A route that
        checks nothing answers ``(None, None)`` at once: the gate takes the lease itself."""
        limits = self.route_limits(api, stage, route_key)
        if not limits.checks_anything:
            return None, None
        digest = None
        if limits.key_required:
            value = headers.get(API_KEY_HEADER)
            if not value:
                return self._refuse(limits, Outcome.FORBIDDEN), None
            digest = key_hash(value)
        lease, ttl_ms = self.leases.new_lease(function) if self.leases is not None and function else (None, 0)
        leased = redis_down = False
        try:
            if self.store is None:
                raise RedisError("no Redis configured")
            # The deadline rides on the script's own connection (no timer per request).
            if lease is None:
                outcome, key_id = await self.store.check(limits, digest, self.clock(), REDIS_TIMEOUT_S)
            else:
                pool = lease.pool
                taken = (pool.key, lease.id, pool.limit, ttl_ms)
                outcome, key_id, leased = await self.store.check_and_lease(
                    limits, digest, self.clock(), taken, REDIS_TIMEOUT_S
                )
        except (RedisError, OSError, TimeoutError) as exc:
            self._warn(exc)
            outcome, key_id = usage_plans.when_redis_is_down(limits, self.throttle_policy), None
            # The gate would find Redis down too: the call runs uncounted (the release, sent anyway,
            # removes the lease if the script did run before its answer was lost).
            redis_down = True
        if key_id is not None:
            note.api_key_id = key_id
        if outcome != Outcome.ALLOW:
            if lease is not None and redis_down:
                lease.release()
            return self._refuse(limits, outcome), None
        if lease is not None and not leased and not redis_down:
            raise lease.gate.refuse(lease.pool)
        return None, lease

    def close(self) -> None:
        """Close the script's own Redis connection (the app's lifespan calls this when it stops)."""
        if self.store is not None:
            self.store.script.close()

    def _refuse(self, limits: RouteLimits, outcome: Outcome) -> HttpResponse | None:
        if self.metrics is not None:
            reason = usage_plans.metric_reason(outcome)
            if reason is not None:
                self.metrics.throttled.labels(limits.api, limits.stage, reason).inc()
            elif outcome == Outcome.FORBIDDEN:
                self.metrics.auth_failures.labels("api", "Forbidden").inc()
        return usage_plans.response_for(outcome)

    def _warn(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_S:
            self._warned_at = now
            log.warning(
                "Redis unreachable (%s): API keys and quotas refused with 503, throttles %s",
                exc or type(exc).__name__,
                "skipped" if self.throttle_policy == "allow" else "refused with 503",
            )
