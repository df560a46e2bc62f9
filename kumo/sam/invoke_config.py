"""A function's `EventInvokeConfig` -> `spec.async` (pure): retries, event age and destinations.

`DestinationConfig.OnSuccess`/`OnFailure` of `Type: Lambda` become `{function: NAME}` and of `Type: SQS`
`{queue: NAME}` (the ARN's name: `!GetAtt Fn.Arn`, `!GetAtt Queue.Arn` or a literal ARN). An SQS
destination without `Destination` is the queue SAM would create: `<function>-on-success` /
`<function>-on-failure` (Kumo queues exist once used). SNS, EventBridge and S3 destinations are reported.
"""

from __future__ import annotations

import re
from typing import Any

from kumo.models.events import QUEUE_NAME_PATTERN
from kumo.sam.intrinsics import NO_VALUE, Unresolved, evaluate
from kumo.sam.loader import TemplateError
from kumo.sam.names import function_from_arn, queue_from_arn
from kumo.sam.state import Resource, as_int

DESTINATIONS = {"OnSuccess": ("onSuccess", "on-success"), "OnFailure": ("onFailure", "on-failure")}


def _destination(resource: Resource, when: str, raw: Any, function: str) -> dict[str, str] | None:
    """One destination (`OnSuccess`/`OnFailure`), or None after reporting why it is not mapped."""
    build = resource.build
    where = f"{resource.logical_id}.EventInvokeConfig.DestinationConfig.{when}"
    if not isinstance(raw, dict):
        raise TemplateError(f"{where} must be a mapping with Type and Destination")
    kind = evaluate(raw.get("Type"), build.context)
    if kind not in ("Lambda", "SQS"):
        build.unmapped(where, resource.type, f"Kumo destinations are functions and queues; {kind!r} is not")
        return None
    try:
        target = evaluate(raw.get("Destination"), build.context)
    except Unresolved as exc:
        build.unmapped(where, resource.type, str(exc).split(": ", 1)[-1])
        return None
    if target is None or target is NO_VALUE:
        if kind == "Lambda":
            raise TemplateError(f"{where}: a Lambda destination needs Destination (the function's ARN)")
        return {"queue": f"{function}-{DESTINATIONS[when][1]}"}  # the queue SAM creates
    if not isinstance(target, str):
        raise TemplateError(f"{where}.Destination must be an ARN, got {target!r}")
    if kind == "Lambda":
        return {"function": function_from_arn(target)}
    if not target.startswith("arn:aws:sqs:"):
        raise TemplateError(f"{where}.Destination must be an SQS queue ARN, got {target!r}")
    queue = queue_from_arn(target)
    if queue.endswith(".fifo"):
        build.unmapped(where, resource.type, "Kumo has no FIFO queues")
        return None
    if not re.fullmatch(QUEUE_NAME_PATTERN, queue):
        raise TemplateError(f"{where}.Destination: {queue!r} is not a queue name")
    return {"queue": queue}


def async_config(resource: Resource, function: str) -> dict[str, Any]:
    """`spec.async` of the function named `function` (empty when the template sets nothing Kumo maps)."""
    raw = resource.properties.get("EventInvokeConfig")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise TemplateError(f"{resource.logical_id}.EventInvokeConfig must be a mapping")
    result: dict[str, Any] = {}
    where = f"{resource.logical_id}.EventInvokeConfig"
    if "MaximumRetryAttempts" in raw:
        retries = evaluate(raw["MaximumRetryAttempts"], resource.build.context)
        result["maxRetryAttempts"] = as_int(retries, f"{where}.MaximumRetryAttempts")
    if "MaximumEventAgeInSeconds" in raw:
        age = evaluate(raw["MaximumEventAgeInSeconds"], resource.build.context)
        result["maxEventAge"] = f"{as_int(age, f'{where}.MaximumEventAgeInSeconds')}s"
    destinations = raw.get("DestinationConfig") or {}
    if not isinstance(destinations, dict):
        raise TemplateError(f"{where}.DestinationConfig must be a mapping")
    for when, raw_destination in destinations.items():
        if when not in DESTINATIONS:
            raise TemplateError(f"{where}.DestinationConfig: {when!r} is not OnSuccess or OnFailure")
        destination = _destination(resource, when, raw_destination, function)
        if destination is not None:
            result[DESTINATIONS[when][0]] = destination
    return result
