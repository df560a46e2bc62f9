"""Function resources as the Lambda management API sees them in a cluster (pure; no I/O).

One source of truth: what ``CreateFunction`` creates is a Function resource (``kubectl get fn`` shows it),
its code ``code.package: {sha256, size}`` in the code store; what ``kubectl apply`` creates is read back
the same way. Lambda's fields the Function spec has no place for live in annotations:

- ``lambda.kumo.dev/settings``: ``{"role", "description", "architecture"}`` (JSON);
- ``lambda.kumo.dev/tags``: the function's tags (JSON; label values are too narrow for Lambda's tags);
- ``lambda.kumo.dev/last-modified``: ``LastModified`` of the last change through the API;
- ``lambda.kumo.dev/layers``: the ``Layers`` given (``[{"Arn", "CodeSize"}]``), whose archives are in
  ``code.package.layers`` (what the pods fetch into ``/opt``).

``State`` and ``LastUpdateStatus`` come from the operator's ``Ready`` condition and
``observedGeneration``; ``RevisionId`` from the resource's uid and ``metadata.generation`` (so a
``kubectl apply`` that changes the spec changes it too, a status update does not).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kumo.kube.published import LAYERS_ANNOTATION, PUBLISH_REQUEST_ANNOTATION, function_layers, lambda_timestamp
from kumo.models import Function
from kumo.packages.code_store import PackageRef
from kumo_gateway.lambda_.function_requests import FunctionSettings
from kumo_gateway.lambda_.layer_versions import LayerVersion

#: A function's layer: its version ARN and the version it names.
FunctionLayer = tuple[str, LayerVersion]

SETTINGS_ANNOTATION = "lambda.kumo.dev/settings"
TAGS_ANNOTATION = "lambda.kumo.dev/tags"
MODIFIED_ANNOTATION = "lambda.kumo.dev/last-modified"
#: Set on Functions created through the Lambda API (informational: what may be changed is decided by the code).
MANAGED_BY = ("app.kubernetes.io/managed-by", "kumo-lambda-api")
API_VERSION = "kumo.dev/v1alpha1"


@dataclass(frozen=True)
class LambdaState:
    state: str
    reason: str = ""
    reason_code: str = ""
    last_update: str = "Successful"
    last_update_reason: str = ""
    last_update_reason_code: str = ""


def _ready_condition(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == "Ready":
            return condition
    return None


def lambda_state(obj: Mapping[str, Any]) -> LambdaState:
    """Lambda's ``State`` / ``LastUpdateStatus`` of a Function resource, from what the operator reported.

    No ``Ready`` condition yet: ``Pending``. ``Ready`` True: ``Active`` (``LastUpdateStatus`` ``InProgress``
    until the operator has seen the current generation). ``Ready`` False for the current generation:
    ``Failed`` with the operator's reason (``PackageNotFound``, ``CodeStoreUnavailable``, ``InvalidSpec`` …).
    """
    ready = _ready_condition(obj)
    generation = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    current = generation is None or observed == generation
    if ready is None:
        return LambdaState("Pending", "The function is being created.", "Creating", "InProgress")
    if ready.get("status") == "True":
        if current:
            return LambdaState("Active")
        return LambdaState("Active", last_update="InProgress", last_update_reason="The function is being updated.")
    if not current:
        return LambdaState("Pending", "The function is being created.", "Creating", "InProgress")
    reason, message = str(ready.get("reason") or "Failed"), str(ready.get("message") or "")
    return LambdaState("Failed", message, reason, "Failed", message, reason)


def revision_id(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    seed = f"{meta.get('uid', '')}\n{meta.get('generation', 0)}"
    return str(uuid.UUID(hashlib.sha256(seed.encode()).hexdigest()[:32]))


def package_of(obj: Mapping[str, Any]) -> PackageRef | None:
    """The ``code.package`` of a Function resource (``None``: inline, ConfigMap or image code)."""
    package = ((obj.get("spec") or {}).get("code") or {}).get("package")
    if not isinstance(package, Mapping):
        return None
    try:
        return PackageRef(str(package.get("sha256")), int(package.get("size") or 0))
    except (ValueError, TypeError):
        return None


def _annotation_json(obj: Mapping[str, Any], key: str) -> dict[str, Any]:
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(key)
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def tags_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in _annotation_json(obj, TAGS_ANNOTATION).items()}


def layers_of(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``Layers`` as GetFunction shows them: ``[{"Arn", "CodeSize"}]`` (given through the API)."""
    return function_layers(obj)


def extra_settings(obj: Mapping[str, Any]) -> dict[str, str]:
    """``role``, ``description``, ``architecture`` as the API stored them (absent keys: not set)."""
    return {k: str(v) for k, v in _annotation_json(obj, SETTINGS_ANNOTATION).items() if isinstance(v, str)}


