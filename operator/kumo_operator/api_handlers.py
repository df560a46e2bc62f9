"""kopf handlers for Apis: validate, publish invoke URLs, and say which routes lack a Function."""

from __future__ import annotations

from typing import Any

import kopf

from kumo.kube.client import KubeError, collection_path, object_path
from kumo.kube.names import GROUP
from kumo.models import Api
from kumo_operator.api_status import api_state
from kumo_operator.conditions import now_rfc3339, ready_status, status_changes
from kumo_operator.specs import InvalidSpec, parse_body
from kumo_operator.state import OperatorState, plain, state_of

VERSION = "v1alpha1"


def desired_api_status(state: OperatorState, api: dict[str, Any], functions: set[str]) -> tuple[dict[str, Any], bool]:
    """(status fields to change, whether the spec is invalid and this is news)."""
    meta, status = api["metadata"], api.get("status") or {}
    generation, now = meta.get("generation"), now_rfc3339()
    try:
        model: Api = parse_body(api)
    except InvalidSpec as exc:
        desired = ready_status(status, generation, False, "InvalidSpec", "\n".join(exc.lines), now)
        changes = status_changes(status, desired)
        return changes, bool(changes)
    result = api_state(model, functions, state.config.gateway_public_url)
    desired = ready_status(status, generation, result.ready, result.reason, result.message, now)
    desired |= {"url": result.url, "stages": result.stages}
    return status_changes(status, desired), False


async def function_names(state: OperatorState, namespace: str) -> set[str]:
    return {fn["metadata"]["name"] for fn in await state.kube.list(collection_path("Function", namespace))}


async def refresh_api(state: OperatorState, api: dict[str, Any], functions: set[str] | None = None) -> dict[str, Any]:
    """Write the Api's status if it changed (used when a Function comes or goes); returns the changes."""
    meta = api["metadata"]
    if functions is None:
        functions = await function_names(state, meta["namespace"])
    changes, _ = desired_api_status(state, api, functions)
    if changes:
        try:
            await state.kube.patch(object_path("Api", meta["namespace"], meta["name"], "status"), {"status": changes})
        except KubeError as exc:
            if exc.status != 409:
                raise
    return changes


async def refresh_namespace(state: OperatorState, namespace: str) -> None:
    """Re-check every Api in ``namespace`` against the Functions that exist now."""
    functions = await function_names(state, namespace)
    for api in await state.kube.list(collection_path("Api", namespace)):
        await refresh_api(state, api, functions)


@kopf.on.resume(GROUP, VERSION, "apis")
@kopf.on.create(GROUP, VERSION, "apis")
@kopf.on.update(GROUP, VERSION, "apis")
async def api_changed(body: Any, patch: kopf.Patch, memo: Any, **_: Any) -> None:
    state = state_of(memo)
    api = plain(body)
    changes, invalid = desired_api_status(state, api, await function_names(state, api["metadata"]["namespace"]))
    for key, value in changes.items():
        patch.status[key] = value
    if invalid:
        kopf.warn(body, reason="InvalidSpec", message=changes["conditions"][0]["message"])
