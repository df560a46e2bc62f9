"""Redis I/O of async invocation: enqueue (one script call: the gateway's hot path), the worker's reads,
claims and outcomes, delayed retries and the dead-letter queues. Key names: :mod:`kumo_gateway.async_.keys`.

An outcome is recorded and acknowledged together by one script (:data:`_SETTLE`), and only if the entry
was still pending: when two workers ran the same entry (a stale claim), the second to finish writes
nothing and counts a ``duplicates`` (so ``succeeded`` counts events, not runs). The outcomes of the
events that end within :data:`COMMIT_WINDOW_S` of each other share one script call (one round trip for
the batch), and each caller learns whether its own outcome was recorded."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError

from kumo import queue_contract
from kumo_gateway.async_ import keys

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: How long an outcome waits for others to share its script call (a bound on the added latency).
COMMIT_WINDOW_S = 0.01
#: Outcomes in one script call at most.
MAX_BATCH = 64

#: Fields of an event entry: bytes keys/values as Redis returns them, decoded to str here.
Fields = dict[str, str]
Entry = tuple[str, Fields]

# KEYS: stream, functions set, invoke-config hash, stats hash.
# ARGV: function, qualified config field, default config, id, version, arn, payload, enqueued ms.
_ENQUEUE = """
local cfg = redis.call('HGET', KEYS[3], ARGV[2])
if not cfg and ARGV[2] ~= ARGV[1] then cfg = redis.call('HGET', KEYS[3], ARGV[1]) end
if not cfg then cfg = ARGV[3] end
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  redis.pcall('XGROUP', 'CREATE', KEYS[1], '__GROUP__', '0', 'MKSTREAM')
end
redis.call('HINCRBY', KEYS[4], 'accepted', 1)
return redis.call('XADD', KEYS[1], '*', 'id', ARGV[4], 'fn', ARGV[1], 'ver', ARGV[5], 'arn', ARGV[6],
  'payload', ARGV[7], 'at', ARGV[8], 'cfg', cfg, 'n', '0', 'r', '0')
""".replace("__GROUP__", keys.GROUP)

# A schedule's tick: the enqueue above, only when the tick is newer than the last one fired (a CAS on
# KEYS[5], so however many workers try, one enqueues). A schedule seen for the first time only remembers the
# tick (nothing that passed before it existed fires). ARGV[9]: the tick (epoch s).
_FIRE_TICK = (
    """
local last = redis.call('GET', KEYS[5])
if last and tonumber(last) >= tonumber(ARGV[9]) then return false end
redis.call('SET', KEYS[5], ARGV[9])
if not last then return false end
"""
    + _ENQUEUE
)

# KEYS: delayed zset. ARGV: now ms, most to move. Members are {"s": stream, "f": {field: value}}.
_MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local event = cjson.decode(member)
  local args = {}
  for k, v in pairs(event.f) do args[#args + 1] = k; args[#args + 1] = v end
  redis.call('XADD', event.s, '*', unpack(args))
  redis.call('ZREM', KEYS[1], member)
end
return #due
"""


# KEYS: stats hash. ARGV: group, then per outcome: stream, entry id, stat, number of writes, and per
# write: command, key, number of arguments, arguments. An outcome whose entry is no longer pending (another
# worker acknowledged it) writes nothing: 0. Otherwise its writes run (an error is reported, not raised,
# as a MULTI would), the entry is acknowledged and deleted and its stat counted: 1 or the first error.
_SETTLE = """
local group, answers, i = ARGV[1], {}, 2
while i <= #ARGV do
  local stream, id, stat, writes = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  i = i + 4
  local pending = redis.call('XACK', stream, group, id) == 1
  local answer = 0
  if pending then answer = 1 end
  for _ = 1, writes do
    local command, key, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
    if pending then
      local reply = redis.pcall(command, key, unpack(ARGV, i + 3, i + 2 + n))
      if type(reply) == 'table' and reply.err and answer == 1 then answer = reply.err end
    end
    i = i + 3 + n
  end
  if pending then
    redis.call('XDEL', stream, id)
    redis.call('HINCRBY', KEYS[1], stat, 1)
  else
    redis.call('HINCRBY', KEYS[1], 'duplicates', 1)
  end
  answers[#answers + 1] = answer
end
return answers
"""

#: One write of an outcome: (command, key, arguments).
Write = tuple[str, str, list[Any]]
#: One outcome: (stream, entry id, stat, writes).
Settlement = tuple[str, str, str, list[Write]]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fields(raw: dict[Any, Any]) -> Fields:
    return {_text(k): _text(v) for k, v in raw.items()}


def _queue_write(queue: str, record: dict[str, Any]) -> Write:
    fields = queue_contract.message_fields(json.dumps(record, separators=(",", ":")))
    return ("XADD", queue_contract.queue_key(queue), ["*", *(x for kv in fields.items() for x in kv)])


