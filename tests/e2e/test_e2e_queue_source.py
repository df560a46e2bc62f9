"""A queue as a function's event source through ``kumo up``: SQS batches with partial failures — the
succeeded messages are deleted, the failed ones come back after the visibility timeout and succeed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from kumo_up import KumoUp, function_manifest, shared_dir

CONSUMER = """
import json, os

def handler(event, context):
    failures = []
    with open(os.environ["TRACE"], "a") as out:
        for record in event["Records"]:
            out.write(json.dumps(record) + "\\n")
            if record["body"].startswith("fail") and record["attributes"]["ApproximateReceiveCount"] == "1":
                failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
"""


@pytest.fixture(scope="module")
def kumo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KumoUp]:
    workdir = tmp_path_factory.mktemp("queue-source")
    manifests = [
        function_manifest(
            "consumer",
            CONSUMER,
            environment={"TRACE": str(shared_dir(workdir) / "records.jsonl")},
            events=[{"queue": "jobs", "batchSize": 5, "maximumBatchingWindow": "1s"}],
        )
    ]
    up = KumoUp(manifests, workdir)
    try:
        yield up
    finally:
        up.stop()


def test_batches_with_partial_failures(kumo: KumoUp) -> None:
    sqs = kumo.client("sqs")
    url = sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
    bodies = ["ok-1", "fail-1", "ok-2", "fail-2", "ok-3"]
    sent = sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": b} for i, b in enumerate(bodies)]
    )
    ids = {e["Id"]: e["MessageId"] for e in sent["Successful"]}
    trace = shared_dir(kumo.workdir) / "records.jsonl"
    deadline = time.monotonic() + 60  # retries wait out a 2 s visibility timeout; generous for a busy machine
    records: list[dict] = []
    while time.monotonic() < deadline:
        records = [json.loads(line) for line in trace.read_text().splitlines()] if trace.exists() else []
        if sum(r["body"].startswith("fail") for r in records) >= 4:
            break
        time.sleep(0.2)
    seen: dict[str, list[str]] = {}
    for record in records:
        seen.setdefault(record["body"], []).append(record["attributes"]["ApproximateReceiveCount"])
    assert seen == {"ok-1": ["1"], "ok-2": ["1"], "ok-3": ["1"], "fail-1": ["1", "2"], "fail-2": ["1", "2"]}, seen
    first = records[0]
    assert first["eventSource"] == "aws:sqs"
    assert first["eventSourceARN"] == "arn:aws:sqs:us-east-1:000000000000:jobs"
    assert first["awsRegion"] == "us-east-1"
    assert first["messageId"] in ids.values() and first["receiptHandle"] and first["md5OfBody"]
    assert {"SentTimestamp", "ApproximateFirstReceiveTimestamp", "SenderId"} <= set(first["attributes"])
    # Everything ends up deleted: nothing visible, nothing in flight.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0":
            break
        time.sleep(0.2)
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
