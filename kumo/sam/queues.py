"""`AWS::SQS::Queue` -> a Kumo queue (pure). Kumo queues have no manifest: they exist once used (an SQS
event source, a destination, SendMessage or CreateQueue; docs/queues.md), so the queue is recorded by
name for `Ref`/`Fn::GetAtt` and reported by `kumo sam convert`; attributes are reported unmapped."""

from __future__ import annotations

from kumo.sam.state import QueueSource, Resource

ATTRIBUTES_REASON = (
    "Kumo creates the queue on first use with the default attributes; give attributes with CreateQueue (docs/queues.md)"
)
REASONS = {
    "RedrivePolicy": "Kumo queues have no redrive policies (dead-letter queues for queues)",
    "RedriveAllowPolicy": "Kumo queues have no redrive policies (dead-letter queues for queues)",
    "KmsMasterKeyId": "Kumo has no KMS keys",
    "KmsDataKeyReusePeriodSeconds": "Kumo has no KMS keys",
}
ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "DelaySeconds",
)


def map_queue(resource: Resource) -> None:
    build = resource.build
    name = build.names.names[resource.logical_id]
    if resource.get("FifoQueue") in (True, "true", "True") or name.endswith(".fifo"):
        build.unmapped(resource.logical_id, resource.type, "Kumo has no FIFO queues")
        return
    build.result.queues.append(QueueSource(resource.logical_id, name))
    reasons = {key: ATTRIBUTES_REASON for key in ATTRIBUTES} | REASONS
    resource.report_unknown({"QueueName", "Tags", "FifoQueue", "SqsManagedSseEnabled"}, reasons)
