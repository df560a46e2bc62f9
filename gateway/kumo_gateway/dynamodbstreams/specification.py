"""A table's ``StreamSpecification`` in its stored description (pure).

CreateTable and UpdateTable take ``StreamSpecification {StreamEnabled, StreamViewType}``; an enabled
stream adds ``LatestStreamArn`` and ``LatestStreamLabel`` to the description (a new label each time it
is enabled). Disabling keeps the ARN and label (the stream stays readable, as on DynamoDB) and records
when and with which view type, in Kumo-only fields (:data:`INTERNAL`, stripped from public descriptions).
"""

from __future__ import annotations

from typing import Any

from kumo_gateway.dynamodbstreams import names
from kumo_tablestore.errors import ValidationException

VIEW_TYPES = ("NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY")
DISABLED_AT = "KumoStreamDisabledAt"
#: The view type of a disabled stream (its records are still readable for 24 hours).
DISABLED_VIEW = "KumoStreamViewType"
#: Kumo-only description fields of this module, stripped from what clients see.
INTERNAL = (DISABLED_AT, DISABLED_VIEW)


def _parse(spec: Any) -> tuple[bool, str | None]:
    if not isinstance(spec, dict) or not isinstance(spec.get("StreamEnabled"), bool):
        raise ValidationException(
            "1 validation error detected: Value null at 'streamSpecification.streamEnabled' failed to satisfy "
            "constraint: Member must not be null"
        )
    view = spec.get("StreamViewType")
    if spec["StreamEnabled"]:
        if view is None:
            raise ValidationException("One or more parameter values were invalid: StreamViewType is required")
        if view not in VIEW_TYPES:
            raise ValidationException(
                f"1 validation error detected: Value '{view}' at 'streamSpecification.streamViewType' failed to "
                f"satisfy constraint: Member must satisfy enum value set: [{', '.join(VIEW_TYPES)}]"
            )
    elif view is not None:
        raise ValidationException(
            "One or more parameter values were invalid: Stream View Type cannot be specified when stream is disabled"
        )
    return spec["StreamEnabled"], view


def enabled(description: dict[str, Any]) -> bool:
    return bool(description.get("StreamSpecification", {}).get("StreamEnabled"))


def view_type(description: dict[str, Any]) -> str | None:
    """The latest stream's view type (also once disabled)."""
    return description.get("StreamSpecification", {}).get("StreamViewType") or description.get(DISABLED_VIEW)


def on_create(description: dict[str, Any], spec: Any, now: float) -> dict[str, Any]:
    """The new table's description with its stream (when ``spec`` enables one)."""
    if spec is None:
        return description
    on, view = _parse(spec)
    if not on:
        return description
    return _enable(dict(description), view, now)


def on_update(description: dict[str, Any], spec: Any, now: float) -> dict[str, Any]:
    """The description after UpdateTable's ``StreamSpecification`` (DynamoDB's errors for no-op changes)."""
    on, view = _parse(spec)
    out = dict(description)
    if on:
        if enabled(description):
            raise ValidationException(f"Table already has an enabled stream: {description.get('LatestStreamArn')}")
        return _enable(out, view, now)
    if not enabled(description):
        raise ValidationException("Table already has no enabled stream")
    out[DISABLED_VIEW] = view_type(description)
    out["StreamSpecification"] = {"StreamEnabled": False}
    out[DISABLED_AT] = now
    return out


def _enable(out: dict[str, Any], view: str | None, now: float) -> dict[str, Any]:
    label = names.label_of(now)
    out["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
    out["LatestStreamLabel"] = label
    out["LatestStreamArn"] = names.stream_arn(out["TableArn"], label)
    for field in INTERNAL:
        out.pop(field, None)
    return out


def window(description: dict[str, Any]) -> tuple[float, float | None]:
    """``(enabled at, disabled at or None)``: the commit times whose records belong to the latest stream."""
    return names.label_time(description["LatestStreamLabel"]), description.get(DISABLED_AT)


def follow(stored: dict[str, Any], wanted: dict[str, Any], now: float) -> dict[str, Any]:
    """``stored`` with the stream ``wanted`` asks for (a Table manifest edit): unchanged when both agree
    (a restart keeps the stream), else the old stream disabled and a new one enabled as asked."""
    want_on = enabled(wanted)
    want_view = wanted.get("StreamSpecification", {}).get("StreamViewType")
    if want_on == enabled(stored) and (not want_on or want_view == view_type(stored)):
        return stored
    out = on_update(stored, {"StreamEnabled": False}, now) if enabled(stored) else dict(stored)
    return _enable(out, want_view, now) if want_on else out