def now_ms() -> int:
    return int(time.time() * 1000)


class AsyncStore:
    """All async-invocation Redis calls, on one ``redis.asyncio.Redis``."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._enqueue = redis.register_script(_ENQUEUE)
        self._move_due = redis.register_script(_MOVE_DUE)
        self._fire_tick = redis.register_script(_FIRE_TICK)
        self._settle = redis.register_script(_SETTLE)
        #: Outcomes waiting for the next shared script call: (the outcome, its caller's future).
        self._outcomes: list[tuple[Settlement, asyncio.Future[bool]]] = []
        self._committing: set[asyncio.Task[None]] = set()

    # -- gateway ----------------------------------------------------------------------------------

    async def enqueue(
        self,
        *,
        function: str,
        qualifier: str | None,
        default_config: str,
        request_id: str,
        version: str,
        arn: str,
        payload: bytes,
        enqueued_ms: int | None = None,
    ) -> str:
        """Append the event to the function's stream (one round trip); the stream entry id."""
        field = f"{function}:{qualifier}" if qualifier else function
        args = [function, field, default_config, request_id, version, arn, payload, enqueued_ms or now_ms()]
        entry = await self._enqueue(
            keys=[keys.stream(function), keys.FUNCTIONS, keys.INVOKE_CONFIG, keys.STATS], args=args
        )
        return _text(entry)

    async def fire_tick(
        self,
        *,
        function: str,
        expression: str,
        tick: int,
        default_config: str,
        request_id: str,
        arn: str,
        payload: bytes,
    ) -> str | None:
        """Enqueue a schedule's event for ``tick`` unless it (or a later tick) was fired already, or the
        schedule is new (then the tick is only remembered); the stream entry id when enqueued."""
        args = [function, function, default_config, request_id, "$LATEST", arn, payload, now_ms(), tick]
        entry = await self._fire_tick(
            keys=[
                keys.stream(function),
                keys.FUNCTIONS,
                keys.INVOKE_CONFIG,
                keys.STATS,
                keys.schedule_tick(function, expression),
            ],
            args=args,
        )
        return None if entry is None else _text(entry)

    # -- event-invoke configs ---------------------------------------------------------------------

    async def get_config(self, field: str) -> tuple[str, float] | None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(keys.INVOKE_CONFIG, field)
            pipe.hget(keys.INVOKE_CONFIG_MODIFIED, field)
            config, modified = await pipe.execute()
        if config is None:
            return None
        return _text(config), float(modified or 0)

    async def put_config(self, field: str, config: str) -> float:
        modified = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.INVOKE_CONFIG, field, config)
            pipe.hset(keys.INVOKE_CONFIG_MODIFIED, field, str(modified))
            await pipe.execute()
        return modified

    async def delete_config(self, field: str) -> bool:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.INVOKE_CONFIG, field)
            pipe.hdel(keys.INVOKE_CONFIG_MODIFIED, field)
            removed, _ = await pipe.execute()
        return bool(removed)

    async def config_fields(self, function: str) -> list[str]:
        fields = [_text(f) for f in await self.redis.hkeys(keys.INVOKE_CONFIG)]
        return sorted(f for f in fields if f == function or f.startswith(f"{function}:"))

    # -- worker -----------------------------------------------------------------------------------

    async def functions(self) -> list[str]:
        return sorted(_text(name) for name in await self.redis.smembers(keys.FUNCTIONS))

    async def ensure_group(self, stream: str) -> None:
        try:
            await self.redis.xgroup_create(stream, keys.GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, consumer: str, streams: list[str], count: int, block_ms: int) -> list[tuple[str, Entry]]:
        """New entries for ``consumer`` (``XREADGROUP ... >``), waiting up to ``block_ms``."""
        if not streams:
            return []
        answer = await self.redis.xreadgroup(
            keys.GROUP, consumer, {s: ">" for s in streams}, count=count, block=block_ms
        )
        return [(_text(stream), (_text(eid), _fields(f))) for stream, entries in answer or [] for eid, f in entries]

    async def claim_stale(self, stream: str, consumer: str, min_idle_ms: int, count: int) -> list[Entry]:
        """Entries another consumer took and has not acknowledged for ``min_idle_ms`` (``XAUTOCLAIM``)."""
        answer = await self.redis.xautoclaim(stream, keys.GROUP, consumer, min_idle_ms, "0-0", count=count)
        entries = answer[1] if len(answer) > 1 else []
        claimed = [(_text(eid), _fields(f)) for eid, f in entries if f]
        if claimed:
            await self.redis.hincrby(keys.STATS, "redelivered", len(claimed))
        return claimed

    async def touch(self, stream: str, consumer: str, ids: list[str]) -> None:
        """Keep our in-flight entries from looking stale (resets their idle time)."""
        if ids:
            await self.redis.xclaim(stream, keys.GROUP, consumer, 0, ids, justid=True)

    async def move_due(self, limit: int) -> int:
        """Move delayed retries that are due back to their streams (at most ``limit``)."""
        return int(await self._move_due(keys=[keys.DELAYED], args=[now_ms(), limit]))

    async def _commit(self, settlement: Settlement) -> bool:
        """Record and acknowledge ``settlement`` in the next shared script call: True when recorded, False
        when its entry was no longer pending (another worker finished it: a duplicate run, nothing written).
        Raises when the call failed or one of its writes did."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()
        self._outcomes.append((settlement, done))
        if len(self._outcomes) == 1:
            loop.call_later(COMMIT_WINDOW_S, self._start_commit)
        elif len(self._outcomes) >= MAX_BATCH:
            self._start_commit()
        return await done

    def _start_commit(self) -> None:
        batch, self._outcomes = self._outcomes[:MAX_BATCH], self._outcomes[MAX_BATCH:]
        if batch:
            task = asyncio.ensure_future(self._run_batch(batch))
            self._committing.add(task)
            task.add_done_callback(self._committing.discard)
        if self._outcomes:
            asyncio.get_running_loop().call_later(COMMIT_WINDOW_S, self._start_commit)

    async def _run_batch(self, batch: list[tuple[Settlement, asyncio.Future[bool]]]) -> None:
        args: list[Any] = [keys.GROUP]
        for (stream, entry_id, stat, writes), _ in batch:
            args += [stream, entry_id, stat, len(writes)]
            for command, key, arguments in writes:
                args += [command, key, len(arguments), *arguments]
        try:
            answers = await self._settle(keys=[keys.STATS], args=args)
        except Exception as exc:
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for answer, (_, done) in zip(answers, batch, strict=True):
            if done.done():
                continue
            if isinstance(answer, int):
                done.set_result(answer == 1)
            else:
                done.set_exception(ResponseError(_text(answer)))

    async def succeed(self, stream: str, entry_id: str, queue: str | None, record: dict[str, Any] | None) -> bool:
        """Done: the success record to its queue (if any), acknowledged, together."""
        writes = [_queue_write(queue, record)] if queue is not None and record is not None else []
        return await self._commit((stream, entry_id, "succeeded", writes))

    async def retry_later(self, stream: str, entry_id: str, fields: Fields, due_ms: int, stat: str) -> bool:
        member = json.dumps({"s": stream, "f": fields}, separators=(",", ":"))
        return await self._commit((stream, entry_id, stat, [("ZADD", keys.DELAYED, [due_ms, member])]))

    async def fail(
        self,
        stream: str,
        entry_id: str,
        *,
        dlq_function: str | None,
        dlq_record: dict[str, Any] | None,
        queue: str | None,
        record: dict[str, Any] | None,
    ) -> bool:
        """Failed or expired: to the failure queue, or the dead-letter queue; acknowledged; together."""
        writes = [_queue_write(queue, record)] if queue is not None and record is not None else []
        if dlq_function is not None and dlq_record is not None:
            body = json.dumps(dlq_record, separators=(",", ":"))
            writes.append(("XADD", keys.dlq(dlq_function), ["*", "record", body]))
        return await self._commit((stream, entry_id, "failed", writes))

    async def ack_only(self, stream: str, entry_id: str, stat: str) -> bool:
        return await self._commit((stream, entry_id, stat, []))

    async def stats(self) -> dict[str, int]:
        return {_text(k): int(v) for k, v in (await self.redis.hgetall(keys.STATS)).items()}

    # -- dead-letter queues -----------------------------------------------------------------------

    async def dlq_list(self, function: str, count: int = 1000) -> list[dict[str, Any]]:
        entries = await self.redis.xrange(keys.dlq(function), count=count)
        return [{"id": _text(eid), **json.loads(f[b"record"])} for eid, f in entries]

    async def dlq_redrive(self, function: str, entry_id: str | None = None) -> int:
        """Enqueue dead-lettered events again (fresh age and attempt count, same request id)."""
        records = await self.dlq_list(function)
        if entry_id is not None:
            records = [r for r in records if r["id"] == entry_id]
        if not records:
            return 0
        stream = keys.stream(function)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(keys.FUNCTIONS, function)
            for record in records:
                fields = {
                    keys.F_ID: record["requestId"],
                    keys.F_FUNCTION: function,
                    keys.F_VERSION: record["version"],
                    keys.F_ARN: record["functionArn"],
                    keys.F_PAYLOAD: json.dumps(record["payload"]),
                    keys.F_ENQUEUED: str(now_ms()),
                    keys.F_CONFIG: record["config"],
                    keys.F_ATTEMPTS: "0",
                    keys.F_RETRIES: "0",
                }
                pipe.xadd(stream, fields)
                pipe.xdel(keys.dlq(function), record["id"])
            pipe.hincrby(keys.STATS, "redriven", len(records))
            await pipe.execute()
        await self.ensure_group(stream)
        return len(records)
