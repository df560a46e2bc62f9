"""Pure rules of DynamoDB Streams and the stream event source: names, iterators, records per view type,
StreamSpecification changes, batch outcomes, retries and bisection, Lambda's failure record."""

from __future__ import annotations

import json

import pytest

from kumo.models import Function
from kumo_gateway.async_ import stream_rules
from kumo_gateway.async_.stream_rules import Segment
from kumo_gateway.dynamodbstreams import iterators, names, reader, records, specification
from kumo_tablestore.errors import DynamoError, ValidationException
from kumo_tablestore.values import item_size

DESCRIPTION = {"TableName": "orders", "TableArn": "arn:aws:dynamodb:us-east-1:000000000000:table/orders"}


def change(seq: int, name: str = "MODIFY", ts: float = 1000.0, **extra: object) -> dict:
    return {
        "seq": seq,
        "event_name": name,
        "keys": {"pk": {"S": "a"}},
        "new_image": {"pk": {"S": "a"}, "v": {"N": "2"}},
        "old_image": {"pk": {"S": "a"}, "v": {"N": "1"}},
        "timestamp": ts,
        "ttl_delete": False,
        **extra,
    }


def test_names_round_trip() -> None:
    label = names.label_of(1_700_000_000.123)
    assert label == "2023-11-14T22:13:20.123"
    assert names.label_time(label) == pytest.approx(1_700_000_000.123)
    arn = names.stream_arn(DESCRIPTION["TableArn"], label)
    assert names.parse_stream_arn(arn) == ("orders", label)
    with pytest.raises(ValidationException):
        names.parse_stream_arn("arn:aws:dynamodb:us-east-1:000000000000:table/orders")
    shard = names.shard_id(1_700_000_000.5, 3)
    assert 28 <= len(shard) <= 65 and names.parse_shard_id(shard) == (1_700_000_000_500, 3)
    assert names.parse_shard_id("shardId-nope") is None
    assert names.sequence_number(7) == "000000000000000000007"
    assert names.parse_sequence_number("000000000000000000007") == 7
    for bad in ("7", "x" * 21, 7):
        with pytest.raises(ValidationException):
            names.parse_sequence_number(bad)


def test_iterators_are_tamper_evident_and_expire() -> None:
    position = iterators.Position("orders", "2023-11-14T22:13:20.123", 1, 41, 5000.0)
    text = iterators.encode(position, "secret")
    assert iterators.peek_table(text) == "orders"
    assert iterators.decode(text, "secret", 5000.0 + 899) == position
    with pytest.raises(DynamoError) as caught:
        iterators.decode(text, "secret", 5000.0 + 901)
    assert caught.value.type_name == "ExpiredIteratorException"
    for bad in (text[:-2] + ("AA" if text[-2:] != "AA" else "BB"), "garbage", "", None, "kumo1.!!!"):
        with pytest.raises(ValidationException):
            iterators.decode(bad, "secret", 5000.0)
    with pytest.raises(ValidationException):
        iterators.decode(text, "another table's id", 5000.0)


@pytest.mark.parametrize(
    ("view", "new", "old"),
    [
        ("KEYS_ONLY", False, False),
        ("NEW_IMAGE", True, False),
        ("OLD_IMAGE", False, True),
        ("NEW_AND_OLD_IMAGES", True, True),
    ],
)
def test_records_follow_the_view_type(view: str, new: bool, old: bool) -> None:
    record = records.stream_record(change(9), shard="shardId-x", view_type=view, region="eu-west-1")
    data = record["dynamodb"]
    assert ("NewImage" in data, "OldImage" in data) == (new, old)
    assert data["Keys"] == {"pk": {"S": "a"}} and data["SequenceNumber"] == names.sequence_number(9)
    assert data["StreamViewType"] == view and data["ApproximateCreationDateTime"] == 1000
    image = item_size(change(9)["new_image"])
    assert image == 6  # "pk" + "a", "v" + the number 2 (2 bytes)
    assert data["SizeBytes"] == 3 + new * image + old * image
    assert record["eventName"] == "MODIFY" and record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "eu-west-1" and record["eventVersion"] == "1.1"
    assert record["eventID"] == records.event_id("shardId-x", 9) != records.event_id("shardId-x", 10)
    assert "userIdentity" not in record