def last_modified(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    stamp = (meta.get("annotations") or {}).get(MODIFIED_ANNOTATION)
    if stamp:
        return str(stamp)
    try:
        created = dt.datetime.fromisoformat(str(meta.get("creationTimestamp")).replace("Z", "+00:00"))
    except ValueError:
        return "1970-01-01T00:00:00.000+0000"
    return lambda_timestamp(created)


def settings_of(obj: Mapping[str, Any], function: Function) -> FunctionSettings:
    """The settings the API changes, read from a Function resource (created by the API or by kubectl)."""
    spec, extra = function.spec, extra_settings(obj)
    return FunctionSettings(
        runtime=spec.runtime,
        handler=spec.handler,
        role=extra.get("role", ""),
        description=extra.get("description", ""),
        memory=int(spec.memory),
        timeout=int(spec.timeout),
        environment=dict(spec.environment),
        architecture=extra.get("architecture", "x86_64"),
        ephemeral_storage=int(spec.ephemeral_storage),
        layers=tuple(layer["Arn"] for layer in layers_of(obj)),
    )


def _apply_layers(body: dict[str, Any], layers: list[FunctionLayer]) -> None:
    """The layers' archives into ``code.package.layers`` (in order), their ARNs into the annotation."""
    body["spec"]["code"]["package"]["layers"] = [{"sha256": v.sha256, "size": v.size} for _, v in layers]
    shown = [{"Arn": arn, "CodeSize": v.size} for arn, v in layers]
    _annotations(body)[LAYERS_ANNOTATION] = json.dumps(shown)


def _apply_settings(body: dict[str, Any], settings: FunctionSettings) -> None:
    spec = body.setdefault("spec", {})
    spec.update(
        runtime=settings.runtime,
        handler=settings.handler,
        environment=dict(settings.environment),
        memory=settings.memory,
        timeout=settings.timeout,
        ephemeralStorage=settings.ephemeral_storage,
    )
    extra = {"role": settings.role, "description": settings.description, "architecture": settings.architecture}
    _annotations(body)[SETTINGS_ANNOTATION] = json.dumps(extra, sort_keys=True)


def _annotations(body: dict[str, Any]) -> dict[str, str]:
    meta = body.setdefault("metadata", {})
    if not isinstance(meta.get("annotations"), dict):
        meta["annotations"] = {}
    return meta["annotations"]


def new_function(
    name: str,
    namespace: str,
    settings: FunctionSettings,
    package: PackageRef,
    tags: Mapping[str, str],
    now: str,
    layers: list[FunctionLayer] | None = None,
) -> dict[str, Any]:
    """The Function resource ``CreateFunction`` creates."""
    body: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "Function",
        "metadata": {"name": name, "namespace": namespace, "labels": {MANAGED_BY[0]: MANAGED_BY[1]}},
        "spec": {"code": {"package": {"sha256": package.sha256, "size": package.size}}},
    }
    _apply_settings(body, settings)
    _annotations(body).update({TAGS_ANNOTATION: json.dumps(dict(tags), sort_keys=True), MODIFIED_ANNOTATION: now})
    if layers:
        _apply_layers(body, layers)
    return body


def _writable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy to PUT back: the status is the operator's (the API server ignores it on the main resource)."""
    body = copy.deepcopy(dict(obj))
    body.pop("status", None)
    return body


def with_settings(
    obj: Mapping[str, Any], settings: FunctionSettings, now: str, layers: list[FunctionLayer] | None = None
) -> dict[str, Any]:
    """The resource with new settings; ``layers`` (``None``: unchanged) replaces the package's layers."""
    body = _writable(obj)
    _apply_settings(body, settings)
    if layers is not None:
        _apply_layers(body, layers)
    _annotations(body)[MODIFIED_ANNOTATION] = now
    return body


def with_package(obj: Mapping[str, Any], package: PackageRef, now: str) -> dict[str, Any]:
    """The resource with new code; the package's layers (``kumo deploy``) are kept."""
    body = _writable(obj)
    stored = body["spec"]["code"]["package"]
    stored.update(sha256=package.sha256, size=package.size)
    _annotations(body)[MODIFIED_ANNOTATION] = now
    return body


def publish_token() -> str:
    return uuid.uuid4().hex


def with_publish_request(body: dict[str, Any], token: str) -> dict[str, Any]:
    """Ask the operator to publish one version of this spec (``kumo/kube/published.py``)."""
    _annotations(body)[PUBLISH_REQUEST_ANNOTATION] = token
    return body


def with_tags(obj: Mapping[str, Any], tags: Mapping[str, str]) -> dict[str, Any]:
    body = _writable(obj)
    _annotations(body)[TAGS_ANNOTATION] = json.dumps(dict(tags), sort_keys=True)
    return body
