"""Query and Scan on a partition server: key conditions, order, pages, Limit, filters, segments."""

from __future__ import annotations

import base64

from partition_support import Client, N, S, describe

from kumo_tablestore import keys
from kumo_tablestore.partitioning import segment_of


async def _numbers(client: Client, values: list[str]) -> None:
    for v in values:
        await client.put(pk=S("p"), sk=N(v), v=N(v))


async def _query(client: Client, **body: object) -> dict:
    base = {"TableName": "t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("p")}}
    if "ExpressionAttributeValues" in body:
        base["ExpressionAttributeValues"] = {":p": S("p"), **body.pop("ExpressionAttributeValues")}  # type: ignore[dict-item]
    return await client.ok("Query", {**base, **body})


async def test_number_sort_order_and_conditions(server, session) -> None:
    client = Client(server.url, session)
    await client.create(describe(sk_type="N"))
    values = ["-100", "-1.5", "-1", "-0.001", "0", "0.001", "1", "1.5", "10", "1E+5"]
    await _numbers(client, list(reversed(values)))
    out = await _query(client)
    assert [i["sk"]["N"] for i in out["Items"]] == [
        "-100",
        "-1.5",
        "-1",
        "-0.001",
        "0",
        "0.001",
        "1",
        "1.5",
        "10",
        "100000",
    ]
    back = await _query(client, ScanIndexForward=False)
    assert [i["sk"]["N"] for i in back["Items"]] == [i["sk"]["N"] for i in reversed(out["Items"])]
    between = await _query(
        client,
        KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
        ExpressionAttributeValues={":a": N(-1), ":b": N(1)},
    )
    assert [i["sk"]["N"] for i in between["Items"]] == ["-1", "-0.001", "0", "0.001", "1"]
    lt = await _query(client, KeyConditionExpression="pk = :p AND sk < :a", ExpressionAttributeValues={":a": N(-1)})
    assert [i["sk"]["N"] for i in lt["Items"]] == ["-100", "-1.5"]
    ge = await _query(client, KeyConditionExpression="pk = :p AND sk >= :a", ExpressionAttributeValues={":a": N(10)})
    assert [i["sk"]["N"] for i in ge["Items"]] == ["10", "100000"]
    eq = await _query(client, KeyConditionExpression="pk = :p AND sk = :a", ExpressionAttributeValues={":a": N("1.50")})
    assert eq["Count"] == 1


async def test_binary_sort_keys_and_begins_with(server, session) -> None:
    client = Client(server.url, session)
    await client.create(describe(sk_type="B"))
    raw = [b"\x00", b"\x00\x01", b"\x01", b"\x7f", b"\x80", b"\xff", b"\xff\x00"]
    for b in reversed(raw):
        await client.put(pk=S("p"), sk={"B": base64.b64encode(b).decode()})
    out = await _query(client)
    assert [base64.b64decode(i["sk"]["B"]) for i in out["Items"]] == raw
    pre = await _query(
        client,
        KeyConditionExpression="pk = :p AND begins_with(sk, :b)",
        ExpressionAttributeValues={":b": {"B": base64.b64encode(b"\xff").decode()}},
    )
    assert [base64.b64decode(i["sk"]["B"]) for i in pre["Items"]] == [b"\xff", b"\xff\x00"]


async def test_begins_with_strings_and_other_partition_keys_excluded(client: Client) -> None:
    for pk in ("p", "pp", "o"):
        for sk in ("a", "ab", "abc", "b"):
            await client.put(pk=S(pk), sk=S(sk))
    out = await _query(
        client, KeyConditionExpression="pk = :p AND begins_with(sk, :a)", ExpressionAttributeValues={":a": S("ab")}
    )
    assert [(i["pk"]["S"], i["sk"]["S"]) for i in out["Items"]] == [("p", "ab"), ("p", "abc")]


async def test_limit_pagination_returns_every_item_once(client: Client) -> None:
    for i in range(23):
        await client.put(pk=S("p"), sk=S(f"{i:03}"), odd=N(i % 2))
    seen: list[str] = []
    start = None
    pages = 0
    for _ in range(50):
        body: dict = {"Limit": 5, "FilterExpression": "odd = :one", "ExpressionAttributeValues": {":one": N(1)}}
        if start:
            body["ExclusiveStartKey"] = start
        out = await _query(client, **body)
        pages += 1
        assert out["ScannedCount"] <= 5
        seen += [i["sk"]["S"] for i in out["Items"]]
        start = out.get("LastEvaluatedKey")
        if not start:
            break
    assert seen == [f"{i:03}" for i in range(23) if i % 2]
    assert pages == 5


async def test_one_megabyte_page_counted_before_filter(client: Client) -> None:
    blob = "x" * 100_000
    for i in range(25):
        await client.put(pk=S("p"), sk=S(f"{i:03}"), payload=S(blob))
    out = await _query(client, FilterExpression="attribute_not_exists(payload)")
    assert out["Count"] == 0
    assert 10 <= out["ScannedCount"] < 25
    assert "LastEvaluatedKey" in out
    total, start = 0, None
    for _ in range(10):
        body = {"Select": "COUNT"} | ({"ExclusiveStartKey": start} if start else {})
        page = await _query(client, **body)
        assert "Items" not in page
        total += page["Count"]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert total == 25


async def test_query_validation(client: Client) -> None:
    msg = await client.error(
        "Query", {"KeyConditionExpression": "sk = :s", "ExpressionAttributeValues": {":s": S("a")}}
    )
    assert "missed key schema element: pk" in msg
    msg = await client.error(
        "Query",
        {
            "KeyConditionExpression": "pk = :p",
            "FilterExpression": "sk = :s",
            "ExpressionAttributeValues": {":p": S("p"), ":s": S("a")},
        },
    )
    assert "Primary key attribute: sk" in msg
    base = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("p")}}
    assert "greater than or equal to 1" in await client.error("Query", {**base, "Limit": 0})
    assert "SPECIFIC_ATTRIBUTES" in await client.error("Query", {**base, "Select": "SPECIFIC_ATTRIBUTES"})
    assert "Count" in await client.error("Query", {**base, "Select": "COUNT", "ProjectionExpression": "a"})
    assert "IndexName" in await client.error("Query", {**base, "Select": "ALL_PROJECTED_ATTRIBUTES"})
    assert "KeyConditionExpression" in await client.error("Query", {"KeyConditions": {}})
    assert "specified index" in await client.error("Query", {**base, "IndexName": "gsi"})
    assert "KeyConditionExpression" in await client.error("Query", {})
    assert "ScanFilter" in await client.error("Scan", {"ScanFilter": {}})


