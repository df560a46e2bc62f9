"""Hypothesis model test: GSI query results of a real partition (engine, feed, apply) vs a Python model."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kumo_tablestore.indexes import endpoints, feed
from kumo_tablestore.indexes.feed import unb64
from kumo_tablestore.server.operations import items
from kumo_tablestore.server.partition import Partition

DESCRIPTION = {
    "TableName": "model",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "g", "AttributeType": "S"},
        {"AttributeName": "r", "AttributeType": "N"},
    ],
    "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "by-g",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    ],
}

writes = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d", "e"]),  # item key
        st.one_of(st.none(), st.sampled_from(["x", "y"])),  # g (None: no index key: sparse)
        st.integers(-3, 3),  # r
        st.booleans(),  # delete instead of put
    ),
    max_size=30,
)


async def _feed_once(part: Partition, limit: int) -> None:
    """What the gateway's feeder does, in process: feed, apply to the (only) target, acknowledge."""
    feeds = (await endpoints._feed(part, {"wait": 0, "limit": limit}))["indexes"]
    for name, f in feeds.items():
        ops = [(s, unb64(k), v) for target_ops in f["ops"].values() for s, k, v in target_ops]
        part.indexes.apply_gsi(0, {name: {"upto": f["upto"], "ops": ops}})
    feed.acknowledge(part, {n: {"upto": f["upto"], "scan": f["scan"]} for n, f in feeds.items()})


async def _run(ops: list, limit: int, replay: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        part = Partition(Path(tmp), durability="off")
        await part.start()
        try:
            await part.set_description(DESCRIPTION)
            model: dict[str, tuple[str | None, int]] = {}
            for key, g, r, delete in ops:
                if delete:
                    await items.delete_item(part, {"TableName": "model", "Key": {"pk": {"S": key}}})
                    model.pop(key, None)
                else:
                    item = {"pk": {"S": key}, "r": {"N": str(r)}} | ({"g": {"S": g}} if g else {})
                    await items.put_item(part, {"TableName": "model", "Item": item})
                    model[key] = (g, r)
                if replay:  # a feed applied twice (a crash before the acknowledgement) changes nothing
                    feeds = feed.feed(part, limit)
                    for name, f in feeds.items():
                        ops_ = [(s, unb64(k), v) for t in f["ops"].values() for s, k, v in t]
                        part.indexes.apply_gsi(0, {name: {"upto": f["upto"], "ops": ops_}})
            for _ in range(100):
                if not feed.pending(part):
                    break
                await _feed_once(part, limit)
            for g in ("x", "y"):
                from kumo_tablestore.indexes import reads

                answer = await reads.query(
                    part,
                    {
                        "TableName": "model",
                        "IndexName": "by-g",
                        "KeyConditionExpression": "g = :g AND r >= :lo",
                        "ExpressionAttributeValues": {":g": {"S": g}, ":lo": {"N": "-1"}},
                    },
                )
                got = [(i["r"]["N"], i["pk"]["S"]) for i in answer["Items"]]
                want = sorted((r, k) for k, (gg, r) in model.items() if gg == g and r >= -1)
                assert got == [(str(r), k) for r, k in want]
        finally:
            await part.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=writes, limit=st.integers(1, 5), replay=st.booleans())
def test_gsi_query_matches_model(ops, limit, replay):
    asyncio.run(_run(ops, limit, replay))
