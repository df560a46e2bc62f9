"""Watch the operator's children: a manual edit or deletion of one re-runs its owner's reconcile."""

from __future__ import annotations

from typing import Any

import kopf

from kumo.kube.client import KubeError, object_path
from kumo.kube.names import GROUP, MANAGED_BY, MANAGED_BY_LABEL
from kumo_operator import function_handlers, table_handlers
from kumo_operator.state import OperatorState, state_of

MANAGED = {MANAGED_BY_LABEL: MANAGED_BY}


def owner_of(child: Any) -> tuple[str, str] | None:
    """(kind, name) of the kumo.dev controller of ``child``."""
    for ref in child["metadata"].get("ownerReferences") or []:
        if ref.get("controller") and str(ref.get("apiVersion", "")).startswith(f"{GROUP}/"):
            return ref["kind"], ref["name"]
    return None


async def reconcile_owner(state: OperatorState, namespace: str, kind: str, name: str) -> None:
    owner = await state.kube.get(object_path(kind, namespace, name))
    if owner is None or owner["metadata"].get("deletionTimestamp"):
        return
    if kind == "Function":
        changes, events = await function_handlers.reconcile_function(state, owner)
        if events:
            function_handlers.post_events(owner, events)
    elif kind == "Table":
        changes, _ = await table_handlers.reconcile_table(state, owner)
    else:
        return
    if changes:
        try:
            await state.kube.patch(object_path(kind, namespace, name, "status"), {"status": changes})
        except KubeError as exc:
            if exc.status != 409:
                raise


async def _child_event(event: dict[str, Any], body: Any, memo: Any) -> None:
    if event.get("type") not in ("MODIFIED", "DELETED"):
        return
    owner = owner_of(body)
    if owner is not None:
        await reconcile_owner(state_of(memo), body["metadata"]["namespace"], *owner)


@kopf.on.event("apps", "v1", "deployments", labels=MANAGED)
async def deployment_event(event: dict[str, Any], body: Any, memo: Any, **_: Any) -> None:
    await _child_event(event, body, memo)


@kopf.on.event("apps", "v1", "statefulsets", labels=MANAGED)
async def stateful_set_event(event: dict[str, Any], body: Any, memo: Any, **_: Any) -> None:
    await _child_event(event, body, memo)


@kopf.on.event("", "v1", "services", labels=MANAGED)
async def service_event(event: dict[str, Any], body: Any, memo: Any, **_: Any) -> None:
    await _child_event(event, body, memo)


@kopf.on.event("", "v1", "configmaps", labels=MANAGED)
async def config_map_event(event: dict[str, Any], body: Any, memo: Any, **_: Any) -> None:
    await _child_event(event, body, memo)
