"""The hot path's one Redis script: usage-plan checks (API keys, token buckets, quotas) and concurrency
leases, so an invocation costs one script call whatever it is checked against.

``ADMISSION_SCRIPT`` (``EVALSHA``, no KEYS) takes ``ARGV``:

1. ``R``, the number of leases given back with this call, then ``R`` pairs ``pool key, lease id``
   (released first: a replica's releases ride on its next call, :meth:`AdmissionScript.release_soon`);
2. the operation: ``c`` (usage-plan checks), ``a`` (take a lease), ``ca`` (checks, then — when they
   pass — a lease; a refused check takes nothing), ``r`` (nothing more: only the releases);
3. its arguments: a lease is ``pool key, lease id, limit, ttl ms``; the checks are ``key digest ('' =
   no key), api, number of allowed plans, the plan names``, then 6 per check: ``outcome, kind (tb|q),
   redis key, a, b, plan ('' = every request)`` (:func:`kumo_gateway.apigateway.limits_store.script_args`).
   ``ca`` gives the lease's four first.

It answers ``{outcome, key id, plan, n}``: the checks' outcome (0 allowed,
:class:`kumo_gateway.apigateway.usage_plans.Outcome`), and ``n`` = 1 when a lease was taken, 0 when its
pool was full (or the checks refused); for ``r``, ``n`` is how many leases were removed.

The Lua here is the one implementation of the token bucket (:mod:`kumo_gateway.apigateway.token_bucket`
is its pure reference), the quota counter and the lease pool (:mod:`kumo_gateway.concurrency.rules`).
Buckets and leases are timed on Redis' clock (``TIME``), so replicas with skewed clocks agree.

Every user of one Redis client shares one :class:`AdmissionScript` (one lean connection per event
loop, :mod:`kumo_gateway.apigateway.script_link`): a release queued before an acquire is run before it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kumo_gateway.apigateway.script_link import ScriptLink

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("kumo.gateway.admission")

_CHECKS = """
local function checks(o)
  local digest, api, nplans = ARGV[o], ARGV[o + 1], tonumber(ARGV[o + 2])
  local keyid, plan = '', ''
  if digest ~= '' then
    local rec = redis.call('HMGET', 'kumo:apikey:' .. digest, 'id', 'api', 'plan', 'enabled')
    if not rec[1] or rec[2] ~= api or rec[4] ~= '1' then return 1, '', '' end
    keyid, plan = rec[1], rec[3]
    local listed = false
    for i = 1, nplans do
      if ARGV[o + 2 + i] == plan then listed = true end
    end
    if not listed then return 1, keyid, plan end
  end
  local writes = {}
  for base = o + 3 + nplans, #ARGV, 6 do
    local outcome, kind, key = tonumber(ARGV[base]), ARGV[base + 1], ARGV[base + 2]
    local a, b, p = tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4]), ARGV[base + 5]
    if p == '' or p == plan then
      if kind == 'tb' then
        local v = redis.call('HMGET', key, 't', 'ts')
        local tokens = b
        if v[1] and v[2] then
          tokens = math.min(b, tonumber(v[1]) + math.max(0, now - tonumber(v[2])) * a / 1000)
        end
        if tokens < 1 then return outcome, keyid, plan end
        writes[#writes + 1] = {'tb', key, tokens - 1, math.ceil(b / a * 1000) + 1000}
      else
        local used = tonumber(redis.call('GET', key) or '0')
        if used >= a then return outcome, keyid, plan end
        writes[#writes + 1] = {'q', key, b}
      end
    end
  end
  for _, w in ipairs(writes) do
    if w[1] == 'tb' then
      redis.call('HSET', w[2], 't', string.format('%.6f', w[3]), 'ts', string.format('%.3f', now))
      redis.call('PEXPIRE', w[2], w[4])
    else
      if redis.call('INCR', w[2]) == 1 then redis.call('EXPIRE', w[2], w[3]) end
    end
  end
  return 0, keyid, plan
end
"""

_LEASE = """
local function lease(o)
  local key, id, limit, ttl = ARGV[o], ARGV[o + 1], tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local ms = math.floor(now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ms)
  if redis.call('ZCARD', key) >= limit then return 0 end
  redis.call('ZADD', key, ms + ttl, id)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
  return 1
end
"""

ADMISSION_SCRIPT = (
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
"""
    + _CHECKS
    + _LEASE
    + """
local nrel = tonumber(ARGV[1])
local removed = 0
for i = 0, nrel - 1 do removed = removed + redis.call('ZREM', ARGV[2 + 2 * i], ARGV[3 + 2 * i]) end
local o = 3 + 2 * nrel
local op = ARGV[o - 1]
if op == 'r' then return {0, '', '', removed} end
if op == 'a' then return {0, '', '', lease(o)} end
local first = o
if op == 'ca' then first = o + 4 end
local outcome, keyid, plan = checks(first)
if outcome ~= 0 or op ~= 'ca' then return {outcome, keyid, plan, 0} end
return {0, keyid, plan, lease(o)}
"""
)
ADMISSION_SHA = hashlib.sha1(ADMISSION_SCRIPT.encode()).hexdigest()

#: The longest a release waits for the next call to carry it before it is sent alone.
RELEASE_DELAY_S = 0.002
#: Releases carried by one call at most (a bound on ARGV; the rest wait for the next).
MAX_CARRIED = 256
#: Releases kept while Redis cannot be reached at most (the oldest are dropped: they expire anyway).
MAX_QUEUED = 10_000


def bulk(arg: str | bytes) -> bytes:
    """One argument in RESP."""
    data = arg if isinstance(arg, bytes) else arg.encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)


