"""Event source mappings of a Function (`spec.events`): what feeds it besides direct invocations.

Each entry names exactly one source by its key — `queue` (a Kumo queue, SQS-style batches) or `stream`
(a table's DynamoDB stream, with its own batching, starting position, retries and failure destination).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from kumo.models.base import Spec, duration_type, invalid

#: SQS queue names: 1-80 letters, digits, '-' or '_' (no FIFO queues).
QUEUE_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,80}$"
#: DynamoDB table names (3-255 letters, digits, '_', '-' or '.').
TABLE_NAME_PATTERN = r"^[a-zA-Z0-9_.-]{3,255}$"
#: The source keys an event source mapping may carry (exactly one).
SOURCE_KEYS = ("queue", "stream")


class StreamFailureDestination(Spec):
    """Where a stream batch that exhausted its retries is recorded (Lambda's on-failure destination)."""

    queue: Annotated[str, Field(pattern=QUEUE_NAME_PATTERN, description="Kumo queue to send the record to.")]


class StreamSource(Spec):
    """A table's DynamoDB stream as an event source (Lambda's DynamoDB event source mapping): one poller
    per shard, batches in order, retried, bisected on error, failed batches to `onFailure`."""

    table: Annotated[str, Field(pattern=TABLE_NAME_PATTERN, description="Table whose stream feeds the function.")]
    batch_size: Annotated[int, Field(ge=1, le=10000, description="Most records in one invocation.")] = 100
    starting_position: Annotated[
        Literal["LATEST", "TRIM_HORIZON"], Field(description="Where a new mapping starts reading.")
    ] = "LATEST"
    maximum_retry_attempts: Annotated[
        int, Field(ge=-1, le=10000, description="Retries of a failed batch (-1: until the records expire).")
    ] = -1
    bisect_batch_on_function_error: Annotated[
        bool, Field(description="Split a failed batch in two and retry the halves separately.")
    ] = False
    on_failure: StreamFailureDestination | None = None


class EventSource(Spec):
    """One event source mapping: exactly one source key, and how records are batched into invocations."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.queue) != has(self.stream)",
                    "message": "exactly one source (queue, stream) is required",
                }
            ]
        }
    )

    queue: Annotated[str, Field(pattern=QUEUE_NAME_PATTERN, description="Kumo queue the function consumes.")] | None = (
        None
    )
    stream: StreamSource | None = None
    batch_size: Annotated[int, Field(ge=1, le=10000, description="Most records in one invocation.")] = 10
    maximum_batching_window: Annotated[
        duration_type(0, 300), Field(description="Longest to gather records before invoking with fewer.")
    ] = 0.0
    enabled: Annotated[bool, Field(description="Poll the source (false pauses the mapping).")] = True

    @model_validator(mode="after")
    def _exactly_one_source(self) -> EventSource:
        if sum(getattr(self, key) is not None for key in SOURCE_KEYS) != 1:
            raise invalid(f"exactly one source ({', '.join(SOURCE_KEYS)}) is required")
        return self
