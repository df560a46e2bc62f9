"""kopf handlers for Functions: apply the current version's children, drop old versions, set status."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from typing import Any

import kopf

from kumo.kube.client import KubeClient, collection_path, object_path
from kumo.kube.names import FUNCTION_LABEL, GROUP, VERSION_LABEL, is_published_label
from kumo.kube.published import (
    created_at,
    function_layers,
    lambda_timestamp,
    plan_publish,
    plan_requested_publish,
    publish_request,
    version_record,
)
from kumo.models import Function
from kumo_operator import api_handlers
from kumo_operator.apply import create_once, ensure
from kumo_operator.conditions import now_rfc3339, ready_status, set_condition, status_changes
from kumo_operator.function_credentials import ensure_credentials
from kumo_operator.function_resources import build_function_version
from kumo_operator.package_pods import package_problem
from kumo_operator.platform_secret import ensure_platform_secret
from kumo_operator.published_children import heal_published
from kumo_operator.specs import InvalidSpec, parse_body
from kumo_operator.state import OperatorState, plain, state_of

VERSION = "v1alpha1"
#: Condition about published versions (False while one has lost its code ConfigMap).
VERSIONS_CONDITION = "PublishedVersions"
#: (type, reason, message) of a Kubernetes Event to post about the Function.
Event = tuple[str, str, str]


def function_url(base_url: str, name: str) -> str:
    return f"{base_url}/2015-03-31/functions/{name}/invocations"


def _owned_by(obj: dict[str, Any], uid: str) -> bool:
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])


async def remove_old_versions(kube: KubeClient, fn: dict[str, Any], keep: str) -> list[str]:
    """Delete this Function's Deployments, Services and ConfigMaps of other ``$LATEST`` versions
    (published versions' children, ``<fn>-v<N>``, are kept)."""
    meta = fn["metadata"]
    selector = f"{FUNCTION_LABEL}={meta['name']},{VERSION_LABEL},{VERSION_LABEL}!={keep}"
    removed = []
    for kind in ("Deployment", "Service", "ConfigMap"):
        for obj in await kube.list(collection_path(kind, meta["namespace"]), selector):
            label = (obj["metadata"].get("labels") or {}).get(VERSION_LABEL, "")
            if is_published_label(label):
                continue
            if _owned_by(obj, meta["uid"]) and await kube.delete(
                object_path(kind, meta["namespace"], obj["metadata"]["name"])
            ):
                removed.append(f"{kind}/{obj['metadata']['name']}")
    return removed


async def reconcile_function(state: OperatorState, fn: dict[str, Any]) -> tuple[dict[str, Any], list[Event]]:
    """Bring one Function's children in line; return (status fields to change, events to post)."""
    kube, config = state.kube, state.config
    meta, status = fn["metadata"], fn.get("status") or {}
    generation, now = meta.get("generation"), now_rfc3339()
    events: list[Event] = []
    try:
        model: Function = parse_body(fn)
    except InvalidSpec as exc:
        message = "\n".join(exc.lines)
        desired = ready_status(status, generation, False, "InvalidSpec", message, now)
        changes = status_changes(status, desired)
        if changes:
            events.append(("Warning", "InvalidSpec", message))
        return changes, events
    spec = model.spec
    if spec.layers:  # names are resolved where code is packaged: kumo deploy, or the Lambda API's Layers
        message = (
            "spec.layers is not resolved in a cluster: deploy with `kumo deploy` (it writes the layers' archives "
            "into code.package.layers) or give Layers (layer version ARNs) to CreateFunction"
        )
        desired = ready_status(status, generation, False, "LayersNotResolved", message, now)
        changes = status_changes(status, desired)
        if changes:
            events.append(("Warning", "LayersNotResolved", message))
        return changes, events
    code_files = None
    if spec.code.config_map is not None:
        source = await kube.get(object_path("ConfigMap", meta["namespace"], spec.code.config_map.name))
        if source is None:
            message = f"ConfigMap {spec.code.config_map.name!r} (spec.code.configMap) not found"
            desired = ready_status(status, generation, False, "ConfigMapNotFound", message, now)
            return status_changes(status, desired), events
        code_files = dict(source.get("data") or {})
    if spec.code.package is not None:  # refuse to roll out pods whose package cannot be fetched
        problem = await package_problem(spec, config.code_store_url, config.platform_credential)
        if problem is not None:
            reason, message = problem
            desired = ready_status(status, generation, False, reason, message, now)
            changes = status_changes(status, desired)
            if changes:
                events.append(("Warning", reason, message))
            return changes, events
    # The pods' access key first: a Deployment whose Secret is missing cannot start its pods.
    await ensure_credentials(kube, fn)
    await ensure_platform_secret(kube, meta["namespace"], config.platform_credential)
    built = build_function_version(fn, spec, config, code_files=code_files)
    results = {obj["kind"]: await ensure(kube, obj) for obj in built.children}
    deployment = results["Deployment"][1]
    removed = await remove_old_versions(kube, fn, built.version)
    versions = list(status.get("versions") or [])
    stamp = lambda_timestamp(dt.datetime.now(dt.UTC))
    request, answer = publish_request(fn), None
    if request is not None:  # Publish on CreateFunction/UpdateFunctionCode: exactly one version of this code
        published, created = plan_requested_publish(spec, versions, stamp, code_files)
        answer = {"request": request, "version": published.version}
        published = published if created else None
    else:
        published = plan_publish(spec, versions, stamp, code_files)
    if published is not None:
        frozen = build_function_version(fn, spec, config, code_files=code_files, published=published.version)
        made = {obj["kind"]: (await create_once(kube, obj))[1] for obj in frozen.children}
        when = created_at(made["Deployment"], published.last_modified)
        record = version_record(replace(published, last_modified=when))
        if spec.code.image is not None:
            record["image"] = spec.code.image  # the code of an image version (no ConfigMap to rebuild from)
        if spec.code.package is not None:  # the archives in the code store are the version's code
            record["package"] = spec.code.package.model_dump(mode="json", by_alias=True, exclude_none=True)
            if function_layers(fn):  # the layer version ARNs the Lambda API shows for this version
                record["layers"] = function_layers(fn)
        versions.append(record)
        events.append(("Normal", "VersionPublished", f"published version {published.version} ({frozen.name})"))
    versions, rebuilt, failures = await heal_published(kube, fn, spec, config, versions)
    if rebuilt:
        events.append(("Normal", "VersionRebuilt", f"rebuilt deleted children: {', '.join(rebuilt)}"))
    was_failed = {str(r.get("version")) for r in status.get("versions") or [] if isinstance(r, dict) and "state" in r}
    for record in versions:
        if isinstance(record, dict) and record.get("state") and str(record.get("version")) not in was_failed:
            events.append(("Warning", "VersionFailed", f"version {record['version']}: {record['stateReason']}"))
    previous = status.get("version")
    if previous and previous != built.version:
        events.append(("Normal", "VersionRolled", f"version {previous} -> {built.version}"))
    if removed:
        logging.getLogger(__name__).info("removed old children of %s: %s", meta["name"], ", ".join(removed))
    desired = ready_status(status, generation, True, "Deployed", f"version {built.version} deployed", now)
    desired |= {
        "version": built.version,
        "url": function_url(config.gateway_public_url, meta["name"]),
        "readyReplicas": int((deployment.get("status") or {}).get("readyReplicas") or 0),
    }
    if versions:
        desired["versions"] = versions
    if answer is not None:
        desired["publishRequest"] = answer
    had_condition = any(c.get("type") == VERSIONS_CONDITION for c in desired["conditions"])
    if failures or had_condition:
        message = "; ".join(failures) if failures else "every published version has its children"
        reason = "VersionCodeMissing" if failures else "Healthy"
        desired["conditions"] = set_condition(
            desired["conditions"], VERSIONS_CONDITION, not failures, reason, message, now
        )
    return status_changes(status, desired), events


def post_events(body: Any, events: list[Event]) -> None:
    for type_, reason, message in events:
        if type_ == "Warning":
            kopf.warn(body, reason=reason, message=message)
        else:
            kopf.info(body, reason=reason, message=message)


@kopf.on.resume(GROUP, VERSION, "functions")
@kopf.on.create(GROUP, VERSION, "functions")
@kopf.on.update(GROUP, VERSION, "functions")
async def function_changed(body: Any, patch: kopf.Patch, memo: Any, **_: Any) -> None:
    """Create/update/resume: converge the children; write status only where it differs."""
    changes, events = await reconcile_function(state_of(memo), plain(body))
    for key, value in changes.items():
        patch.status[key] = value
    post_events(body, events)


@kopf.on.event(GROUP, VERSION, "functions")
async def function_seen(event: dict[str, Any], body: Any, memo: Any, **_: Any) -> None:
    """A Function appeared or disappeared: re-check the Apis of its namespace."""
    if event.get("type") in (None, "ADDED", "DELETED"):
        await api_handlers.refresh_namespace(state_of(memo), body["metadata"]["namespace"])
