"""The Lambda management API's view of the watched Function resources: ``State``, role, code hash ….

:class:`WatchedFunctions` reads the provider's watch (``KubernetesProvider.objects``), so GetFunction
and ListFunctions show what the operator reported: ``Pending`` until the Function is ``Ready``
(``kubernetes/function_objects.py``), whether or not the gateway can also write Functions
(:class:`~kumo_gateway.kubernetes.api_functions.ClusterFunctions` extends it with a code store).
"""

from __future__ import annotations

import base64
from typing import Any

from kumo.catalog import Catalog
from kumo.kube.published import layers_shown
from kumo_gateway.kubernetes import function_objects as objects


class WatchedFunctions:
    """A :class:`~kumo_gateway.lambda_.function_writer.FunctionView` over the watched Functions of one namespace."""

    def __init__(self, catalog: Catalog, provider: Any, namespace: str) -> None:
        #: ``provider``: the :class:`KubernetesProvider` (its ``objects``).
        self.catalog, self.provider, self.namespace = catalog, provider, namespace

    def _object(self, name: str) -> dict[str, Any] | None:
        obj = self.provider.objects.get(name)
        if obj is None or ((obj.get("metadata") or {}).get("namespace") or "default") != self.namespace:
            return None
        return obj

    def owns(self, name: str) -> bool:
        return self._object(name) is not None

    def overlay(self, name: str) -> dict[str, Any]:
        obj = self._object(name) or {}
        extra, state = objects.extra_settings(obj), objects.lambda_state(obj)
        fields: dict[str, Any] = {
            "Role": extra.get("role") or f"arn:aws:iam::{self.catalog.account_id}:role/kumo-function",
            "Description": extra.get("description", ""),
            "Architectures": [extra.get("architecture", "x86_64")],
            "LastModified": objects.last_modified(obj),
            "RevisionId": objects.revision_id(obj),
            "State": state.state,
            "LastUpdateStatus": state.last_update,
            "Layers": objects.layers_of(obj),
        }
        package = objects.package_of(obj)
        if package is not None:
            fields |= {"CodeSha256": _base64_sha(package.sha256), "CodeSize": package.size}
        if state.state != "Active":
            fields |= {"StateReason": state.reason, "StateReasonCode": state.reason_code}
        if state.last_update != "Successful" and state.last_update_reason:
            fields["LastUpdateStatusReason"] = state.last_update_reason
            if state.last_update_reason_code:
                fields["LastUpdateStatusReasonCode"] = state.last_update_reason_code
        return fields

    def version_overlay(self, name: str, version: str) -> dict[str, Any]:
        """A published version's ``Layers``, as the operator recorded them when it published it."""
        for record in ((self._object(name) or {}).get("status") or {}).get("versions") or []:
            if isinstance(record, dict) and str(record.get("version")) == version:
                return {"Layers": layers_shown(record.get("layers"))}
        return {}


def _base64_sha(sha256_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()
