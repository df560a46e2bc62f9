"""Event source mappings of a Function (`spec.events`): what feeds it besides direct invocations.

Each entry names exactly one source by its key — `queue` (a Kumo queue, SQS-style batches) or
`schedule` (an EventBridge `rate(...)`/`cron(...)` expression: :mod:`kumo.schedules`); table streams plug
in as further keys beside them, sharing the batching settings (which a schedule does not take).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from kumo import schedules
from kumo.models.base import Spec, duration_type, invalid

#: SQS queue names: 1-80 letters, digits, '-' or '_' (no FIFO queues).
QUEUE_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,80}$"
#: The source keys an event source mapping may carry (exactly one).
SOURCE_KEYS = ("queue", "schedule")
#: Settings of batched sources only (a schedule fires one event per tick).
BATCH_KEYS = {"batch_size": "batchSize", "maximum_batching_window": "maximumBatchingWindow"}


class EventSource(Spec):
    """One event source mapping: exactly one source key, and how records are batched into invocations."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.queue) != has(self.schedule)",
                    "message": "exactly one source (queue, schedule) is required",
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
    batch_size: Annotated[int, Field(ge=1, le=10000, description="Most records in one invocation.")] = 10
    maximum_batching_window: Annotated[
        duration_type(0, 300), Field(description="Longest to gather records before invoking with fewer.")
    ] = 0.0
    enabled: Annotated[bool, Field(description="Poll the source (false pauses the mapping).")] = True

    @model_validator(mode="after")
    def _exactly_one_source(self) -> EventSource:
        if sum(getattr(self, key) is not None for key in SOURCE_KEYS) != 1:
            raise invalid(f"exactly one source ({', '.join(SOURCE_KEYS)}) is required")
        if self.schedule is not None:
            given = [name for key, name in BATCH_KEYS.items() if key in self.model_fields_set]
            if given:
                raise invalid(f"a schedule takes no batching settings ({', '.join(given)})")
            try:
                schedules.check(self.schedule)
            except schedules.ScheduleError as exc:
                raise invalid(f"schedule: {exc}") from None
        return self
