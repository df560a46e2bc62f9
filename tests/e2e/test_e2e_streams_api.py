"""The DynamoDB Streams API through ``kumo up`` with boto3's unchanged ``dynamodbstreams`` client: records
for every acknowledged write in order per key, the four view types, TTL deletions, iterator types, errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from kumo_up import KumoUp


@pytest.fixture(scope="module")
def kumo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KumoUp]:
    up = KumoUp([], tmp_path_factory.mktemp("streams-api"))
    try:
        yield up
    finally:
        up.stop()


def make_table(ddb: Any, name: str, view: str, partitions: int = 3) -> dict[str, Any]:
    return ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
        Tags=[{"Key": "kumo:partitions", "Value": str(partitions)}],
    )["TableDescription"]


def read_all(streams: Any, arn: str, kind: str = "TRIM_HORIZON") -> list[dict[str, Any]]:
    """Every record of every shard (each shard read until an empty page)."""
    out = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType=kind)[
            "ShardIterator"
        ]
        for _ in range(1000):
            page = streams.get_records(ShardIterator=iterator, Limit=50)
            out += page["Records"]
            if not page["Records"] or "NextShardIterator" not in page:  # caught up, or a disabled stream's end
                break
            iterator = page["NextShardIterator"]
    return out


def test_records_for_every_write_in_order_per_key(kumo: KumoUp) -> None:
    ddb, streams = kumo.client("dynamodb"), kumo.client("dynamodbstreams")
    created = make_table(ddb, "orders", "NEW_AND_OLD_IMAGES")
    arn = created["LatestStreamArn"]
    assert created["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert arn == f"arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/{created['LatestStreamLabel']}"
    assert ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"] == arn
    for key in range(12):
        for version in range(3):
            ddb.put_item(TableName="orders", Item={"pk": {"S": f"k{key}"}, "v": {"N": str(version)}})
        if key % 3 == 0:
            ddb.delete_item(TableName="orders", Key={"pk": {"S": f"k{key}"}})
    listed = streams.list_streams(TableName="orders")["Streams"]
    assert listed == [{"StreamArn": arn, "TableName": "orders", "StreamLabel": created["LatestStreamLabel"]}]
    described = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert described["StreamStatus"] == "ENABLED" and described["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert len(described["Shards"]) == 3 and described["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]

    records = read_all(streams, arn)
    by_key: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_key.setdefault(record["dynamodb"]["Keys"]["pk"]["S"], []).append(record)
    assert len(by_key) == 12 and len(records) == 12 * 3 + 4
    for key, history in by_key.items():
        names = [r["eventName"] for r in history]
        expected = ["INSERT", "MODIFY", "MODIFY"] + (["REMOVE"] if int(key[1:]) % 3 == 0 else [])
        assert names == expected, (key, names)
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in history]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert [r["dynamodb"]["NewImage"]["v"]["N"] for r in history[:3]] == ["0", "1", "2"]
        assert "OldImage" not in history[0]["dynamodb"]
        assert history[1]["dynamodb"]["OldImage"]["v"] == {"N": "0"}
    first = records[0]
    assert first["eventSource"] == "aws:dynamodb" and first["awsRegion"] == "us-east-1"
    assert first["eventVersion"] and len(first["eventID"]) == 32
    assert first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES" and first["dynamodb"]["SizeBytes"] > 0
    assert abs(first["dynamodb"]["ApproximateCreationDateTime"].timestamp() - time.time()) < 120


@pytest.mark.parametrize(
    ("view", "new", "old"),
    [("KEYS_ONLY", False, False), ("NEW_IMAGE", True, False), ("OLD_IMAGE", False, True)],
)
def test_view_types(kumo: KumoUp, view: str, new: bool, old: bool) -> None:
    ddb, streams = kumo.client("dynamodb"), kumo.client("dynamodbstreams")
    name = f"view-{view.lower().replace('_', '-')}"
    arn = make_table(ddb, name, view, partitions=1)["LatestStreamArn"]
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    ddb.update_item(
        TableName=name,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "2"}},
    )
    insert, modify = read_all(streams, arn)
    assert modify["dynamodb"]["Keys"] == {"pk": {"S": "a"}}
    assert ("NewImage" in modify["dynamodb"]) is new and ("OldImage" in modify["dynamodb"]) is old
    if new:
        assert modify["dynamodb"]["NewImage"]["v"] == {"N": "2"}
    if old:
        assert modify["dynamodb"]["OldImage"]["v"] == {"N": "1"} and "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["StreamViewType"] == view


def test_ttl_deletion_is_marked(kumo: KumoUp) -> None:
    ddb, streams = kumo.client("dynamodb"), kumo.client("dynamodbstreams")
    arn = make_table(ddb, "sessions", "NEW_AND_OLD_IMAGES", partitions=1)["LatestStreamArn"]
    ddb.update_time_to_live(TableName="sessions", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    ddb.put_item(TableName="sessions", Item={"pk": {"S": "old"}, "exp": {"N": str(int(time.time()) - 5)}})
    ddb.put_item(TableName="sessions", Item={"pk": {"S": "user"}})
    ddb.delete_item(TableName="sessions", Key={"pk": {"S": "user"}})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        removes = [r for r in read_all(streams, arn) if r["eventName"] == "REMOVE"]
        if len(removes) == 2:
            break
        time.sleep(0.3)
    by_key = {r["dynamodb"]["Keys"]["pk"]["S"]: r for r in removes}
    assert by_key["old"]["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert by_key["old"]["dynamodb"]["OldImage"]["pk"] == {"S": "old"}
    assert "userIdentity" not in by_key["user"]


def test_iterator_types_and_errors(kumo: KumoUp) -> None:
    ddb, streams = kumo.client("dynamodb"), kumo.client("dynamodbstreams")
    arn = make_table(ddb, "events", "KEYS_ONLY", partitions=1)["LatestStreamArn"]
    for i in range(5):
        ddb.put_item(TableName="events", Item={"pk": {"S": f"e{i}"}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def iterator(kind: str, seq: str | None = None) -> str:
        extra = {"SequenceNumber": seq} if seq else {}
        return streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **extra)[
            "ShardIterator"
        ]

    everything = streams.get_records(ShardIterator=iterator("TRIM_HORIZON"))["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in everything] == [f"e{i}" for i in range(5)]
    third = everything[2]["dynamodb"]["SequenceNumber"]
    at = streams.get_records(ShardIterator=iterator("AT_SEQUENCE_NUMBER", third))["Records"]
    after = streams.get_records(ShardIterator=iterator("AFTER_SEQUENCE_NUMBER", third))["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in at] == ["e2", "e3", "e4"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in after] == ["e3", "e4"]
    latest = iterator("LATEST")
    page = streams.get_records(ShardIterator=latest)
    assert page["Records"] == []
    ddb.put_item(TableName="events", Item={"pk": {"S": "e5"}})
    page = streams.get_records(ShardIterator=page["NextShardIterator"])
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in page["Records"]] == ["e5"]
    limited = streams.get_records(ShardIterator=iterator("TRIM_HORIZON"), Limit=2)
    assert len(limited["Records"]) == 2
    rest = streams.get_records(ShardIterator=limited["NextShardIterator"])["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in rest] == ["e2", "e3", "e4", "e5"]

    def error(call: Any, **kwargs: Any) -> str:
        with pytest.raises(ClientError) as caught:
            call(**kwargs)
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return caught.value.response["Error"]["Code"]

    assert error(streams.get_records, ShardIterator=latest[:-3] + "AAA") == "ValidationException"
    assert error(streams.get_records, ShardIterator="garbage") == "ValidationException"
    assert error(streams.describe_stream, StreamArn=arn.replace("events", "nothere")) == "ResourceNotFoundException"
    assert error(streams.describe_stream, StreamArn="arn:aws:dynamodb:us-east-1:0:nonsense") == "ValidationException"
    bad_shard = shard[:-1] + ("1" if shard[-1] != "1" else "2")
    assert (
        error(streams.get_shard_iterator, StreamArn=arn, ShardId=bad_shard, ShardIteratorType="LATEST")
        == "ResourceNotFoundException"
    )
    assert (
        error(streams.get_shard_iterator, StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER")
        == "ValidationException"
    )
    assert error(streams.get_records, ShardIterator=latest, Limit=1001) == "ValidationException"
    assert error(streams.list_streams, TableName="no-such-table") == "ResourceNotFoundException"


def test_update_table_enables_and_disables_the_stream(kumo: KumoUp) -> None:
    ddb, streams = kumo.client("dynamodb"), kumo.client("dynamodbstreams")
    ddb.create_table(
        TableName="plain",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="plain", Item={"pk": {"S": "before"}})
    assert "LatestStreamArn" not in ddb.describe_table(TableName="plain")["Table"]
    updated = ddb.update_table(
        TableName="plain", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )["TableDescription"]
    arn = updated["LatestStreamArn"]
    ddb.put_item(TableName="plain", Item={"pk": {"S": "after"}})
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(streams, arn)] == ["after"]
    with pytest.raises(ClientError) as caught:
        ddb.update_table(TableName="plain", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    ddb.update_table(TableName="plain", StreamSpecification={"StreamEnabled": False})
    ddb.put_item(TableName="plain", Item={"pk": {"S": "disabled"}})
    described = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert described["StreamStatus"] == "DISABLED" and described["StreamViewType"] == "NEW_IMAGE"
    table = ddb.describe_table(TableName="plain")["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": False} and table["LatestStreamArn"] == arn
    assert not any(k.startswith("Kumo") for k in table)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(streams, arn)] == ["after"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    old_iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    again = ddb.update_table(
        TableName="plain", StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    )["TableDescription"]
    assert again["LatestStreamArn"] != arn
    for call, kwargs in (
        (streams.get_records, {"ShardIterator": old_iterator}),
        (streams.describe_stream, {"StreamArn": arn}),
    ):
        with pytest.raises(ClientError) as caught:
            call(**kwargs)
        assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    ddb.put_item(TableName="plain", Item={"pk": {"S": "again"}})
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(streams, again["LatestStreamArn"])] == ["again"]
