"""The autoscaler's I/O: a kopf timer per Function reads gateway loads from Redis and sets replicas.

It lives in the operator because it needs each Function's min/max/idleTimeout, which the operator
already watches; a separate process would re-watch the same objects. Replicas are set through the
Deployment's scale subresource, and only when the decision differs from the current count.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import kopf

from kumo.kube.client import KubeError, object_path
from kumo.kube.names import GROUP, published_label, version_child_name
from kumo.models import FunctionSpec
from kumo.scaling.signals import Load, field_for, read_all
from kumo_operator.autoscaler import Observation, ScalingWindow, desired_replicas
from kumo_operator.specs import InvalidSpec, parse_body
from kumo_operator.state import OperatorState, plain, state_of

VERSION = "v1alpha1"
log = logging.getLogger(__name__)


def _interval() -> float:
    try:
        value = float(os.environ.get("KUMO_AUTOSCALE_INTERVAL_S") or 2.0)
    except ValueError:
        return 2.0
    return value if value > 0 else 2.0


INTERVAL_S = _interval()


async def current_loads(state: OperatorState, now: float) -> dict[str, list[Load]]:
    """Every gateway's loads, read at most once per half interval (shared by all Functions' timers)."""
    if state.loads_cache is not None and now - state.loads_cache[0] < INTERVAL_S / 2:
        return state.loads_cache[1]
    if state.redis is None:
        import redis.asyncio as aioredis

        state.redis = aioredis.from_url(state.config.redis_url)
    loads = await read_all(state.redis)
    state.loads_cache = (now, loads)
    return loads


def scaled_versions(status: dict[str, Any], min_instances: int) -> list[tuple[str, int]]:
    """(version label, minInstances) of every Deployment the autoscaler sizes: ``$LATEST``'s current
    version, and each published version ``v<N>`` (``minInstances`` applies to ``$LATEST`` only)."""
    found = [(status["version"], min_instances)] if status.get("version") else []
    for record in status.get("versions") or []:
        if isinstance(record, dict) and str(record.get("version", "")).isdigit():
            found.append((published_label(record["version"]), 0))
    return found


async def autoscale_function(state: OperatorState, fn: dict[str, Any], body: Any = None) -> dict[str, int]:
    """One autoscaler step for every version of ``fn``; returns the replicas set per version label."""
    try:
        spec = parse_body(fn).spec
    except InvalidSpec:
        return {}
    changed = {}
    for version, min_instances in scaled_versions(fn.get("status") or {}, spec.scaling.min_instances):
        desired = await autoscale_version(state, fn, spec, version, min_instances, body)
        if desired is not None:
            changed[version] = desired
    return changed


async def autoscale_version(
    state: OperatorState, fn: dict[str, Any], spec: FunctionSpec, version: str, min_instances: int, body: Any
) -> int | None:
    """One autoscaler step for one version's Deployment; the replicas set, or ``None`` when unchanged."""
    meta = fn["metadata"]
    ns, name = meta["namespace"], meta["name"]
    scale_path = object_path("Deployment", ns, version_child_name(name, version), "scale")
    scale = await state.kube.get(scale_path)
    if scale is None:
        return None
    current = int((scale.get("spec") or {}).get("replicas") or 0)
    now = time.time()
    key = (ns, name, version)
    loads = list((await current_loads(state, now)).get(field_for(ns, name, version), []))
    if current > state.last_replicas.get(key, current):
        loads.append(Load(last_request=now))  # someone (the gateway) woke it up: that is a request
    keep = max(state.config.stable_window_s, spec.scaling.idle_timeout) + 3 * INTERVAL_S
    window = state.windows.setdefault(key, ScalingWindow(keep_s=keep))
    window.keep_s = keep
    window.add(Observation(now, tuple(loads)))
    desired = desired_replicas(
        window.snapshot(),
        now,
        min_instances=min_instances,
        max_instances=spec.scaling.max_instances,
        idle_timeout_s=spec.scaling.idle_timeout,
        stable_window_s=state.config.stable_window_s,
        current=current,
    )
    state.last_replicas[key] = desired
    if desired == current:
        return None
    try:
        await state.kube.patch(scale_path, {"spec": {"replicas": desired}})
    except KubeError as exc:
        log.warning("could not scale %s/%s to %d: %s", ns, name, desired, exc)
        state.last_replicas[key] = current
        return None
    log.info("scaled %s/%s version %s from %d to %d", ns, name, version, current, desired)
    if body is not None and (current == 0 or desired == 0):
        reason = "ScaledFromZero" if current == 0 else "ScaledToZero"
        kopf.info(body, reason=reason, message=f"version {version}: {current} -> {desired} replicas")
    return desired


async def ready_replicas_changes(state: OperatorState, fn: dict[str, Any]) -> dict[str, Any]:
    """``readyReplicas`` from the current version's Deployment, if it differs from the status."""
    status = fn.get("status") or {}
    version = status.get("version")
    if not version:
        return {}
    meta = fn["metadata"]
    path = object_path("Deployment", meta["namespace"], version_child_name(meta["name"], version))
    deployment = await state.kube.get(path)
    ready = int(((deployment or {}).get("status") or {}).get("readyReplicas") or 0)
    return {} if status.get("readyReplicas") == ready else {"readyReplicas": ready}


@kopf.timer(GROUP, VERSION, "functions", interval=INTERVAL_S)
async def autoscale(body: Any, patch: kopf.Patch, memo: Any, logger: Any, **_: Any) -> None:
    state, fn = state_of(memo), plain(body)
    if state.config.redis_url:
        try:
            await autoscale_function(state, fn, body)
        except (OSError, ConnectionError) as exc:
            logger.warning("autoscaler cannot read loads: %s", exc)
    for key, value in (await ready_replicas_changes(state, fn)).items():
        patch.status[key] = value
