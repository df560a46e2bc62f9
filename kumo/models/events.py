"""Event source mappings of a Function (`spec.events`): what feeds it besides direct invocations.

Each entry names exactly one source by its key — `queue` (a Kumo queue, SQS-style batches),
`schedule` (an EventBridge `rate(...)`/`cron(...)` expression: :mod:`kumo.schedules`) or `stream` (a
table's DynamoDB stream, with its own batching, starting position, retries and failure destination).
The top-level batching settings belong to queues (a schedule fires one event per tick; a stream has its own).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from kumo import schedules
from kumo.models.base import NO_CRD_DEFAULT, Spec, duration_type, invalid

#: SQS queue names: 1-80 letters, digits, '-' or '_' (no FIFO queues).
QUEUE_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,80}$"
#: The source keys an event source mapping may carry (exactly one).
SOURCE_KEYS = ("queue", "schedule", "stream")
#: Settings of batched sources only (a schedule fires one event per tick).
BATCH_KEYS = {"batch_size": "batchSize", "maximum_batching_window": "maximumBatchingWindow"}
#: DynamoDB table names (3-255 letters, digits, '_', '-' or '.').
TABLE_NAME_PATTERN = r"^[a-zA-Z0-9_.-]{3,255}$"


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
                    "rule": "(has(self.queue) ? 1 : 0) + (has(self.schedule) ? 1 : 0)"
                    " + (has(self.stream) ? 1 : 0) == 1",
                    "message": "exactly one source (queue, schedule, stream) is required",
                }
            ]
        }
    )

    queue: Annotated[str, Field(pattern=QUEUE_NAME_PATTERN, description="Kumo queue the function consumes.")] | None = (
        None
    )
    schedule: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=256,
                description="rate(N minutes|hours|days) or cron(min hour day-of-month month day-of-week year), UTC.",
            ),
        ]
        | None
    ) = None
    stream: StreamSource | None = None
    # Defaults of queues only: the CRD leaves them out (a stream or a schedule must not get them stored).
    batch_size: Annotated[
        int, Field(ge=1, le=10000, description="Most records in one invocation.", json_schema_extra=NO_CRD_DEFAULT)
    ] = 10
    maximum_batching_window: Annotated[
        duration_type(0, 300),
        Field(description="Longest to gather records before invoking with fewer.", json_schema_extra=NO_CRD_DEFAULT),
    ] = 0.0
    enabled: Annotated[bool, Field(description="Poll the source (false pauses the mapping).")] = True

    @model_validator(mode="after")
    def _exactly_one_source(self) -> EventSource:
        if sum(getattr(self, key) is not None for key in SOURCE_KEYS) != 1:
            raise invalid(f"exactly one source ({', '.join(SOURCE_KEYS)}) is required")
        if self.stream is not None:
            given = [name for key, name in BATCH_KEYS.items() if key in self.model_fields_set]
            if given:
                raise invalid(f"a stream takes its batching settings inside stream ({', '.join(given)})")
        if self.schedule is not None:
            given = [name for key, name in BATCH_KEYS.items() if key in self.model_fields_set]
            if given:
                raise invalid(f"a schedule takes no batching settings ({', '.join(given)})")
            try:
                schedules.check(self.schedule)
            except schedules.ScheduleError as exc:
                raise invalid(f"schedule: {exc}") from None
        return self
