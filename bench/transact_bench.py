"""TransactWriteItems for ``bench/tables.py --transactions``: 2 and 10 Puts per transaction, on one
partition (one partition key, distinct sort keys) or spread over every partition, driven by ``wrk``.

Keys are drawn at random from a large space, so concurrent transactions rarely touch the same item;
a cancelled one counts as an error (non-2xx).
"""

from __future__ import annotations

import json
import random

from bench_support import run_bench_script

from kumo_tablestore.keys import encode_value
from kumo_tablestore.partitioning import SlotMap

VARIANTS = (("tx2-same", 2, True), ("tx2-spread", 2, False), ("tx10-same", 10, True), ("tx10-spread", 10, False))
PARTITIONS = 3

_SCRIPT = r"""
local n, same, pools = %(n)d, %(same)s, %(pools)s
function init(args)
  math.randomseed(%(seed)d)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
  wrk.headers["Authorization"] = "%(authorization)s"
  wrk.headers["X-Amz-Target"] = "DynamoDB_20120810.TransactWriteItems"
end
function request()
  local parts = {}
  local base = math.random(0, 100000000)
  local pool = pools[math.random(1, #pools)]
  local pk = pool[math.random(1, #pool)]
  for i = 1, n do
    if not same then
      local p = pools[(i %% #pools) + 1]
      pk = p[math.random(1, #p)]
    end
    parts[i] = string.format('{"Put":{"TableName":"bench","Item":{"pk":{"S":"%%s"},"sk":{"N":"%%d"},"v":{"N":"1"}}}}',
      pk, base + i)
  end
  return wrk.format(nil, nil, nil, '{"TransactItems":[' .. table.concat(parts, ",") .. ']}')
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"ops":%%d,"elapsed_us":%%d,"non2xx":%%d,"socket_errors":%%d,' ..
    '"p50_us":%%d,"p99_us":%%d}\n', summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def _pools(per_partition: int = 50) -> str:
    """Lua tables of partition-key values, one table per partition of a 3-partition table."""
    slots = SlotMap.even(PARTITIONS)
    pools: list[list[str]] = [[] for _ in range(PARTITIONS)]
    i = 0
    while min(len(p) for p in pools) < per_partition:
        pk = f"p{i}"
        pools[slots.partition_of(encode_value({"S": pk}))].append(pk)
        i += 1
    return "{" + ",".join("{" + ",".join(json.dumps(pk) for pk in p[:per_partition]) + "}" for p in pools) + "}"


def run_transactions(url: str, seconds: float, concurrency: int, wrk: str, authorization: str) -> dict[str, dict]:
    pools = _pools()
    results: dict[str, dict] = {}
    for name, n, same in VARIANTS:
        script = _SCRIPT % {
            "n": n,
            "same": "true" if same else "false",
            "pools": pools,
            "seed": random.randrange(2**31),
            "authorization": authorization,
        }
        results[name] = run_bench_script(wrk, script, url, seconds, concurrency)
    return results
