"""PutItem, GetItem, UpdateItem, DeleteItem through the internal protocol of a real partition server."""

from __future__ import annotations

from partition_support import Client, N, S

KEY = {"pk": S("a"), "sk": S("1")}


async def test_put_get_delete_round_trip(client: Client) -> None:
    await client.put(pk=S("a"), sk=S("1"), n=N("1.50"), tags={"SS": ["x", "y"]})
    got = await client.ok("GetItem", {"TableName": "t", "Key": KEY})
    assert got == {"Item": {"pk": S("a"), "sk": S("1"), "n": N("1.5"), "tags": {"SS": ["x", "y"]}}}
    out = await client.ok("DeleteItem", {"TableName": "t", "Key": KEY, "ReturnValues": "ALL_OLD"})
    assert out["Attributes"]["n"] == N("1.5")
    assert await client.ok("GetItem", {"TableName": "t", "Key": KEY}) == {}


async def test_put_return_values_and_condition(client: Client) -> None:
    assert await client.ok("PutItem", {"Item": {**KEY, "v": N(1)}, "ReturnValues": "ALL_OLD"}) == {}
    out = await client.ok("PutItem", {"Item": {**KEY, "v": N(2)}, "ReturnValues": "ALL_OLD"})
    assert out == {"Attributes": {**KEY, "v": N(1)}}
    body = {"Item": {**KEY, "v": N(3)}, "ConditionExpression": "attribute_not_exists(pk)"}
    await client.error("PutItem", body, "ConditionalCheckFailedException")
    status, err = await client.op("PutItem", {**body, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
    assert status == 400 and err["Item"] == {**KEY, "v": N(2)}
    msg = await client.error("PutItem", {"Item": {**KEY}, "ReturnValues": "ALL_NEW"})
    assert msg == "Return values set to invalid value"


async def test_get_projection_and_consistent_read(client: Client) -> None:
    await client.put(pk=S("a"), sk=S("1"), m={"M": {"x": N(1), "y": N(2)}}, l={"L": [S("p"), S("q")]}, z=S("z"))
    body = {
        "Key": KEY,
        "ConsistentRead": True,
        "ProjectionExpression": "m.x, #l[1]",
        "ExpressionAttributeNames": {"#l": "l"},
    }
    assert await client.ok("GetItem", body) == {"Item": {"m": {"M": {"x": N(1)}}, "l": {"L": [S("q")]}}}


async def test_update_upserts_and_return_values(client: Client) -> None:
    out = await client.ok(
        "UpdateItem",
        {
            "Key": KEY,
            "UpdateExpression": "SET a = :a ADD c :one",
            "ExpressionAttributeValues": {":a": S("x"), ":one": N(1)},
            "ReturnValues": "ALL_NEW",
        },
    )
    assert out["Attributes"] == {**KEY, "a": S("x"), "c": N(1)}
    out = await client.ok(
        "UpdateItem",
        {
            "Key": KEY,
            "UpdateExpression": "SET a = :b REMOVE c",
            "ExpressionAttributeValues": {":b": S("y")},
            "ReturnValues": "UPDATED_OLD",
        },
    )
    assert out["Attributes"] == {"a": S("x"), "c": N(1)}
    out = await client.ok(
        "UpdateItem",
        {
            "Key": KEY,
            "UpdateExpression": "SET d = :d",
            "ExpressionAttributeValues": {":d": N(4)},
            "ReturnValues": "UPDATED_NEW",
        },
    )
    assert out == {"Attributes": {"d": N(4)}}
    out = await client.ok("UpdateItem", {"Key": KEY, "UpdateExpression": "REMOVE d", "ReturnValues": "ALL_OLD"})
    assert out["Attributes"] == {**KEY, "a": S("y"), "d": N(4)}
    msg = await client.error(
        "UpdateItem", {"Key": KEY, "UpdateExpression": "SET sk = :v", "ExpressionAttributeValues": {":v": S("2")}}
    )
    assert "This attribute is part of the key" in msg


async def test_update_condition_failure_returns_old_item(client: Client) -> None:
    await client.put(pk=S("a"), sk=S("1"), version=N(1))
    status, err = await client.op(
        "UpdateItem",
        {
            "Key": KEY,
            "UpdateExpression": "SET version = :new",
            "ConditionExpression": "version = :old",
            "ExpressionAttributeValues": {":new": N(3), ":old": N(2)},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        },
    )
    assert status == 400 and err["__type"].endswith("ConditionalCheckFailedException")
    assert err["Item"]["version"] == N(1)


async def test_delete_condition_and_missing_item(client: Client) -> None:
    assert await client.ok("DeleteItem", {"Key": KEY, "ReturnValues": "ALL_OLD"}) == {}
    await client.put(pk=S("a"), sk=S("1"), v=N(1))
    body = {"Key": KEY, "ConditionExpression": "v = :v", "ExpressionAttributeValues": {":v": N(2)}}
    await client.error("DeleteItem", body, "ConditionalCheckFailedException")
    body["ExpressionAttributeValues"] = {":v": N(1)}
    await client.ok("DeleteItem", body)
    assert await client.ok("GetItem", {"Key": KEY}) == {}


async def test_add_decimal_is_exact_and_38_digits_round_trip(client: Client) -> None:
    for v in ("0.1", "0.2"):
        await client.ok(
            "UpdateItem", {"Key": KEY, "UpdateExpression": "ADD n :v", "ExpressionAttributeValues": {":v": N(v)}}
        )
    big = "1234567890123456789012345678901234567.8"
    await client.ok(
        "UpdateItem", {"Key": KEY, "UpdateExpression": "SET b = :b", "ExpressionAttributeValues": {":b": N(big)}}
    )
    item = (await client.ok("GetItem", {"Key": KEY}))["Item"]
    assert item["n"] == N("0.3")
    assert item["b"] == N(big)
    msg = await client.error("PutItem", {"Item": {**KEY, "x": N("1" * 39)}})
    assert "38 significant digits" in msg


async def test_item_size_limit(client: Client) -> None:
    fits = "x" * (400 * 1024 - 20)
    await client.put(pk=S("a"), sk=S("1"), data=S(fits))
    msg = await client.error("PutItem", {"Item": {**KEY, "data": S("x" * 400 * 1024)}})
    assert msg == "Item size has exceeded the maximum allowed size"
    msg = await client.error(
        "UpdateItem",
        {"Key": KEY, "UpdateExpression": "SET more = :m", "ExpressionAttributeValues": {":m": S("y" * 100)}},
    )
    assert msg == "Item size to update has exceeded the maximum allowed size"


async def test_key_validation(client: Client) -> None:
    mismatch = "The provided key element does not match the schema"
    assert await client.error("GetItem", {"Key": {"pk": S("a")}}) == mismatch
    assert await client.error("GetItem", {"Key": {**KEY, "x": S("1")}}) == mismatch
    assert await client.error("GetItem", {"Key": {"pk": N(1), "sk": S("1")}}) == mismatch
    assert "Missing the key sk" in await client.error("PutItem", {"Item": {"pk": S("a")}})
    assert "Type mismatch for key pk" in await client.error("PutItem", {"Item": {"pk": N(1), "sk": S("1")}})
    assert "empty string" in await client.error("PutItem", {"Item": {"pk": S(""), "sk": S("1")}})
    assert "2048" in await client.error("PutItem", {"Item": {"pk": S("p" * 2049), "sk": S("1")}})
    assert "1024" in await client.error("PutItem", {"Item": {"pk": S("p"), "sk": S("s" * 1025)}})
    # Keys up to DynamoDB's limits are stored, even beyond LMDB's 511-byte key size (long-key trie).
    await client.put(pk=S("p" * 2048), sk=S("s" * 1024))
    await client.put(pk=S("p" * 400), sk=S("s" * 200))
    got = await client.ok("GetItem", {"Key": {"pk": S("p" * 2048), "sk": S("s" * 1024)}})
    assert got["Item"]["pk"] == S("p" * 2048)


async def test_value_validation(client: Client) -> None:
    assert "may not be empty" in await client.error("PutItem", {"Item": {**KEY, "s": {"SS": []}}})
    msg = await client.error("PutItem", {"Item": {**KEY, "n": N("abc")}})
    assert "cannot be converted" in msg


async def test_placeholder_validation_spans_all_expressions(client: Client) -> None:
    body = {
        "Key": KEY,
        "UpdateExpression": "SET #a = :a",
        "ConditionExpression": "attribute_not_exists(#b)",
        "ExpressionAttributeNames": {"#a": "a", "#b": "b", "#c": "c"},
        "ExpressionAttributeValues": {":a": N(1)},
    }
    assert "unused in expressions: keys: {#c}" in await client.error("UpdateItem", body)
    body["ExpressionAttributeNames"] = {"#a": "a"}
    assert "#b" in await client.error("UpdateItem", body)
    del body["ConditionExpression"]
    await client.ok("UpdateItem", body)
    msg = await client.error("GetItem", {"Key": KEY, "ExpressionAttributeNames": {"#a": "a"}})
    assert "can only be specified when using expressions" in msg


async def test_legacy_parameters_are_refused(client: Client) -> None:
    msg = await client.error("PutItem", {"Item": KEY, "Expected": {"pk": {"Exists": False}}})
    assert msg == "Kumo supports expressions only: use ConditionExpression instead of Expected"
    assert "ProjectionExpression" in await client.error("GetItem", {"Key": KEY, "AttributesToGet": ["pk"]})
    assert "UpdateExpression" in await client.error("UpdateItem", {"Key": KEY, "AttributeUpdates": {}})


async def test_consumed_capacity(client: Client) -> None:
    out = await client.ok("PutItem", {"Item": {**KEY, "d": S("x" * 1500)}, "ReturnConsumedCapacity": "TOTAL"})
    assert out["ConsumedCapacity"] == {"TableName": "t", "CapacityUnits": 2.0, "WriteCapacityUnits": 2.0}
    out = await client.ok("GetItem", {"Key": KEY, "ReturnConsumedCapacity": "INDEXES", "ConsistentRead": True})
    assert out["ConsumedCapacity"]["Table"] == {"CapacityUnits": 1.0, "ReadCapacityUnits": 1.0}
    await client.error("GetItem", {"Key": KEY, "ReturnConsumedCapacity": "ALL"})


async def test_wrong_table_and_bad_requests(client: Client) -> None:
    await client.error("GetItem", {"TableName": "other", "Key": KEY}, "ResourceNotFoundException")
    status, out = await client.call("POST", "/op/Nope", {})
    assert status == 400 and out["__type"].endswith("UnknownOperationException")
    async with client.session.post(client.url + "/op/PutItem", data=b"{not json") as resp:
        assert resp.status == 400
        assert (await resp.json(content_type=None))["__type"].endswith("SerializationException")
    status, out = await client.call("POST", "/op/PutItem", [1, 2])
    assert status == 400