async def test_projection_and_select_count(client: Client) -> None:
    await client.put(pk=S("p"), sk=S("a"), x=N(1), y=N(2))
    out = await _query(client, ProjectionExpression="x")
    assert out["Items"] == [{"x": N(1)}]
    out = await _query(client, Select="COUNT")
    assert out == {"Count": 1, "ScannedCount": 1}


async def test_scan_key_order_filter_and_pages(client: Client) -> None:
    for i in range(30):
        await client.put(pk=S(f"k{i:02}"), sk=S("s"), n=N(i))
    items, start = [], None
    for _ in range(20):
        body: dict = {"Limit": 7, "FilterExpression": "n >= :ten", "ExpressionAttributeValues": {":ten": N(10)}}
        if start:
            body["ExclusiveStartKey"] = start
        out = await client.ok("Scan", body)
        items += out["Items"]
        start = out.get("LastEvaluatedKey")
        if not start:
            break
    assert sorted(i["n"]["N"] for i in items) == sorted(str(i) for i in range(10, 30))
    assert len(items) == 20
    everything = (await client.ok("Scan", {}))["Items"]
    encoded = [keys.encode_value(i["pk"]) for i in everything]
    assert encoded == sorted(encoded)


async def test_scan_segments_partition_the_items(client: Client) -> None:
    for i in range(40):
        await client.put(pk=S(f"k{i}"), sk=S("s"))
    seen: list[str] = []
    for segment in range(3):
        out = await client.ok("Scan", {"KumoSegment": segment, "KumoTotalSegments": 3})
        for item in out["Items"]:
            assert segment_of(keys.encode_value(item["pk"]), 3) == segment
            seen.append(item["pk"]["S"])
    assert sorted(seen) == sorted(f"k{i}" for i in range(40))
    client_side = await client.ok("Scan", {"Segment": 1, "TotalSegments": 3})
    assert client_side["Count"] == len([p for p in seen if segment_of(keys.encode_value(S(p)), 3) == 1])
    assert "TotalSegments" in await client.error("Scan", {"Segment": 3, "TotalSegments": 3})
    assert "TotalSegments" in await client.error("Scan", {"Segment": 0})
