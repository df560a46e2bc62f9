"""A function's effective async settings (retries, event age, destinations): from the manifest's
``spec.async``, or set through ``PutFunctionEventInvokeConfig`` (which overrides the manifest), and the
API's shapes. Pure: no I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from kumo.models.function import AsyncConfig

MIN_EVENT_AGE_S = 60
MAX_EVENT_AGE_S = 21600
MAX_RETRY_ATTEMPTS = 2


class ConfigError(ValueError):
    """A PutFunctionEventInvokeConfig body Kumo cannot accept (answered 400 InvalidParameterValueException)."""


@dataclass(frozen=True)
class Target:
    """A destination: ``kind`` is ``function`` (async invoke) or ``queue`` (Kumo queue)."""

    kind: str
    name: str


@dataclass(frozen=True)
class EventConfig:
    max_retry_attempts: int = MAX_RETRY_ATTEMPTS
    max_event_age_s: int = MAX_EVENT_AGE_S
    on_success: Target | None = None
    on_failure: Target | None = None

    def to_json(self) -> str:
        data: dict[str, Any] = {"r": self.max_retry_attempts, "a": self.max_event_age_s}
        if self.on_success:
            data["s"] = [self.on_success.kind, self.on_success.name]
        if self.on_failure:
            data["f"] = [self.on_failure.kind, self.on_failure.name]
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> EventConfig:
        data = json.loads(text)
        success, failure = data.get("s"), data.get("f")
        return cls(
            max_retry_attempts=int(data.get("r", MAX_RETRY_ATTEMPTS)),
            max_event_age_s=int(data.get("a", MAX_EVENT_AGE_S)),
            on_success=Target(success[0], success[1]) if success else None,
            on_failure=Target(failure[0], failure[1]) if failure else None,
        )


def from_manifest(spec: AsyncConfig) -> EventConfig:
    def target(destination: Any) -> Target | None:
        if destination is None:
            return None
        return Target("function", destination.function) if destination.function else Target("queue", destination.queue)

    return EventConfig(
        max_retry_attempts=spec.max_retry_attempts,
        max_event_age_s=int(spec.max_event_age),
        on_success=target(spec.on_success),
        on_failure=target(spec.on_failure),
    )


def target_from_arn(arn: str) -> Target:
    """``arn:aws:lambda:<region>:<account>:function:NAME`` or ``arn:aws:sqs:<region>:<account>:NAME``."""
    if not isinstance(arn, str) or not arn:
        raise ConfigError("Destination must be a non-empty ARN string")
    parts = arn.split(":")
    if len(parts) >= 7 and parts[0] == "arn" and parts[2] == "lambda" and parts[5] == "function" and parts[6]:
        if len(parts) > 8:
            raise ConfigError(f"Destination {arn!r} is not a function ARN")
        return Target("function", parts[6])
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "sqs" and parts[5]:
        return Target("queue", parts[5])
    raise ConfigError(
        f"Destination {arn!r} is not supported: use a function ARN (arn:aws:lambda:...:function:NAME) "
        "or a queue ARN (arn:aws:sqs:...:NAME)"
    )


def target_arn(target: Target, region: str, account_id: str) -> str:
    if target.kind == "function":
        return f"arn:aws:lambda:{region}:{account_id}:function:{target.name}"
    return f"arn:aws:sqs:{region}:{account_id}:{target.name}"


def apply_api_body(base: EventConfig, body: dict[str, Any], *, update: bool = False) -> EventConfig:
    """The config a Put (``update=False``: unspecified fields take Lambda's defaults) or Update
    (``update=True``: unspecified fields keep ``base``) request asks for."""
    current = base if update else EventConfig()
    changes: dict[str, Any] = {}
    if "MaximumRetryAttempts" in body:
        value = body["MaximumRetryAttempts"]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_RETRY_ATTEMPTS:
            raise ConfigError(f"MaximumRetryAttempts must be an integer from 0 to {MAX_RETRY_ATTEMPTS}")
        changes["max_retry_attempts"] = value
    if "MaximumEventAgeInSeconds" in body:
        value = body["MaximumEventAgeInSeconds"]
        if not isinstance(value, int) or isinstance(value, bool) or not MIN_EVENT_AGE_S <= value <= MAX_EVENT_AGE_S:
            raise ConfigError(
                f"MaximumEventAgeInSeconds must be an integer from {MIN_EVENT_AGE_S} to {MAX_EVENT_AGE_S}"
            )
        changes["max_event_age_s"] = value
    destinations = body.get("DestinationConfig")
    if destinations is not None:
        if not isinstance(destinations, dict):
            raise ConfigError("DestinationConfig must be an object")
        for key, field in (("OnSuccess", "on_success"), ("OnFailure", "on_failure")):
            if key not in destinations:
                continue
            entry = destinations[key]
            if not isinstance(entry, dict):
                raise ConfigError(f"DestinationConfig.{key} must be an object")
            arn = entry.get("Destination")
            changes[field] = None if arn in (None, "") else target_from_arn(arn)
    return replace(current, **changes)


def api_shape(config: EventConfig, function_arn: str, last_modified: float, region: str, account_id: str) -> dict:
    """The ``FunctionEventInvokeConfig`` boto3 reads back."""
    destinations: dict[str, Any] = {"OnSuccess": {}, "OnFailure": {}}
    if config.on_success:
        destinations["OnSuccess"] = {"Destination": target_arn(config.on_success, region, account_id)}
    if config.on_failure:
        destinations["OnFailure"] = {"Destination": target_arn(config.on_failure, region, account_id)}
    return {
        "FunctionArn": function_arn,
        "LastModified": last_modified,
        "MaximumRetryAttempts": config.max_retry_attempts,
        "MaximumEventAgeInSeconds": config.max_event_age_s,
        "DestinationConfig": destinations,
    }
