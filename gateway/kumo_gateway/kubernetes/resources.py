"""Function and Api objects as the API server returns them -> what the gateway serves (pure)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kumo.kube.names import published_label, version_child_name
from kumo.kube.published import apply_spec_aliases, registry_from_status
from kumo.manifests import ManifestError, parse_manifest
from kumo.models import Api, Function
from kumo.scaling.decisions import effective_max_instances
from kumo.scaling.signals import field_for
from kumo.versions import FunctionVersions

log = logging.getLogger("kumo.gateway.kubernetes")


@dataclass(frozen=True)
class FunctionVersion:
    """The version of a Function requests go to, and the limits the gateway applies to it."""

    namespace: str
    name: str
    version: str
    max_instances: int
    timeout_s: float

    @property
    def deployment(self) -> str:
        """The Deployment and Service of this version (``<fn>-<version>``, as the operator names them)."""
        return version_child_name(self.name, self.version)

    @property
    def signal_field(self) -> str:
        """The field of this version in the load reports (``<ns>/<fn>/<version>``)."""
        return field_for(self.namespace, self.name, self.version)


def is_ready(obj: Mapping[str, Any]) -> bool:
    """``status.conditions[Ready]`` is ``True``."""
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def _model_input(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
        "spec": dict(obj.get("spec") or {}),
    }


def parsed_function(obj: Mapping[str, Any]) -> Function | None:
    """The Function model of a watched object, Ready or not; ``None`` when it does not validate (logged)."""
    try:
        function = parse_manifest(_model_input(obj))
    except ManifestError as exc:
        log.warning("ignoring Function: %s", exc)
        return None
    return function if isinstance(function, Function) else None


def served_function(obj: Mapping[str, Any]) -> tuple[Function, FunctionVersion] | None:
    """The model and current version of a Ready Function with ``status.version``; ``None`` otherwise."""
    version = (obj.get("status") or {}).get("version")
    if not is_ready(obj) or not isinstance(version, str) or not version:
        return None
    try:
        function = parse_manifest(_model_input(obj))
    except ManifestError as exc:
        log.warning("ignoring Function: %s", exc)
        return None
    if not isinstance(function, Function):
        return None
    spec = function.spec
    return function, FunctionVersion(
        namespace=(obj.get("metadata") or {}).get("namespace") or "default",
        name=function.metadata.name,
        version=version,
        max_instances=effective_max_instances(spec.scaling.max_instances, spec.concurrency.reserved),
        timeout_s=float(spec.timeout),
    )


def served_api(obj: Mapping[str, Any]) -> Api | None:
    """The Api model, or ``None`` when the object does not validate (logged)."""
    try:
        api = parse_manifest(_model_input(obj))
    except ManifestError as exc:
        log.warning("ignoring Api: %s", exc)
        return None
    return api if isinstance(api, Api) else None


@dataclass(frozen=True)
class ServedVersions:
    """A Function's published versions (``status.versions``) and aliases (``spec.aliases``)."""

    #: For ``Catalog.set_versions``: what ``Catalog.resolve`` and the management calls see.
    registry: FunctionVersions
    #: Published version number -> its Deployment (``<fn>-v<N>``) and limits.
    deployments: dict[str, FunctionVersion]


def served_versions(obj: Mapping[str, Any], function: Function, current: FunctionVersion) -> ServedVersions:
    """The published versions and aliases of a served Function (aliases the rules refuse are logged, skipped)."""
    records = (obj.get("status") or {}).get("versions") or []
    registry = registry_from_status(function.spec, [r for r in records if isinstance(r, Mapping)])
    for problem in apply_spec_aliases(registry, function.spec):
        log.warning("function %s: %s", function.metadata.name, problem)
    deployments = {
        number: FunctionVersion(
            namespace=current.namespace,
            name=current.name,
            version=published_label(number),
            max_instances=current.max_instances,
            timeout_s=float(published.snapshot.spec.timeout),
        )
        for number, published in registry.versions.items()
    }
    return ServedVersions(registry, deployments)
