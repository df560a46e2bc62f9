"""A small JSON client for the Kubernetes API (I/O only): get, list, create, merge-patch, delete by path.

Credentials come from the ``kubernetes`` package's loaders (in-cluster service account, else
``KUBECONFIG``); requests go through ``httpx``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from kubernetes.client import Configuration

from kumo.kube.config import MERGE_PATCH, load_configuration

#: kind -> (apiVersion, plural) for every kind the operator writes.
KINDS: dict[str, tuple[str, str]] = {
    "ConfigMap": ("v1", "configmaps"),
    "Service": ("v1", "services"),
    "Event": ("v1", "events"),
    "Deployment": ("apps/v1", "deployments"),
    "StatefulSet": ("apps/v1", "statefulsets"),
    "PodDisruptionBudget": ("policy/v1", "poddisruptionbudgets"),
    "Function": ("kumo.dev/v1alpha1", "functions"),
    "Table": ("kumo.dev/v1alpha1", "tables"),
    "Api": ("kumo.dev/v1alpha1", "apis"),
}


class KubeError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(f"{status}: {message}")


def collection_path(kind: str, namespace: str) -> str:
    api_version, plural = KINDS[kind]
    root = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    return f"{root}/namespaces/{namespace}/{plural}"


def object_path(kind: str, namespace: str, name: str, subresource: str | None = None) -> str:
    path = f"{collection_path(kind, namespace)}/{name}"
    return f"{path}/{subresource}" if subresource else path


class Kube:
    """Synchronous JSON requests to one API server (safe to share between threads)."""

    def __init__(self, configuration: Configuration | None = None) -> None:
        self.configuration = configuration or load_configuration()
        c = self.configuration
        verify: Any = c.ssl_ca_cert or c.verify_ssl
        cert = (c.cert_file, c.key_file) if c.cert_file else None
        self._client = httpx.Client(base_url=c.host, verify=verify, cert=cert, timeout=30)

    def close(self) -> None:
        self._client.close()

    def _headers(self, content_type: str | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        token = self.configuration.get_api_key_with_prefix(
            "authorization"
        ) or self.configuration.get_api_key_with_prefix("BearerToken")
        if token:
            headers["Authorization"] = token
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def request(
        self, method: str, path: str, body: Any = None, *, content_type: str = "application/json", **params: str
    ) -> dict[str, Any] | None:
        """The JSON answer; ``None`` for 404; :class:`KubeError` for other failures."""
        content = json.dumps(body) if body is not None else None
        response = self._client.request(
            method,
            path,
            content=content,
            params=params or None,
            headers=self._headers(content_type if content else None),
        )
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise KubeError(response.status_code, message)
        return response.json() if response.content else {}

    def get(self, path: str) -> dict[str, Any] | None:
        return self.request("GET", path)

    def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        params = {"labelSelector": label_selector} if label_selector else {}
        answer = self.request("GET", path, **params) or {}
        return list(answer.get("items") or [])

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.request("POST", path, body)
        if answer is None:
            raise KubeError(404, f"cannot create in {path}: namespace or resource not found")
        return answer

    def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        return self.request("PATCH", path, body, content_type=MERGE_PATCH)

    def delete(self, path: str) -> bool:
        """True if something was deleted (False when it was already gone)."""
        return self.request("DELETE", path, {"propagationPolicy": "Background"}) is not None
