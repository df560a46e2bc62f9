"""Helpers for partition-server tests: table descriptions and a client for the internal protocol."""

from __future__ import annotations

from typing import Any

import aiohttp

from kumo_tablestore.protocol import TABLE_PATH, op_path


def describe(
    name: str = "t",
    *,
    pk_type: str = "S",
    sk_type: str | None = "S",
    ttl: str | None = None,
    provisioned: tuple[int, int] | None = None,
    partitions: int = 1,
) -> dict[str, Any]:
    """A router-style table description."""
    attrs = [{"AttributeName": "pk", "AttributeType": pk_type}]
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    if sk_type:
        attrs.append({"AttributeName": "sk", "AttributeType": sk_type})
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
    desc: dict[str, Any] = {
        "TableName": name,
        "KeySchema": schema,
        "AttributeDefinitions": attrs,
        "BillingModeSummary": {"BillingMode": "PROVISIONED" if provisioned else "PAY_PER_REQUEST"},
        "PartitionCount": partitions,
        "PartitionIndex": 0,
    }
    if provisioned:
        desc["ProvisionedThroughput"] = {"ReadCapacityUnits": provisioned[0], "WriteCapacityUnits": provisioned[1]}
    if ttl:
        desc["TimeToLiveDescription"] = {"TimeToLiveStatus": "ENABLED", "AttributeName": ttl}
    return desc


class Client:
    """Talks the internal protocol to one partition server."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self.session = session

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.session.request(method, self.url + path, json=body) as resp:
            return resp.status, await resp.json(content_type=None)

    async def op(self, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return await self.call("POST", op_path(operation), body)

    async def ok(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        status, out = await self.op(operation, body)
        assert status == 200, out
        return out

    async def error(self, operation: str, body: dict[str, Any], type_name: str = "ValidationException") -> str:
        """Assert the operation fails with ``type_name``; returns the message."""
        status, out = await self.op(operation, body)
        assert status == 400, out
        assert out["__type"] == "com.amazonaws.dynamodb.v20120810#" + type_name, out
        return out["message"]

    async def create(self, desc: dict[str, Any]) -> None:
        status, out = await self.call("PUT", TABLE_PATH, desc)
        assert status == 200, out

    async def put(self, **attrs: Any) -> None:
        await self.ok("PutItem", {"TableName": "t", "Item": attrs})


def S(v: str) -> dict[str, str]:
    return {"S": v}


def N(v: Any) -> dict[str, str]:
    return {"N": str(v)}
