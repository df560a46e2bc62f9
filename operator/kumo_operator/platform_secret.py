"""The platform credential in the namespaces of runtime and partition pods.

The chart generates ``<release>-platform-credential`` in the release namespace and gives it to the
operator and the gateway. A ``secretKeyRef`` reaches only the pod's own namespace, so the operator
keeps a copy, ``kumo-platform-credential``, in each namespace that has Functions or Tables
(:func:`ensure_platform_secret`; its data is put back if it drifts), and every runtime and partition
container reads ``KUMO_PLATFORM_CREDENTIAL`` from it (:func:`platform_credential_env`). The runtime
host checks it on the pod's invoke endpoint and does not pass it to the function's process
(:mod:`kumo.runtime.environment`).
"""

from __future__ import annotations

import base64
from typing import Any

from kumo import platform_credential
from kumo.kube.client import KubeClient
from kumo.kube.names import MANAGED_BY, MANAGED_BY_LABEL
from kumo_operator.apply import ensure

SECRET_NAME = "kumo-platform-credential"


def build_platform_secret(namespace: str, credential: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET_NAME, "namespace": namespace, "labels": {MANAGED_BY_LABEL: MANAGED_BY}},
        "type": "Opaque",
        "data": {platform_credential.SECRET_KEY: base64.b64encode(credential.encode()).decode()},
    }


def platform_credential_env(credential: str | None) -> list[dict[str, Any]]:
    """The container ``env`` entry reading the credential from the namespace's copy (none without one)."""
    if not credential:
        return []
    ref = {"name": SECRET_NAME, "key": platform_credential.SECRET_KEY}
    return [{"name": platform_credential.ENV_VAR, "valueFrom": {"secretKeyRef": ref}}]


async def ensure_platform_secret(kube: KubeClient, namespace: str, credential: str | None) -> None:
    """Create or correct the namespace's copy (nothing when the operator has no credential)."""
    if credential:
        await ensure(kube, build_platform_secret(namespace, credential))
