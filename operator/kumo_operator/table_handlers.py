"""kopf handlers for Tables: the partition StatefulSet, its headless Service and PDB, and status."""

from __future__ import annotations

from typing import Any

import kopf

from kumo.kube.client import object_path
from kumo.kube.names import GROUP, table_child_name
from kumo.models import Table
from kumo_operator.apply import ensure
from kumo_operator.conditions import now_rfc3339, ready_status, status_changes
from kumo_operator.platform_secret import ensure_platform_secret
from kumo_operator.specs import InvalidSpec, parse_body
from kumo_operator.state import OperatorState, plain, state_of
from kumo_operator.table_resources import build_table

VERSION = "v1alpha1"
STATUS_INTERVAL_S = 5.0


def table_status(table: dict[str, Any], model: Table, stateful_set: dict[str, Any] | None) -> dict[str, Any]:
    """Ready once every partition's pod is ready."""
    status, meta = table.get("status") or {}, table["metadata"]
    ready = int(((stateful_set or {}).get("status") or {}).get("readyReplicas") or 0)
    wanted = model.spec.partitions
    ok = ready >= wanted
    reason, message = (
        ("PartitionsReady", f"{ready}/{wanted} partitions ready")
        if ok
        else (
            "PartitionsStarting",
            f"{ready}/{wanted} partitions ready",
        )
    )
    desired = ready_status(status, meta.get("generation"), ok, reason, message, now_rfc3339())
    return status_changes(status, desired | {"readyPartitions": ready})


async def reconcile_table(state: OperatorState, table: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Converge the children; return (status changes, warning message for an invalid spec)."""
    status, meta = table.get("status") or {}, table["metadata"]
    try:
        model: Table = parse_body(table)
    except InvalidSpec as exc:
        message = "\n".join(exc.lines)
        desired = ready_status(status, meta.get("generation"), False, "InvalidSpec", message, now_rfc3339())
        changes = status_changes(status, desired)
        return changes, message if changes else None
    await ensure_platform_secret(state.kube, meta["namespace"], state.config.platform_credential)
    built = build_table(table, model.spec, state.config)
    stateful_set = None
    for child in built.children:
        _, obj = await ensure(state.kube, child)
        if child["kind"] == "StatefulSet":
            stateful_set = obj
    return table_status(table, model, stateful_set), None


@kopf.on.resume(GROUP, VERSION, "tables")
@kopf.on.create(GROUP, VERSION, "tables")
@kopf.on.update(GROUP, VERSION, "tables")
async def table_changed(body: Any, patch: kopf.Patch, memo: Any, **_: Any) -> None:
    changes, warning = await reconcile_table(state_of(memo), plain(body))
    for key, value in changes.items():
        patch.status[key] = value
    if warning:
        kopf.warn(body, reason="InvalidSpec", message=warning)


@kopf.timer(GROUP, VERSION, "tables", interval=STATUS_INTERVAL_S, idle=STATUS_INTERVAL_S)
async def table_readiness(body: Any, patch: kopf.Patch, memo: Any, **_: Any) -> None:
    """Follow the StatefulSet's ready pods into the Table's status."""
    state, table = state_of(memo), plain(body)
    try:
        model: Table = parse_body(table)
    except InvalidSpec:
        return
    meta = table["metadata"]
    stateful_set = await state.kube.get(object_path("StatefulSet", meta["namespace"], table_child_name(meta["name"])))
    for key, value in table_status(table, model, stateful_set).items():
        patch.status[key] = value
