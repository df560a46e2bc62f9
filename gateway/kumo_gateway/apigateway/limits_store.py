"""API keys, token buckets and quotas in Redis, shared by every gateway replica.

- A key is stored under ``kumo:apikey:<sha256 of the value>`` (a hash: ``id``, ``api``, ``plan``,
  ``name``, ``enabled``, ``created``, ``source``); ``kumo:apikeys:<api>`` maps each key id to that
  digest, for listing and deleting. The value itself is never stored.
- A request's checks (:func:`usage_plans.checks_for`) run in **one Lua script** (``EVALSHA``, one round
  trip; :mod:`kumo_gateway.admission`, which also takes the invocation's concurrency lease in the same
  call): look the key up, then every bucket and quota in order; only when all pass are the tokens
  taken and the quota counted, so a refused request costs nothing.
- Buckets refill on Redis' clock (``TIME`` inside the script), so replicas with skewed clocks still
  share one bucket exactly; they expire once they would be full again. Quota counters are named by
  their period's start, which the gateway's clock picks (injectable), and expire after the period.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from kumo_gateway.admission import AdmissionScript, bulk, lease_head
from kumo_gateway.apigateway import api_keys, usage_plans
from kumo_gateway.apigateway.api_keys import KeyRecord
from kumo_gateway.apigateway.script_link import ScriptLink
from kumo_gateway.apigateway.usage_plans import KEY_INDEX, KEY_RECORD, Check, Outcome, RouteLimits

if TYPE_CHECKING:
    from redis.asyncio import Redis


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def script_args(limits: RouteLimits, key_digest: str | None, checks: list[Check]) -> list[str]:
    """The checks' arguments of a request (see :data:`kumo_gateway.admission.ADMISSION_SCRIPT`)."""
    args: list[str] = [key_digest or "", limits.api, str(len(limits.plans)), *limits.plan_names]
    for check in checks:
        args += [str(int(check.outcome)), check.kind, check.key, _number(check.a), _number(check.b), check.plan]
    return args


_bulk = bulk
_CHECKS_ONLY = bulk("c")


#: Stands for a key's digest (hex SHA-256: 64 characters) in a route's packed arguments.
_PLACEHOLDER = "\x00" * 64
_PLACEHOLDER_BYTES = _PLACEHOLDER.encode()
_OUTCOMES = tuple(Outcome)
#: Routes whose packed arguments are kept (a bound; each Api object's routes make new entries).
_MAX_TEMPLATES = 1024


