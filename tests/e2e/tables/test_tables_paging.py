"""Query/Scan pagination over 3 partitions and parallel-scan segments: every item exactly once."""

from __future__ import annotations

import uuid

import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

PREFIX = "page-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def paged_ids(ddb_resource):
    table = ddb_resource.Table("items")
    ids = {f"{PREFIX}-{i}" for i in range(150)}
    with table.batch_writer() as batch:
        for i, item_id in enumerate(sorted(ids)):
            batch.put_item(Item={"id": item_id, "n": i, "kind": "page"})
    return ids


def scan_all(table, **kwargs) -> tuple[list[str], int]:
    seen: list[str] = []
    start = None
    for pages in range(1, 1000):
        page = table.scan(**kwargs, **({"ExclusiveStartKey": start} if start else {}))
        seen += [i["id"] for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            return seen, pages
    raise AssertionError("scan did not end")


@pytest.mark.parametrize("limit", [1, 7, 50])
def test_scan_with_small_limits_returns_every_item_once(ddb_resource, paged_ids, limit):
    seen, pages = scan_all(ddb_resource.Table("items"), Limit=limit, FilterExpression=Attr("kind").eq("page"))
    assert len(seen) == len(set(seen))
    assert set(seen) == paged_ids
    assert pages > 1


def test_scan_without_limit_returns_everything_in_one_page_when_small(ddb_resource, paged_ids):
    # The whole table is well under the 1 MB page budget (its largest item is ~400 KB): one page, no LastEvaluatedKey.
    page = ddb_resource.Table("items").scan(FilterExpression=Attr("kind").eq("page"))
    assert "LastEvaluatedKey" not in page
    assert sorted(i["id"] for i in page["Items"]) == sorted(paged_ids)
    assert page["Count"] == len(paged_ids) and page["ScannedCount"] >= len(paged_ids)


def test_boto3_paginator(ddb, paged_ids):
    pages = ddb.get_paginator("scan").paginate(
        TableName="items",
        PaginationConfig={"PageSize": 11},
        FilterExpression="kind = :k",
        ExpressionAttributeValues={":k": {"S": "page"}},
    )
    seen = [i["id"]["S"] for page in pages for i in page["Items"]]
    assert sorted(seen) == sorted(paged_ids)


def test_parallel_scan_segments_partition_the_table(ddb_resource, paged_ids):
    table = ddb_resource.Table("items")
    for total in (1, 2, 5, 13):
        segments = [
            set(scan_all(table, Segment=s, TotalSegments=total, Limit=20, FilterExpression=Attr("kind").eq("page"))[0])
            for s in range(total)
        ]
        assert set().union(*segments) == paged_ids
        assert sum(len(s) for s in segments) == len(paged_ids)  # pairwise disjoint


@pytest.mark.parametrize(
    "kwargs",
    [
        {"Segment": 1},
        {"TotalSegments": 2},
        {"Segment": 2, "TotalSegments": 2},
        {"Segment": 0, "TotalSegments": 1_000_001},
    ],
)
def test_parallel_scan_validation(ddb, kwargs):
    with pytest.raises(ClientError) as exc:
        ddb.scan(TableName="items", **kwargs)
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_one_megabyte_pages(ddb_resource):
    table = ddb_resource.Table("events")
    pk = "big-" + uuid.uuid4().hex
    blob = "x" * (100 * 1024)
    with table.batch_writer() as batch:
        for sk in range(25):
            batch.put_item(Item={"pk": pk, "sk": sk, "blob": blob})
    pages, seen, start = 0, [], None
    for _ in range(50):
        page = table.query(KeyConditionExpression=Key("pk").eq(pk), **({"ExclusiveStartKey": start} if start else {}))
        pages += 1
        seen += [int(i["sk"]) for i in page["Items"]]
        assert len(page["Items"]) <= 11  # 1 MB of ~100 KB items
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert seen == list(range(25))
    assert pages >= 3
    scanned, pages = [], 0
    start = None
    for _ in range(100):
        page = table.scan(FilterExpression=Attr("pk").eq(pk), **({"ExclusiveStartKey": start} if start else {}))
        pages += 1
        scanned += [int(i["sk"]) for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert sorted(scanned) == list(range(25))
    assert pages >= 3


def test_query_pagination_with_limit(ddb_resource):
    table = ddb_resource.Table("events")
    pk = "q-" + uuid.uuid4().hex
    with table.batch_writer() as batch:
        for sk in range(40):
            batch.put_item(Item={"pk": pk, "sk": sk})
    seen, start = [], None
    for _ in range(100):
        page = table.query(
            KeyConditionExpression=Key("pk").eq(pk), Limit=6, **({"ExclusiveStartKey": start} if start else {})
        )
        seen += [int(i["sk"]) for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert seen == list(range(40))
