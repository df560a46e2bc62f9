"""A function's `Schedule` and `ScheduleV2` events -> `spec.events` schedule sources (pure; docs/sam.md).

The expression is checked with :func:`kumo.schedules.check`, the rule the Function model applies, so an
expression Kumo refuses (`L`, `W`, `#`, one that never fires, `at(...)`) is reported unmapped with that
reason instead of failing the whole template.
"""

from __future__ import annotations

from typing import Any

from kumo import schedules
from kumo.sam.loader import TemplateError
from kumo.sam.state import Build

#: The property holding the expression, by event type.
EXPRESSION = {"Schedule": "Schedule", "ScheduleV2": "ScheduleExpression"}
#: Time zones that are UTC (Kumo's schedules run in UTC only).
UTC_ZONES = {"UTC", "ETC/UTC", "GMT", "ETC/GMT", "ZULU", "UNIVERSAL", "ETC/UNIVERSAL", "ETC/ZULU"}
#: Properties with no effect in Kumo (names of the EventBridge rule or schedule).
NO_EFFECT = {"Name", "Description", "OmitName", "Enabled", "State", "ScheduleExpressionTimezone"}
ASYNC_SETTINGS = (
    "a scheduled event is an asynchronous invocation: the function's EventInvokeConfig (spec.async) sets "
    "its retries and failure destination"
)
REASONS = {
    "Input": (
        "Kumo schedules send EventBridge's scheduled-event payload (docs/async.md); a constant Input is not supported"
    ),
    "DeadLetterConfig": ASYNC_SETTINGS,
    "RetryPolicy": ASYNC_SETTINGS,
    "FlexibleTimeWindow": "Kumo fires each schedule at its tick (no flexible time window)",
    "StartDate": "Kumo schedules have no start date",
    "EndDate": "Kumo schedules have no end date",
    "GroupName": "Kumo has no schedule groups",
    "KmsKeyArn": "Kumo has no KMS keys",
    "RoleArn": "Kumo does not enforce IAM roles",
    "PermissionsBoundary": "Kumo does not enforce IAM roles",
}


def _enabled(props: dict[str, Any], where: str) -> bool:
    state = props.get("State")
    if state is not None:
        if str(state).upper() not in ("ENABLED", "DISABLED"):
            raise TemplateError(f"{where}.State must be ENABLED or DISABLED, got {state!r}")
        return str(state).upper() == "ENABLED"
    enabled = props.get("Enabled", True)
    return enabled not in (False, "false", "False")


def _flexible_window_off(value: Any) -> bool:
    return isinstance(value, dict) and str(value.get("Mode", "OFF")).upper() == "OFF"


def schedule_source(build: Build, kind: str, props: dict[str, Any], where: str) -> dict[str, Any] | None:
    """The schedule source of one event, or None after reporting why it is not mapped."""
    expression = props.get(EXPRESSION[kind])
    if not isinstance(expression, str):
        raise TemplateError(f"{where}.{EXPRESSION[kind]} must be a rate(...) or cron(...) expression")
    zone = props.get("ScheduleExpressionTimezone")
    if kind == "ScheduleV2" and zone is not None and str(zone).upper() not in UTC_ZONES:
        build.unmapped(where, f"{kind} event", f"Kumo schedules run in UTC; time zone {zone!r} is not supported")
        return None
    try:
        schedules.check(expression)
    except schedules.ScheduleError as exc:
        build.unmapped(where, f"{kind} event", str(exc))
        return None
    source: dict[str, Any] = {"schedule": expression.strip()}
    if not _enabled(props, where):
        source["enabled"] = False
    for key in props:
        if key in NO_EFFECT or key == EXPRESSION[kind]:
            continue
        if key == "FlexibleTimeWindow" and _flexible_window_off(props[key]):
            continue
        build.unmapped(f"{where}.{key}", f"{kind} event", REASONS.get(key, f"property {key} is not supported by Kumo"))
    return source
