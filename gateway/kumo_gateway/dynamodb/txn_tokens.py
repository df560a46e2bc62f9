"""``ClientRequestToken`` idempotency of TransactWriteItems: 10 minutes, shared by gateway replicas in Redis
(in this process's memory when the gateway runs without Redis).

A token first stored ``pending`` (with the request's fingerprint) becomes ``done`` with the answer
once the transaction committed; a cancelled or failed transaction forgets its token, so a retry runs
it again, as DynamoDB does.
"""

from __future__ import annotations

import json
import time
from typing import Any

from kumo_gateway.dynamodb.transact_requests import IdempotentParameterMismatch, TransactionInProgress

TOKEN_TTL_S = 600
#: A ``pending`` token outlives a gateway that died mid-transaction by this long at most.
PENDING_TTL_S = 60
_PREFIX = "kumo:ddb:txtoken:"


class TokenStore:
    def __init__(self, redis: Any = None) -> None:
        self.redis = redis
        self._memory: dict[str, tuple[float, dict[str, Any]]] = {}

    async def begin(self, token: str, fingerprint: str) -> bytes | None:
        """Claim ``token``: None to run the transaction, or the stored answer of its earlier success."""
        record = {"f": fingerprint, "s": "pending"}
        if await self._add(token, record, PENDING_TTL_S):
            return None
        existing = await self._get(token)
        if existing is None:  # expired between the two calls
            return None if await self._add(token, record, PENDING_TTL_S) else b"{}"
        if existing.get("f") != fingerprint:
            raise IdempotentParameterMismatch()
        if existing.get("s") != "done":
            raise TransactionInProgress()
        return existing.get("a", "{}").encode()

    async def done(self, token: str, fingerprint: str, answer: bytes) -> None:
        await self._set(token, {"f": fingerprint, "s": "done", "a": answer.decode()}, TOKEN_TTL_S)

    async def forget(self, token: str) -> None:
        if self.redis is not None:
            await self.redis.delete(_PREFIX + token)
        else:
            self._memory.pop(token, None)

    # ---- storage -------------------------------------------------------------------------------

    async def _add(self, token: str, record: dict[str, Any], ttl: int) -> bool:
        if self.redis is not None:
            return bool(await self.redis.set(_PREFIX + token, json.dumps(record), nx=True, ex=ttl))
        self._expire()
        if token in self._memory:
            return False
        self._memory[token] = (time.monotonic() + ttl, record)
        return True

    async def _set(self, token: str, record: dict[str, Any], ttl: int) -> None:
        if self.redis is not None:
            await self.redis.set(_PREFIX + token, json.dumps(record), ex=ttl)
        else:
            self._memory[token] = (time.monotonic() + ttl, record)

    async def _get(self, token: str) -> dict[str, Any] | None:
        if self.redis is not None:
            raw = await self.redis.get(_PREFIX + token)
            return None if raw is None else json.loads(raw)
        self._expire()
        entry = self._memory.get(token)
        return None if entry is None else entry[1]

    def _expire(self) -> None:
        now = time.monotonic()
        for k in [k for k, (until, _) in self._memory.items() if until <= now]:
            del self._memory[k]
