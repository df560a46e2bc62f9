"""A function's `DynamoDB` events -> `spec.events` stream sources (pure; docs/sam.md, docs/streams.md).

`Stream` is the table's stream ARN (`!GetAtt Table.StreamArn` of a template table, or a literal
DynamoDB stream ARN): the source names the table. Settings the stream source has are mapped; the rest
are reported unmapped with the reason, and an event Kumo cannot honour at all (`AT_TIMESTAMP`) is
reported whole.
"""

from __future__ import annotations

import re
from typing import Any

from kumo.sam.loader import TemplateError
from kumo.sam.names import queue_from_arn
from kumo.sam.state import Build, as_int

KIND = "DynamoDB event"
_STREAM_ARN = re.compile(r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]*:\d{12}:table/([a-zA-Z0-9_.-]{3,255})/stream/\S+")
#: Properties with no effect in Kumo beyond what is mapped.
NO_EFFECT = {"Stream", "StartingPosition", "BatchSize", "MaximumRetryAttempts", "BisectBatchOnFunctionError"}
NO_EFFECT |= {"DestinationConfig", "Enabled"}
REASONS = {
    "FilterCriteria": "Kumo stream sources have no event filtering: the function gets every record",
    "ParallelizationFactor": "Kumo polls each shard with one batch at a time (parallelization factor 1)",
    "TumblingWindowInSeconds": "Kumo stream sources have no tumbling windows",
    "MaximumBatchingWindowInSeconds": "Kumo stream sources invoke as soon as records arrive (no batching window)",
    "MaximumRecordAgeInSeconds": "Kumo retries until maximumRetryAttempts or the stream's 24 h retention",
    "FunctionResponseTypes": (
        "no setting needed: Kumo always honours batchItemFailures (ReportBatchItemFailures) in the "
        "function's response (docs/streams.md)"
    ),
    "StartingPositionTimestamp": "Kumo stream sources start at LATEST or TRIM_HORIZON",
    "KmsKeyArn": "Kumo has no KMS keys",
    "MetricsConfig": "Kumo has no CloudWatch metrics",
}


def table_from_stream_arn(value: Any, where: str) -> str:
    """`arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL` -> `NAME`."""
    match = _STREAM_ARN.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise TemplateError(f"{where}.Stream must be a DynamoDB stream ARN (!GetAtt Table.StreamArn), got {value!r}")
    return match.group(1)


def _on_failure(build: Build, config: Any, where: str) -> dict[str, str] | None:
    if not isinstance(config, dict):
        raise TemplateError(f"{where}.DestinationConfig must be a mapping")
    for key in config:
        if key != "OnFailure":
            build.unmapped(
                f"{where}.DestinationConfig.{key}", KIND, "a stream source has only an on-failure destination"
            )
    failure = config.get("OnFailure")
    if failure is None:
        return None
    destination = failure.get("Destination") if isinstance(failure, dict) else None
    kind = str(failure.get("Type", "")) if isinstance(failure, dict) else ""
    if isinstance(destination, str) and (kind == "SQS" or (not kind and destination.startswith("arn:aws:sqs:"))):
        name = queue_from_arn(destination)
        if name.endswith(".fifo"):
            build.unmapped(f"{where}.DestinationConfig.OnFailure", KIND, "Kumo has no FIFO queues")
            return None
        return {"queue": name}
    reason = f"Kumo stream sources send failed batches to a Kumo queue only (got {kind or destination!r})"
    build.unmapped(f"{where}.DestinationConfig.OnFailure", KIND, reason)
    return None


def stream_source(build: Build, props: dict[str, Any], where: str) -> dict[str, Any] | None:
    """The stream source of one `DynamoDB` event, or None after reporting why it is not mapped."""
    table = table_from_stream_arn(props.get("Stream"), where)
    position = str(props.get("StartingPosition", "LATEST")).upper()
    if position == "AT_TIMESTAMP":
        build.unmapped(where, KIND, "Kumo stream sources start at LATEST or TRIM_HORIZON (no AT_TIMESTAMP)")
        return None
    if position not in ("LATEST", "TRIM_HORIZON"):
        raise TemplateError(f"{where}.StartingPosition must be LATEST, TRIM_HORIZON or AT_TIMESTAMP, got {position!r}")
    stream: dict[str, Any] = {"table": table, "startingPosition": position}
    if "BatchSize" in props:
        stream["batchSize"] = as_int(props["BatchSize"], "BatchSize")
    if "MaximumRetryAttempts" in props:
        stream["maximumRetryAttempts"] = as_int(props["MaximumRetryAttempts"], "MaximumRetryAttempts")
    if "BisectBatchOnFunctionError" in props:
        stream["bisectBatchOnFunctionError"] = props["BisectBatchOnFunctionError"] in (True, "true", "True")
    if props.get("DestinationConfig") is not None:
        failure = _on_failure(build, props["DestinationConfig"], where)
        if failure is not None:
            stream["onFailure"] = failure
    source: dict[str, Any] = {"stream": stream}
    if props.get("Enabled") in (False, "false", "False"):
        source["enabled"] = False
    for key in props:
        if key not in NO_EFFECT:
            build.unmapped(f"{where}.{key}", KIND, REASONS.get(key, f"property {key} is not supported by Kumo"))
    return source