def test_ttl_records_carry_the_service_identity() -> None:
    ttl = change(3, "REMOVE", ttl_delete=True, new_image=None)
    api = records.stream_record(ttl, shard="s", view_type="NEW_AND_OLD_IMAGES", region="us-east-1")
    assert api["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert "NewImage" not in api["dynamodb"]
    event = records.lambda_event([ttl], shard="s", view_type="KEYS_ONLY", region="us-east-1", stream_arn="arn:s")
    assert event["Records"][0]["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert event["Records"][0]["eventSourceARN"] == "arn:s"


def test_stream_specification_changes() -> None:
    assert specification.on_create(dict(DESCRIPTION), None, 1000.0) == DESCRIPTION
    assert specification.on_create(dict(DESCRIPTION), {"StreamEnabled": False}, 1000.0) == DESCRIPTION
    on = specification.on_create(dict(DESCRIPTION), {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}, 1000.0)
    assert on["LatestStreamLabel"] == names.label_of(1000.0)
    assert on["LatestStreamArn"] == DESCRIPTION["TableArn"] + "/stream/" + on["LatestStreamLabel"]
    assert specification.window(on) == (1000.0, None)
    for bad in ({"StreamEnabled": True}, {"StreamEnabled": True, "StreamViewType": "ALL"}, {}, "yes"):
        with pytest.raises(ValidationException):
            specification.on_create(dict(DESCRIPTION), bad, 1000.0)
    with pytest.raises(ValidationException):
        specification.on_update(on, {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}, 1001.0)
    off = specification.on_update(on, {"StreamEnabled": False}, 2000.0)
    assert off["StreamSpecification"] == {"StreamEnabled": False} and off["LatestStreamArn"] == on["LatestStreamArn"]
    assert specification.view_type(off) == "KEYS_ONLY" and specification.window(off) == (1000.0, 2000.0)
    with pytest.raises(ValidationException):
        specification.on_update(off, {"StreamEnabled": False}, 2001.0)
    again = specification.on_update(off, {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}, 3000.0)
    assert again["LatestStreamArn"] != on["LatestStreamArn"] and not set(specification.INTERNAL) & set(again)
    assert records.in_window(change(1, ts=1500.0), specification.window(off))
    assert not records.in_window(change(1, ts=2500.0), specification.window(off))
    assert not records.in_window(change(1, ts=999.0), specification.window(on))


def test_trimmed_only_past_the_retention() -> None:
    day = 24 * 3600
    assert reader.trimmed(after=3, page_first=10, page_last=20, stream_start=0.0, now=2 * day)
    assert not reader.trimmed(after=9, page_first=10, page_last=20, stream_start=0.0, now=2 * day)
    assert not reader.trimmed(after=3, page_first=10, page_last=20, stream_start=day + 10, now=2 * day)
    assert reader.trimmed(after=3, page_first=None, page_last=20, stream_start=0.0, now=2 * day)
    assert not reader.trimmed(after=20, page_first=None, page_last=20, stream_start=0.0, now=2 * day)


def test_stream_mappings_from_functions() -> None:
    function = Function.model_validate(
        {
            "metadata": {"name": "f"},
            "spec": {
                "runtime": "python3.11",
                "handler": "app.handler",
                "code": {"inline": {"app.py": "def handler(e, c): pass"}},
                "timeout": "10s",
                "events": [
                    {"queue": "jobs"},
                    {"stream": {"table": "orders", "onFailure": {"queue": "dead"}, "bisectBatchOnFunctionError": True}},
                    {"stream": {"table": "off"}, "enabled": False},
                ],
            },
        }
    )
    (mapping,) = stream_rules.stream_mappings([function])
    assert mapping == stream_rules.StreamMapping("f", "orders", 100, "LATEST", -1, True, "dead", 10.0)


SEQS = [names.sequence_number(i) for i in (5, 6, 7, 8)]


def test_batch_outcomes() -> None:
    assert stream_rules.first_failure(b"null", None, SEQS) is None
    assert stream_rules.first_failure(b'{"batchItemFailures": []}', None, SEQS) is None
    assert stream_rules.first_failure(b"{}", "Unhandled", SEQS) == 0
    failures = {"batchItemFailures": [{"itemIdentifier": SEQS[3]}, {"itemIdentifier": SEQS[2]}]}
    assert stream_rules.first_failure(json.dumps(failures).encode(), None, SEQS) == 2
    unknown = {"batchItemFailures": [{"itemIdentifier": "000000000000000000099"}]}
    assert stream_rules.first_failure(json.dumps(unknown).encode(), None, SEQS) == 0
    assert stream_rules.first_failure(b'{"batchItemFailures": "x"}', None, SEQS) == 0
    assert stream_rules.first_failure(b"not json", None, SEQS) is None


def test_retries_bisection_and_exhaustion() -> None:
    batch = Segment([change(i) for i in (5, 6, 7, 8)], invocations=1)
    step = stream_rules.after_failure(batch, 2, max_retries=2, bisect=False)
    assert step.checkpoint == 6 and step.exhausted is None
    assert [c["seq"] for c in step.retry[0].changes] == [7, 8] and step.retry[0].attempts == 1
    halves = stream_rules.after_failure(batch, 0, max_retries=0, bisect=True)
    assert halves.checkpoint is None and [[c["seq"] for c in s.changes] for s in halves.retry] == [[5, 6], [7, 8]]
    assert all(s.attempts == 0 for s in halves.retry)  # a bisection is not a retry
    single = Segment([change(7)], attempts=0, invocations=3)
    done = stream_rules.after_failure(single, 0, max_retries=0, bisect=True)
    assert done.retry == [] and done.exhausted is not None and done.exhausted.attempts == 1
    forever = stream_rules.after_failure(Segment([change(7)], attempts=500), 0, max_retries=-1, bisect=False)
    assert forever.exhausted is None and forever.retry[0].attempts == 501
    assert stream_rules.retry_pause(1) < stream_rules.retry_pause(3) <= stream_rules.RETRY_PAUSE_S[1]


def test_failure_record_shape() -> None:
    segment = Segment([change(5, ts=1000.0), change(6, ts=1001.5)], attempts=3, invocations=4)
    record = stream_rules.failure_record(
        request_id="r-1",
        function_arn="arn:aws:lambda:us-east-1:000000000000:function:f",
        segment=segment,
        shard="shardId-1",
        stream_arn="arn:stream",
        now_ms=1_700_000_000_000,
        status_code=200,
        function_error="Unhandled",
    )
    assert record["requestContext"] == {
        "requestId": "r-1",
        "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:f",
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 4,
    }
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["version"] == "1.0" and record["timestamp"] == "2023-11-14T22:13:20.000Z"
    assert record["DDBStreamBatchInfo"] == {
        "shardId": "shardId-1",
        "startSequenceNumber": names.sequence_number(5),
        "endSequenceNumber": names.sequence_number(6),
        "approximateArrivalOfFirstRecord": "1970-01-01T00:16:40.000Z",
        "approximateArrivalOfLastRecord": "1970-01-01T00:16:41.500Z",
        "batchSize": 2,
        "streamArn": "arn:stream",
    }


def test_batches_fit_one_invocation_payload() -> None:
    big = [change(i, new_image={"pk": {"S": "a"}, "blob": {"S": "x" * 1000}}) for i in range(10)]
    assert stream_rules.fit_payload(big, limit_bytes=1_000_000) == 10
    assert stream_rules.fit_payload(big, limit_bytes=3_500) == 2
    assert stream_rules.fit_payload(big[:1], limit_bytes=10) == 1  # one record always goes


def test_streams_requests_name_their_table_for_key_policies() -> None:
    from kumo_gateway.dynamodbstreams import api

    arn = names.stream_arn(DESCRIPTION["TableArn"], "2023-11-14T22:13:20.123")
    iterator = iterators.encode(iterators.Position("orders", "2023-11-14T22:13:20.123", 0, 0, 1.0), "k")
    assert api.touched_tables("ListStreams", b"{}") == ("*",)
    assert api.touched_tables("ListStreams", b'{"TableName": "orders"}') == ("orders",)
    assert api.touched_tables("DescribeStream", json.dumps({"StreamArn": arn}).encode()) == ("orders",)
    assert api.touched_tables("GetShardIterator", json.dumps({"StreamArn": arn}).encode()) == ("orders",)
    assert api.touched_tables("GetRecords", json.dumps({"ShardIterator": iterator}).encode()) == ("orders",)
    assert api.touched_tables("GetRecords", b'{"ShardIterator": "nope"}') is None
    assert api.touched_tables("DescribeStream", b"[") is None
    assert api.operation_of("DynamoDBStreams_20120810.GetRecords") == "GetRecords"
    with pytest.raises(DynamoError) as caught:
        api.operation_of("DynamoDBStreams_20120810.PutRecords")
    assert caught.value.type_name == "UnknownOperationException"
