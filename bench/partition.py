"""PutItem / GetItem / Query ops/s against one partition server (real HTTP) vs the raw engine.

Run: ``.venv/bin/python bench/partition.py [--n 2000] [--concurrency 32] [--durability full]``
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp

from kumo_tablestore import keys, storage
from kumo_tablestore.server import PartitionServer
from kumo_tablestore.storage import WriteOp

DESC = {
    "TableName": "bench",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
    ],
    "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
}


def _item(i: int) -> dict:
    return {"pk": {"S": f"p{i % 50}"}, "sk": {"N": str(i)}, "pad": {"S": "x" * 200}}


async def _server(n: int, concurrency: int, durability: str) -> dict[str, float]:
    out = {}
    with tempfile.TemporaryDirectory() as d:
        async with PartitionServer(data_dir=Path(d), durability=durability) as srv, aiohttp.ClientSession() as s:  # type: ignore[arg-type]
            await s.put(srv.url + "/table", json=DESC)

            async def run(op: str, make) -> float:
                queue = iter(range(n))

                async def worker() -> None:
                    for i in queue:
                        async with s.post(f"{srv.url}/op/{op}", json=make(i)) as r:
                            assert r.status == 200, await r.text()
                            await r.read()

                t = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
                return n / (time.perf_counter() - t)

            out["PutItem"] = await run("PutItem", lambda i: {"Item": _item(i)})
            key = lambda i: {"pk": {"S": f"p{i % 50}"}, "sk": {"N": str(i)}}  # noqa: E731
            out["GetItem"] = await run("GetItem", lambda i: {"Key": key(i)})
            q = {"KeyConditionExpression": "pk = :p", "Limit": 20}
            out["Query(20)"] = await run(
                "Query", lambda i: {**q, "ExpressionAttributeValues": {":p": {"S": f"p{i % 50}"}}}
            )
    return out


def _engine(n: int, durability: str) -> dict[str, float]:
    out = {}
    with tempfile.TemporaryDirectory() as d:
        eng = storage.open(d, durability=durability)  # type: ignore[arg-type]
        enc = [
            keys.table_key(keys.encode_value({"S": f"p{i % 50}"}), keys.encode_value({"N": str(i)})) for i in range(n)
        ]
        t = time.perf_counter()
        for i in range(0, n, 32):
            eng.write_many([([WriteOp.put(enc[j], _item(j))], []) for j in range(i, min(n, i + 32))])
        out["PutItem (32/commit)"] = n / (time.perf_counter() - t)
        t = time.perf_counter()
        for k in enc:
            eng.get(k)
        out["GetItem"] = n / (time.perf_counter() - t)
        t = time.perf_counter()
        for i in range(n):
            prefix = keys.partition_prefix(keys.encode_value({"S": f"p{i % 50}"}))
            for _, _row in zip(range(20), eng.query(prefix), strict=False):
                pass
        out["Query(20)"] = n / (time.perf_counter() - t)
        eng.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--durability", default="full")
    args = parser.parse_args()
    server = asyncio.run(_server(args.n, args.concurrency, args.durability))
    engine = _engine(args.n, args.durability)
    print(f"{'operation':<22}{'server ops/s':>14}")
    for name, rate in server.items():
        print(f"{name:<22}{rate:>14,.0f}")
    print(f"\n{'raw engine':<22}{'ops/s':>14}")
    for name, rate in engine.items():
        print(f"{name:<22}{rate:>14,.0f}")


if __name__ == "__main__":
    main()
