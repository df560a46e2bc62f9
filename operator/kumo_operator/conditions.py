"""Status conditions (pure): ``Ready`` with a stable ``lastTransitionTime``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(
    conditions: Sequence[Mapping[str, Any]] | None,
    type_: str,
    status: bool,
    reason: str,
    message: str,
    now: str,
) -> list[dict[str, Any]]:
    """``conditions`` with ``type_`` set; its ``lastTransitionTime`` changes only when ``status`` does."""
    text = "True" if status else "False"
    result: list[dict[str, Any]] = []
    previous = None
    for condition in conditions or ():
        if condition.get("type") == type_:
            previous = condition
        else:
            result.append(dict(condition))
    since = previous.get("lastTransitionTime") if previous and previous.get("status") == text else None
    updated = {"type": type_, "status": text, "reason": reason, "message": message, "lastTransitionTime": since or now}
    return [updated, *result]


def status_changes(current: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level status fields of ``desired`` that differ from ``current`` (empty: nothing to write)."""
    current = current or {}
    return {key: value for key, value in desired.items() if current.get(key) != value}


def ready_status(
    current: Mapping[str, Any] | None, generation: int | None, ready: bool, reason: str, message: str, now: str
) -> dict[str, Any]:
    """``observedGeneration`` and ``conditions`` with ``Ready`` set."""
    conditions = set_condition((current or {}).get("conditions"), "Ready", ready, reason, message, now)
    return {"observedGeneration": generation, "conditions": conditions}