_NO_RELEASES = bulk("0")
#: (operation, pool key, limit, ttl ms) -> the head in RESP before and after the lease id.
_LEASE_HEADS: dict[tuple[str, str, int, int], tuple[bytes, bytes]] = {}


def lease_head(op: str, pool_key: str, lease_id: str, limit: int, ttl_ms: int) -> bytes:
    """``op pool_key lease_id limit ttl_ms`` in RESP; the parts around the lease id are packed once."""
    parts = _LEASE_HEADS.get((op, pool_key, limit, ttl_ms))
    if parts is None:
        if len(_LEASE_HEADS) > 1024:  # a bound: pools and timeouts change with the catalog
            _LEASE_HEADS.clear()
        parts = _LEASE_HEADS[(op, pool_key, limit, ttl_ms)] = (
            bulk(op) + bulk(pool_key),
            bulk(str(limit)) + bulk(str(ttl_ms)),
        )
    return parts[0] + bulk(lease_id) + parts[1]


class AdmissionScript:
    """Runs :data:`ADMISSION_SCRIPT` for every user of one Redis client, carrying queued releases."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._script = redis.register_script(ADMISSION_SCRIPT)
        #: The lean connection (None: redis-py's script call, for TLS and other connection kinds).
        self.link = ScriptLink.for_client(redis, ADMISSION_SCRIPT, ADMISSION_SHA)
        #: Leases to give back with the next call: (pool key, lease id).
        self._releases: list[tuple[str, str]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task[Any]] = set()

    @classmethod
    def shared(cls, redis: Redis) -> AdmissionScript:
        """The one instance of ``redis`` (made on first use), so releases and acquires share a connection."""
        found = getattr(redis, "_kumo_admission", None)
        if not isinstance(found, cls):
            found = cls(redis)
            redis._kumo_admission = found  # type: ignore[attr-defined]
        return found

    def _carried(self) -> list[tuple[str, str]]:
        carried, self._releases = self._releases[:MAX_CARRIED], self._releases[MAX_CARRIED:]
        if not self._releases and self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return carried

    async def run(
        self,
        head: list[str],
        tail_packed: bytes = b"",
        tail_count: int = 0,
        tail: Sequence[str] = (),
        timeout_s: float | None = None,
    ) -> Any:
        """The script with the queued releases, ``head`` (the operation and its first arguments) and a
        tail: ``tail_packed`` (``tail_count`` arguments in RESP) on the lean link, ``tail`` otherwise.
        Raises ``TimeoutError`` when Redis has not answered within ``timeout_s``."""
        if self.link is not None:
            packed = b"".join(map(bulk, head))
            return await self.run_packed(packed, len(head), tail_packed, tail_count, timeout_s)
        carried = self._carried()
        releases = [str(len(carried))] + [part for pair in carried for part in pair]
        try:
            async with asyncio.timeout(timeout_s):
                return await self._script(keys=[], args=[*releases, *head, *tail])
        except BaseException:
            self._requeue(carried)
            raise

    async def run_packed(
        self, head: bytes, head_count: int, tail: bytes = b"", tail_count: int = 0, timeout_s: float | None = None
    ) -> Any:
        """:meth:`run` on the lean link with the head already in RESP (the hot path packs once per
        pool, see :func:`lease_head`)."""
        assert self.link is not None
        carried = self._carried()
        if carried:
            releases = bulk(str(len(carried))) + b"".join(bulk(part) for pair in carried for part in pair)
        else:
            releases = _NO_RELEASES
        try:
            count = 1 + 2 * len(carried) + head_count + tail_count
            return await self.link.run(releases + head + tail, count, timeout_s)
        except BaseException:
            self._requeue(carried)
            raise

    def _requeue(self, carried: list[tuple[str, str]]) -> None:
        """Releases whose call did not run go with the next call (or expire)."""
        self._releases[:0] = carried
        del self._releases[:-MAX_QUEUED]

    def release_soon(self, key: str, lease_id: str) -> None:
        """Give a lease back with this replica's next call, or alone after :data:`RELEASE_DELAY_S`."""
        self._releases.append((key, lease_id))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(RELEASE_DELAY_S, self._flush_later)

    def _flush_later(self) -> None:
        self._timer = None
        if self._releases:
            task = asyncio.ensure_future(self._flush_quietly())
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _flush_quietly(self) -> None:
        try:
            await self.flush()
        except Exception as exc:  # Redis down: the leases expire on their own
            log.warning("giving back %d leases failed (they expire on their own): %s", len(self._releases), exc)
            self._releases.clear()

    async def flush(self) -> int:
        """Send the queued releases now; how many leases they removed."""
        removed = 0
        while self._releases:
            answer = await self.run(["r"])
            removed += int(answer[3])
        return removed

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.link is not None:
            self.link.close()
