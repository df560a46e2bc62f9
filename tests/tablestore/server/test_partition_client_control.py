"""The one partition-protocol client's control calls, against a real partition server on 127.0.0.1."""

from __future__ import annotations

import pytest
from partition_support import describe
from support import free_port

from kumo_tablestore.partition_client import PartitionClient, PartitionRefused, PartitionUnavailable
from kumo_tablestore.server import PartitionServer


async def test_health_and_descriptions(server: PartitionServer) -> None:
    client = PartitionClient(timeout_s=5.0)
    try:
        assert await client.health(server.url) == {"table": None, "partition": 0, "items": 0}
        assert await client.stored_description(server.url) is None  # holds no description yet
        held = await client.put_description(server.url, describe())
        assert held["TableName"] == "t"
        assert (await client.stored_description(server.url))["TableName"] == "t"
        assert (await client.health(server.url))["table"] == "t"
        item = {"pk": {"S": "a"}, "sk": {"S": "1"}}
        status, body = await client.op(server.url, "PutItem", {"TableName": "t", "Item": item})
        assert (status, body) == (200, b"{}")
        assert (await client.health(server.url))["items"] == 1
    finally:
        await client.close()


async def test_a_refused_description_says_why(server: PartitionServer) -> None:
    client = PartitionClient(timeout_s=5.0)
    try:
        await client.put_description(server.url, describe())
        with pytest.raises(PartitionRefused) as refused:
            await client.put_description(server.url, describe(sk_type="N"))  # another key schema
        assert refused.value.status == 400 and b"key schema" in refused.value.body
        assert (await client.stored_description(server.url))["KeySchema"] == describe()["KeySchema"]
    finally:
        await client.close()


async def test_a_partition_that_does_not_listen_is_unavailable() -> None:
    client = PartitionClient(timeout_s=2.0)
    url = f"http://127.0.0.1:{free_port()}"
    try:
        for call in (client.health(url), client.stored_description(url), client.put_description(url, describe())):
            with pytest.raises(PartitionUnavailable):
                await call
    finally:
        await client.close()
