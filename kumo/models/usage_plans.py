"""Throttles, quotas and usage plans of an `Api` (API Gateway's usage plans, see docs/usage-plans.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from kumo.models.base import Spec, invalid

#: API Gateway's quota periods; a period's boundaries are computed in UTC.
QUOTA_PERIODS = ("DAY", "WEEK", "MONTH")
#: The largest ``offset`` per period: DAY has none, WEEK 0 (Sunday) - 6, MONTH the 1st - 28th (0 - 27).
MAX_QUOTA_OFFSET = {"DAY": 0, "WEEK": 6, "MONTH": 27}
USAGE_PLAN_NAME_PATTERN = r"^[A-Za-z0-9_-]+$"


class Throttle(Spec):
    """A token bucket: ``rate`` tokens/s refill it, it holds at most ``burst`` (API Gateway's throttle)."""

    rate: Annotated[float, Field(gt=0, le=1_000_000, description="Steady requests per second (bucket refill).")]
    burst: Annotated[int, Field(ge=0, le=1_000_000, description="Bucket size: requests allowed at once.")]


class Quota(Spec):
    """At most ``limit`` requests per key per ``period`` (UTC); ``offset`` is the day the period starts."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.offset) || (self.period == 'DAY' ? self.offset == 0 : "
                    "self.period == 'WEEK' ? self.offset <= 6 : self.offset <= 27)",
                    "message": "offset: 0 for DAY, 0 (Sunday) - 6 for WEEK, 0 (the 1st) - 27 for MONTH",
                }
            ]
        }
    )

    limit: Annotated[int, Field(ge=1, le=2_000_000_000, description="Requests per period.")]
    period: Literal["DAY", "WEEK", "MONTH"]
    offset: Annotated[
        int,
        Field(ge=0, le=27, description="Day the period starts: WEEK 0 = Sunday ... 6; MONTH 0 = the 1st ... 27."),
    ] = 0

    @model_validator(mode="after")
    def _offset_fits_period(self) -> Quota:
        if self.offset > MAX_QUOTA_OFFSET[self.period]:
            raise invalid(
                "offset: 0 for DAY, 0 (Sunday) - 6 for WEEK, 0 (the 1st) - 27 for MONTH "
                f"(got {self.offset} for {self.period})",
                "offset",
            )
        return self


class UsagePlan(Spec):
    """Which stages a plan's keys may call, at what rate, and how many requests per period."""

    name: Annotated[str, Field(min_length=1, max_length=128, pattern=USAGE_PLAN_NAME_PATTERN)]
    stages: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=128)]],
        Field(
            min_length=1, description="Stage names of this Api.", json_schema_extra={"x-kubernetes-list-type": "set"}
        ),
    ]
    throttle: Throttle | None = None
    quota: Quota | None = None
