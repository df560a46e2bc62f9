"""Kumo queues in Redis: one stream per queue (:mod:`kumo.queue_contract`), read through one
consumer group, with each received message's visibility deadline in a sorted set.

- ``kumo:queues`` (hash): queue name -> its attributes (JSON). A stream written before the queue was
  created (an async destination) is a queue too, with the default attributes.
- ``kumo:queue:NAME`` (stream): one entry per message, fields ``body``, ``id``, ``sent`` (+ ``attrs``,
  the message attributes as JSON, and ``sender`` when sent through SQS).
- Receiving (one script): entries whose deadline in ``kumo:queue-inflight:NAME`` has passed are claimed
  again (``XCLAIM``, which counts the delivery), then new ones are read (``XREADGROUP``, creating the
  group at ``0`` on first use); each gets the deadline now + its visibility timeout (Redis' clock).
- Deleting: ``XACK`` + ``XDEL`` and the deadline dropped (one script).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kumo.queue_contract import FIELD_BODY, FIELD_ID, FIELD_SENT, message_fields, queue_key

if TYPE_CHECKING:
    from redis.asyncio import Redis

REGISTRY = "kumo:queues"
INFLIGHT_PREFIX = "kumo:queue-inflight:"
GROUP = "kumo"
FIELD_ATTRIBUTES = "attrs"
FIELD_SENDER = "sender"

#: ARGV: stream, inflight, group, consumer, count, visibility ms. Answers {entry id, fields, deliveries}...
RECEIVE_SCRIPT = """
local stream, inflight, group, consumer = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local count, vis = tonumber(ARGV[5]), tonumber(ARGV[6])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
local due = redis.call('ZRANGEBYSCORE', inflight, '-inf', now, 'LIMIT', 0, count)
for _, id in ipairs(due) do
  local claimed = redis.call('XCLAIM', stream, group, consumer, 0, id)
  local entry = claimed[1]
  if entry and entry[2] then
    redis.call('ZADD', inflight, now + vis, id)
    local pending = redis.call('XPENDING', stream, group, id, id, 1)
    out[#out + 1] = {id, entry[2], pending[1] and pending[1][4] or 1}
  else
    redis.call('ZREM', inflight, id)
  end
end
if #out < count then
  if redis.call('EXISTS', stream) == 0 then return out end
  local n = count - #out
  local ok, read = pcall(redis.call, 'XREADGROUP', 'GROUP', group, consumer, 'COUNT', n, 'STREAMS', stream, '>')
  if not ok then
    redis.call('XGROUP', 'CREATE', stream, group, '0')
    read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', n, 'STREAMS', stream, '>')
  end
  if read and read[1] then
    for _, entry in ipairs(read[1][2]) do
      redis.call('ZADD', inflight, now + vis, entry[1])
      out[#out + 1] = {entry[1], entry[2], 1}
    end
  end
end
return out
"""

#: ARGV: stream, inflight, group, entry id. Answers 1 when the message was there.
DELETE_SCRIPT = """
local acked = redis.call('XACK', ARGV[1], ARGV[3], ARGV[4])
local deleted = redis.call('XDEL', ARGV[1], ARGV[4])
redis.call('ZREM', ARGV[2], ARGV[4])
if acked + deleted > 0 then return 1 end
return 0
"""

#: ARGV: inflight, entry id, visibility ms. Answers 1 when the message was in flight.
VISIBILITY_SCRIPT = """
if not redis.call('ZSCORE', ARGV[1], ARGV[2]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', ARGV[1], now + tonumber(ARGV[3]), ARGV[2])
return 1
"""

#: ARGV: registry, name, stream, fields... Answers the entry id, or '' when there is no such queue.
SEND_SCRIPT = """
if redis.call('HEXISTS', ARGV[1], ARGV[2]) == 0 and redis.call('EXISTS', ARGV[3]) == 0 then return '' end
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
return redis.call('XADD', ARGV[3], '*', unpack(fields))
"""


def inflight_key(name: str) -> str:
    return INFLIGHT_PREFIX + name


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Received:
    """One delivery of a message."""

    entry_id: str
    message_id: str
    body: str
    sent_ms: int
    deliveries: int
    attributes: dict[str, dict[str, str]]
    sender: str


class QueueNameExists(Exception):
    """CreateQueue for an existing queue with different attributes."""


class QueueStore:
    def __init__(self, redis: Redis, consumer: str = "gateway") -> None:
        self.redis = redis
        self.consumer = consumer
        self._receive = redis.register_script(RECEIVE_SCRIPT)
        self._delete = redis.register_script(DELETE_SCRIPT)
        self._visibility = redis.register_script(VISIBILITY_SCRIPT)
        self._send = redis.register_script(SEND_SCRIPT)

    async def create(self, name: str, attributes: dict[str, str]) -> None:
        """Create ``name`` (again with the same attributes: nothing happens); raises :class:`QueueNameExists`."""
        record = json.dumps({"attributes": attributes, "created": int(time.time())}, sort_keys=True)
        if await self.redis.hsetnx(REGISTRY, name, record):
            return
        existing = await self.attributes(name)
        if existing is not None and any(existing.get(k) != v for k, v in attributes.items()):
            raise QueueNameExists(name)

    async def _record(self, name: str) -> dict | None:
        raw = await self.redis.hget(REGISTRY, name)
        if raw is not None:
            return json.loads(raw)
        if await self.redis.exists(queue_key(name)):
            return {"attributes": {}, "created": 0}
        return None

    async def attributes(self, name: str) -> dict[str, str] | None:
        """The attributes the queue was created with, None when there is no such queue."""
        record = await self._record(name)
        return None if record is None else dict(record["attributes"])

    async def created(self, name: str) -> int:
        record = await self._record(name)
        return int(record["created"]) if record else 0

    async def send(
        self, name: str, body: str, attributes: dict[str, dict[str, str]] | None = None, sender: str = ""
    ) -> tuple[str, str] | None:
        """``(message id, entry id)``, None when there is no such queue."""
        fields = message_fields(body)
        if attributes:
            fields[FIELD_ATTRIBUTES] = json.dumps(attributes)
        if sender:
            fields[FIELD_SENDER] = sender
        flat = [part for item in fields.items() for part in item]
        entry = _text(await self._send(keys=[], args=[REGISTRY, name, queue_key(name), *flat]))
        return (fields[FIELD_ID], entry) if entry else None

    async def receive(self, name: str, count: int, visibility_s: int) -> list[Received]:
        rows = await self._receive(
            keys=[], args=[queue_key(name), inflight_key(name), GROUP, self.consumer, count, visibility_s * 1000]
        )
        out = []
        for entry_id, flat, deliveries in rows:
            fields = {_text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}
            try:
                attributes = json.loads(fields.get(FIELD_ATTRIBUTES) or "{}")
            except ValueError:
                attributes = {}
            out.append(
                Received(
                    _text(entry_id),
                    fields.get(FIELD_ID) or _text(entry_id),
                    fields.get(FIELD_BODY, ""),
                    int(fields.get(FIELD_SENT) or _text(entry_id).split("-", 1)[0]),
                    int(deliveries),
                    attributes if isinstance(attributes, dict) else {},
                    fields.get(FIELD_SENDER, ""),
                )
            )
        return out

    async def delete(self, name: str, entry_id: str) -> bool:
        return bool(await self._delete(keys=[], args=[queue_key(name), inflight_key(name), GROUP, entry_id]))

    async def change_visibility(self, name: str, entry_id: str, visibility_s: int) -> bool:
        return bool(await self._visibility(keys=[], args=[inflight_key(name), entry_id, visibility_s * 1000]))

    async def counts(self, name: str) -> tuple[int, int]:
        """``(visible, in flight)`` messages, approximately."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xlen(queue_key(name))
            pipe.zcard(inflight_key(name))
            total, inflight = await pipe.execute()
        return max(0, int(total) - int(inflight)), int(inflight)

    async def purge(self, name: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(queue_key(name), inflight_key(name))
            await pipe.execute()