class LimitsStore:
    """The Redis side of API keys and usage plans."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        #: The hot path's one script and its lean connection, shared with the concurrency leases.
        self.script = AdmissionScript.shared(redis)
        #: id(route limits) -> (those limits, second, argument count, packed arguments).
        self._templates: dict[int, tuple[RouteLimits, int, int, bytes]] = {}

    @property
    def link(self) -> ScriptLink | None:
        """The lean connection (None: redis-py's script call, for TLS and other connection kinds)."""
        return self.script.link

    @link.setter
    def link(self, value: ScriptLink | None) -> None:
        self.script.link = value

    async def check(
        self, limits: RouteLimits, key_digest: str | None, now_s: float, timeout_s: float | None = None
    ) -> tuple[Outcome, str | None]:
        """Run the route's checks atomically: ``(outcome, key id or None)``; raises redis errors when
        Redis is unreachable (``TimeoutError`` past ``timeout_s``). ``now_s`` (the gateway's clock)
        picks the quota periods."""
        outcome, key_id, _ = await self._run(["c"], limits, key_digest, now_s, timeout_s)
        return outcome, key_id

    async def check_and_lease(
        self,
        limits: RouteLimits,
        key_digest: str | None,
        now_s: float,
        lease: tuple[str, str, int, int],
        timeout_s: float | None = None,
    ) -> tuple[Outcome, str | None, bool]:
        """The checks, then — when they pass — the concurrency ``lease`` (pool key, lease id, limit, ttl
        ms), in one script call: ``(outcome, key id or None, leased)``."""
        pool_key, lease_id, limit, ttl_ms = lease
        head = ["ca", pool_key, lease_id, str(limit), str(ttl_ms)]
        return await self._run(head, limits, key_digest, now_s, timeout_s)

    async def _run(
        self, head: list[str], limits: RouteLimits, key_digest: str | None, now_s: float, timeout_s: float | None
    ) -> tuple[Outcome, str | None, bool]:
        if self.script.link is None:
            checks = usage_plans.checks_for(limits, key_digest, now_s)
            answer = await self.script.run(head, tail=script_args(limits, key_digest, checks), timeout_s=timeout_s)
        else:
            count, packed = self._packed(limits, int(now_s))
            if key_digest is not None:
                packed = packed.replace(_PLACEHOLDER_BYTES, key_digest.encode())
            if len(head) == 5:
                packed_head = lease_head(head[0], head[1], head[2], int(head[3]), int(head[4]))
            else:
                packed_head = _CHECKS_ONLY
            answer = await self.script.run_packed(packed_head, len(head), packed, count, timeout_s)
        key_id = _text(answer[1]) or None
        return _OUTCOMES[int(answer[0])], key_id, int(answer[3]) == 1

    def _packed(self, limits: RouteLimits, second: int) -> tuple[int, bytes]:
        """The route's script arguments in RESP, with a placeholder for the key's digest (digests all
        have the same length, so the lengths hold); rebuilt once a second (the quota TTLs count down)."""
        entry = self._templates.get(id(limits))
        if entry is None or entry[0] is not limits or entry[1] != second:
            digest = _PLACEHOLDER if limits.key_required else None
            args = script_args(limits, digest, usage_plans.checks_for(limits, digest, second))
            if len(self._templates) > _MAX_TEMPLATES:
                self._templates.clear()
            entry = self._templates[id(limits)] = (limits, second, len(args), b"".join(map(_bulk, args)))
        return entry[2], entry[3]

    # -- keys --------------------------------------------------------------------------------------

    async def put_key(self, digest: str, record: KeyRecord) -> None:
        """Store a key by its digest (replacing one with the same id) and index it under its Api."""
        old = await self.redis.hget(KEY_INDEX.format(api=record.api), record.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            if old is not None and _text(old) != digest:
                pipe.delete(KEY_RECORD.format(hash=_text(old)))
            pipe.hset(
                KEY_RECORD.format(hash=digest),
                mapping={
                    "id": record.id,
                    "api": record.api,
                    "plan": record.plan,
                    "name": record.name,
                    "enabled": "1" if record.enabled else "0",
                    "created": repr(record.created),
                    "source": record.source,
                },
            )
            pipe.hset(KEY_INDEX.format(api=record.api), record.id, digest)
            await pipe.execute()

    async def create_key(self, api: str, plan: str, name: str) -> tuple[KeyRecord, str]:
        """A new generated key: ``(record, value)``; the value is not kept."""
        value = api_keys.new_key_value()
        record = KeyRecord(api_keys.new_key_id(), api, plan, name, True, time.time())
        await self.put_key(api_keys.key_hash(value), record)
        return record, value

    async def list_keys(self, api: str) -> list[KeyRecord]:
        index = await self.redis.hgetall(KEY_INDEX.format(api=api))
        records = []
        for digest in index.values():
            fields = await self.redis.hgetall(KEY_RECORD.format(hash=_text(digest)))
            if fields:
                data = {_text(k): _text(v) for k, v in fields.items()}
                records.append(
                    KeyRecord(
                        data.get("id", ""),
                        data.get("api", api),
                        data.get("plan", ""),
                        data.get("name", ""),
                        data.get("enabled") == "1",
                        float(data.get("created") or 0),
                        data.get("source") or "admin",
                    )
                )
        return sorted(records, key=lambda r: (r.created, r.id))

    async def delete_key(self, api: str, key_id: str) -> bool:
        digest = await self.redis.hget(KEY_INDEX.format(api=api), key_id)
        if digest is None:
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(KEY_RECORD.format(hash=_text(digest)))
            pipe.hdel(KEY_INDEX.format(api=api), key_id)
            await pipe.execute()
        return True

    async def secret_keys(self) -> dict[str, str]:
        """Key id -> Api of every stored key that came from a Kubernetes Secret."""
        found: dict[str, str] = {}
        async for index in self.redis.scan_iter(match=KEY_INDEX.format(api="*")):
            api = _text(index).split(":", 2)[2]
            for key_id, digest in (await self.redis.hgetall(index)).items():
                if _text(await self.redis.hget(KEY_RECORD.format(hash=_text(digest)), "source")) == "secret":
                    found[_text(key_id)] = api
        return found
