"""Kumo queues through unchanged boto3 ``sqs`` against ``kumo up`` (SigV4-signed, SQS's JSON protocol)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError
from kumo_up import KUMO, KumoUp


@pytest.fixture(scope="module")
def kumo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KumoUp]:
    up = KumoUp([], tmp_path_factory.mktemp("queues"))
    try:
        yield up
    finally:
        up.stop()


def test_round_trip_create_send_receive_delete(kumo: KumoUp) -> None:
    sqs = kumo.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    assert url.endswith("/000000000000/orders")
    assert sqs.create_queue(QueueName="orders")["QueueUrl"] == url  # idempotent
    assert sqs.get_queue_url(QueueName="orders")["QueueUrl"] == url
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="hello",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}},
    )
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"hello").hexdigest()
    batch = sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": f"body {i}"} for i in range(3)]
    )
    assert sorted(e["Id"] for e in batch["Successful"]) == ["m0", "m1", "m2"] and not batch.get("Failed")

    got = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
    )["Messages"]
    assert [m["Body"] for m in got] == ["hello", "body 0", "body 1", "body 2"]
    first = got[0]
    assert first["MessageId"] == sent["MessageId"]
    assert first["MessageAttributes"] == {"kind": {"DataType": "String", "StringValue": "greeting"}}
    assert first["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    assert abs(int(first["Attributes"]["SentTimestamp"]) / 1000 - time.time()) < 60

    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    deleted = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got[1:])]
    )
    assert len(deleted["Successful"]) == 3
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_a_message_not_deleted_reappears_after_its_visibility_timeout(kumo: KumoUp) -> None:
    sqs = kumo.client("sqs")
    url = sqs.create_queue(QueueName="retry", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="again")
    first = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"][0]
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []  # invisible meanwhile
    started = time.monotonic()
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, AttributeNames=["All"])["Messages"]
    waited = time.monotonic() - started
    assert [m["MessageId"] for m in again] == [first["MessageId"]]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert again[0]["ReceiptHandle"] != first["ReceiptHandle"]
    assert 0.3 < waited < 5  # the long poll returned once the message was visible again
    # A receive-time visibility timeout overrides the queue's; deleting by the new handle ends it.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"], VisibilityTimeout=0)
    third = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=third[0]["ReceiptHandle"])
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []


def test_errors_in_sqs_shape(kumo: KumoUp) -> None:
    sqs = kumo.client("sqs")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="nope")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=f"{kumo.url}/000000000000/nope", MessageBody="x")
    url = sqs.create_queue(QueueName="errors")["QueueUrl"]
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": "x"} for i in range(11)])
    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "x"}] * 2)
    with pytest.raises(sqs.exceptions.QueueNameExists):
        sqs.create_queue(QueueName="errors", Attributes={"VisibilityTimeout": "5"})
    with pytest.raises(ClientError) as caught:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unsigned_requests_are_refused(kumo: KumoUp, tmp_path: Path) -> None:
    from botocore import UNSIGNED

    anonymous = kumo.client("sqs", signature_version=UNSIGNED)
    with pytest.raises(ClientError) as caught:
        anonymous.create_queue(QueueName="sneaky")
    assert caught.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    with pytest.raises(kumo.client("sqs").exceptions.QueueDoesNotExist):
        kumo.client("sqs").get_queue_url(QueueName="sneaky")


def test_kumo_queue_send_is_a_signed_send_message(kumo: KumoUp) -> None:
    sqs = kumo.client("sqs")
    url = sqs.create_queue(QueueName="cli")["QueueUrl"]
    args = [*KUMO, "queue", "send", "cli", '{"order": 7}', "--url", kumo.url, "--state-dir", str(kumo.state_dir)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    message = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert message["Body"] == '{"order": 7}'
    assert message["MessageId"] == done.stdout.strip()
    missing = subprocess.run([*args[:5], "nope", "x", *args[7:]], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "QueueDoesNotExist" in missing.stderr
    unsigned = subprocess.run(
        [*args[:9], "--state-dir", str(kumo.workdir / "elsewhere")],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    )
    assert unsigned.returncode == 1 and "MissingAuthenticationToken" in unsigned.stderr


@pytest.mark.parametrize(
    ("target", "body", "code"),
    [
        ("AmazonSQS.CreateQueue", b"not json", "InvalidParameterValue"),
        ("AmazonSQS.CreateQueue", b"[1, 2]", "InvalidParameterValue"),
        ("AmazonSQS.CreateQueue", b"{}", "MissingParameter"),
        ("AmazonSQS.CreateQueue", b'{"QueueName": 5}', "InvalidParameterValue"),
        ("AmazonSQS.CreateQueue", b'{"QueueName": "a b"}', "InvalidParameterValue"),
        ("AmazonSQS.CreateQueue", b'{"QueueName": "x", "Attributes": [1]}', "InvalidParameterValue"),
        ("AmazonSQS.SendMessage", b'{"QueueUrl": "http://h/0/bad-in"}', "MissingParameter"),
        ("AmazonSQS.SendMessage", b'{"QueueUrl": "http://h/0/bad-in", "MessageBody": "x", "DelaySeconds": 5}', None),
        ("AmazonSQS.SendMessageBatch", b'{"QueueUrl": "http://h/0/bad-in", "Entries": "x"}', None),
        ("AmazonSQS.SendMessageBatch", b'{"QueueUrl": "http://h/0/bad-in", "Entries": [5]}', None),
        ("AmazonSQS.ReceiveMessage", b'{"QueueUrl": "http://h/0/bad-in", "WaitTimeSeconds": 21}', None),
        ("AmazonSQS.ReceiveMessage", b'{"QueueUrl": "http://h/0/bad-in", "AttributeNames": 7}', None),
        ("AmazonSQS.ReceiveMessage", b'{"QueueUrl": 7}', "InvalidParameterValue"),
        ("AmazonSQS.DeleteMessage", b'{"QueueUrl": "http://h/0/bad-in", "ReceiptHandle": 3}', None),
        (
            "AmazonSQS.DeleteMessageBatch",
            b'{"QueueUrl": "http://h/0/bad-in", "Entries": [{"Id": "a"}, {"Id": "a"}]}',
            None,
        ),
        ("AmazonSQS.ChangeMessageVisibility", b'{"QueueUrl": "http://h/0/bad-in", "ReceiptHandle": "x"}', None),
        ("AmazonSQS.DeleteQueue", b"{}", "UnknownOperation"),
        (
            "AmazonSQS.SendMessage",
            b'{"QueueUrl": "http://h/0/bad-in", "MessageBody": "x", "MessageAttributes": 1}',
            None,
        ),
    ],
)
def test_bad_input_gets_a_4xx_in_sqs_shape(kumo: KumoUp, target: str, body: bytes, code: str | None) -> None:
    kumo.client("sqs").create_queue(QueueName="bad-in")
    response = httpx.post(
        f"{kumo.url}/",
        content=body,
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target},
        auth=kumo.auth("sqs"),
        timeout=30,
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["__type"].startswith("com.amazonaws.sqs#")
    assert response.json()["message"]
    if code is not None:
        assert response.headers["x-amzn-query-error"].split(";")[0] == code
