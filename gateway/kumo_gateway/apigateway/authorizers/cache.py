"""Lambda authorizer decisions cached per (Api, authorizer, identity values) for the authorizer's ttl.

In Redis when the gateway has one (shared by every replica: one authorizer call per identity per
ttl across the fleet), else in process. The key holds a SHA-256 of the identity values, never the
values (tokens) themselves. A Redis error is logged and the request falls back to the in-process
cache, so a Redis outage costs authorizer calls, never a failed request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kumo_gateway.apigateway.authorizers.lambda_events import Decision

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("kumo.gateway")

KEY_PREFIX = "kumo:authz:"
MAX_LOCAL_ENTRIES = 10_000


def cache_key(api: str, authorizer: str, identity: Sequence[str]) -> str:
    digest = hashlib.sha256(json.dumps([api, authorizer, list(identity)]).encode()).hexdigest()
    return f"{KEY_PREFIX}{digest}"


class DecisionCache:
    def __init__(self, redis: Redis | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = redis
        self.clock = clock
        self._local: OrderedDict[str, tuple[float, Decision]] = OrderedDict()

    async def get(self, key: str) -> Decision | None:
        if self.redis is not None:
            try:
                raw = await self.redis.get(key)
            except Exception as exc:  # redis-py raises many kinds; none may fail the request
                log.warning("authorizer cache: Redis get failed (%s); using the in-process cache", exc)
            else:
                return self._decode(raw) if raw is not None else None
        entry = self._local.get(key)
        if entry is None:
            return None
        if entry[0] <= self.clock():
            self._local.pop(key, None)
            return None
        return entry[1]

    async def put(self, key: str, decision: Decision, ttl_s: float) -> None:
        if self.redis is not None:
            try:
                await self.redis.set(key, json.dumps(decision.to_json()), ex=max(1, int(ttl_s)))
                return
            except Exception as exc:
                log.warning("authorizer cache: Redis set failed (%s); using the in-process cache", exc)
        self._local[key] = (self.clock() + ttl_s, decision)
        self._local.move_to_end(key)
        while len(self._local) > MAX_LOCAL_ENTRIES:
            self._local.popitem(last=False)

    @staticmethod
    def _decode(raw: Any) -> Decision | None:
        try:
            return Decision.from_json(json.loads(raw))
        except (ValueError, KeyError, TypeError):
            return None
