"""The pure parts of the SQS surface: receipt handles, protocol checks, digests, Lambda's SQS event
and its partial-batch answer, and which queue mappings a catalog holds."""

from __future__ import annotations

import base64
import hashlib
import json
import struct

import pytest

from kumo.models import Function
from kumo_gateway.event_sources import sources_of
from kumo_gateway.sqs import lambda_events, receipts
from kumo_gateway.sqs import protocol as p
from kumo_gateway.sqs.poller import QueueMapping, queue_mappings
from kumo_gateway.sqs.queue_store import Received


def test_receipt_handles_round_trip_and_differ_per_delivery() -> None:
    first = receipts.encode("jobs", "1700000000000-3", 1)
    again = receipts.encode("jobs", "1700000000000-3", 1)
    assert first != again  # the nonce
    decoded = receipts.decode(first)
    assert (decoded.queue, decoded.entry_id, decoded.delivery) == ("jobs", "1700000000000-3", 1)


@pytest.mark.parametrize(
    "handle",
    [
        "",
        "not-a-handle",
        "x" * 2000,
        base64.urlsafe_b64encode(b"k2 jobs 1-1 1 n").decode(),
        base64.urlsafe_b64encode(b"k1 jobs 1;DEL 1 n").decode(),
        base64.urlsafe_b64encode(b"k1 jobs 1-1 one n").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_foreign_receipt_handles_are_invalid(handle: str) -> None:
    with pytest.raises(receipts.InvalidReceipt):
        receipts.decode(handle)


def test_targets_and_queue_urls() -> None:
    assert p.parse_target("AmazonSQS.SendMessage") == "SendMessage"
    for target in (None, "AmazonSQS.DeleteQueue", "DynamoDB_20120810.GetItem", "AmazonSQS."):
        with pytest.raises(p.SqsError) as caught:
            p.parse_target(target)
        assert caught.value.status == 400
    assert p.queue_name_from_url("http://127.0.0.1:8080/000000000000/jobs") == "jobs"
    assert p.queue_name_from_url("https://sqs.us-east-1.amazonaws.com/123456789012/my-queue_1") == "my-queue_1"
    for bad in ("", "http://host", "http://host/", "http://host/acct/bad.name", "jobs"):
        with pytest.raises(p.SqsError) as caught:
            p.queue_name_from_url(bad)
        assert caught.value.shape == "InvalidAddress"


def test_errors_carry_the_shape_and_the_query_code_botocore_maps_back() -> None:
    error = p.queue_does_not_exist()
    assert json.loads(error.body())["__type"] == "com.amazonaws.sqs#QueueDoesNotExist"
    assert error.query_error() == "AWS.SimpleQueueService.NonExistentQueue;Sender"


def test_queue_attributes_are_checked() -> None:
    assert p.queue_attributes({"VisibilityTimeout": "5"}) == {"VisibilityTimeout": "5"}
    with pytest.raises(p.SqsError, match="Unknown Attribute"):
        p.queue_attributes({"FifoQueue": "true"})
    for value in ("-1", "43201", "x", 5):
        with pytest.raises(p.SqsError) as caught:
            p.queue_attributes({"VisibilityTimeout": value})
        assert caught.value.shape == "InvalidAttributeValue"


def test_message_bodies_are_checked() -> None:
    p.check_body("héllo \U0001f600\n")
    for body in ("", "a\x00b", "x" * (p.MAX_MESSAGE_BYTES + 1)):
        with pytest.raises(p.SqsError):
            p.check_body(body)


def test_integer_parameters_refuse_wrong_types_and_ranges() -> None:
    assert p.integer({}, "MaxNumberOfMessages", 1, 10, 1) == 1
    for value in (0, 11, "5", True, 2.5):
        with pytest.raises(p.SqsError):
            p.integer({"MaxNumberOfMessages": value}, "MaxNumberOfMessages", 1, 10, 1)


def test_the_message_attribute_digest_follows_sqs_encoding() -> None:
    attributes = {"b": {"DataType": "Number", "StringValue": "7"}, "a": {"DataType": "String", "StringValue": "x"}}

    def part(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    expected = b""
    for name, kind, value in (("a", "String", "x"), ("b", "Number", "7")):
        expected += part(name.encode()) + part(kind.encode()) + b"\x01" + part(value.encode())
    assert p.md5_of_attributes(attributes) == hashlib.md5(expected).hexdigest()
    assert p.md5_of_attributes({}) is None


def test_wanted_attribute_names() -> None:
    assert p.wanted(["All"], ["a", "b"]) == ["a", "b"]
    assert p.wanted(["b", "zz"], ["a", "b"]) == ["b"]
    assert p.wanted(["app.*"], ["app.x", "other"]) == ["app.x"]
    assert p.wanted(None, ["a"]) == []


def _received(message_id: str, deliveries: int = 1) -> Received:
    return Received("1700000000000-0", message_id, "body", 1700000000000, deliveries, {}, "")


def test_the_sqs_event_has_lambdas_record_shape() -> None:
    event = lambda_events.event(
        "jobs", [_received("m1", 2)], region="eu-west-1", account_id="111122223333", received_ms=5
    )
    (record,) = event["Records"]
    assert record["messageId"] == "m1"
    assert receipts.decode(record["receiptHandle"]).queue == "jobs"
    assert record["body"] == "body"
    assert record["md5OfBody"] == hashlib.md5(b"body").hexdigest()
    assert record["attributes"] == {
        "ApproximateReceiveCount": "2",
        "SentTimestamp": "1700000000000",
        "SenderId": "111122223333",
        "ApproximateFirstReceiveTimestamp": "5",
    }
    assert record["messageAttributes"] == {}
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:eu-west-1:111122223333:jobs"
    assert record["awsRegion"] == "eu-west-1"


@pytest.mark.parametrize(
    ("payload", "function_error", "failed"),
    [
        (b'{"batchItemFailures": [{"itemIdentifier": "b"}]}', None, {"b"}),
        (b'{"batchItemFailures": []}', None, set()),
        (b'{"batchItemFailures": null}', None, set()),
        (b'{"ok": true}', None, set()),
        (b"null", None, set()),
        (b"not json", None, set()),
        (b'{"batchItemFailures": [{"itemIdentifier": "zz"}]}', None, {"a", "b", "c"}),
        (b'{"batchItemFailures": [{"itemIdentifier": ""}]}', None, {"a", "b", "c"}),
        (b'{"batchItemFailures": "b"}', None, {"a", "b", "c"}),
        (b'{"errorMessage": "boom"}', "Unhandled", {"a", "b", "c"}),
    ],
)
def test_partial_batch_answers(payload: bytes, function_error: str | None, failed: set[str]) -> None:
    assert lambda_events.failed_messages(payload, function_error, ["a", "b", "c"]) == failed


def test_queue_mappings_of_a_catalog() -> None:
    def function(name: str, events: list[dict]) -> Function:
        return Function.model_validate(
            {
                "metadata": {"name": name},
                "spec": {
                    "runtime": "python3.11",
                    "handler": "app.handler",
                    "code": {"inline": {"app.py": "x"}},
                    "timeout": "10s",
                    "events": events,
                },
            }
        )

    found = queue_mappings(
        sources_of(f)
        for f in [
            function("a", [{"queue": "jobs", "batchSize": 3, "maximumBatchingWindow": "2s"}]),
            function("b", [{"queue": "paused", "enabled": False}]),
            function("c", []),
        ]
    )
    assert found == {QueueMapping("a", "jobs", 3, 2.0, 10.0)}
