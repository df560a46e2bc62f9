"""Kubernetes API I/O for the gateway: list+watch loops, and the Deployments' scale subresource.

Credentials come from the operator's loader (:func:`kumo_operator.kube.load_configuration`:
in-cluster service account, else ``KUBECONFIG``); requests go through one ``httpx.AsyncClient``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
from kubernetes.client import Configuration

from kumo.kube.config import MERGE_PATCH, load_configuration

log = logging.getLogger("kumo.gateway.kubernetes")

OnReset = Callable[[list[dict[str, Any]]], None]
OnEvent = Callable[[str, dict[str, Any]], None]


class KubeApiError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(f"{status}: {message}")


def collection_path(group_version: str, plural: str, namespace: str | None) -> str:
    """``/apis/<gv>[/namespaces/<ns>]/<plural>`` (``/api/v1/...`` for the core group)."""
    root = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    return f"{root}/namespaces/{namespace}/{plural}" if namespace else f"{root}/{plural}"


class KubeClient:
    """Async JSON requests and watch streams to one API server."""

    def __init__(self, configuration: Configuration | None = None) -> None:
        c = configuration or load_configuration()
        verify: Any = c.ssl_ca_cert or c.verify_ssl
        cert = (c.cert_file, c.key_file) if c.cert_file else None
        headers = {"Accept": "application/json"}
        token = c.get_api_key_with_prefix("authorization") or c.get_api_key_with_prefix("BearerToken")
        if token:
            headers["Authorization"] = token
        self._client = httpx.AsyncClient(
            base_url=c.host, verify=verify, cert=cert, headers=headers, timeout=httpx.Timeout(30.0)
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(self, method: str, path: str, body: Any = None, *, content_type: str = MERGE_PATCH) -> Any:
        """The JSON answer; ``None`` for 404; :class:`KubeApiError` otherwise on failure."""
        content = json.dumps(body) if body is not None else None
        headers = {"Content-Type": content_type} if content is not None else None
        response = await self._client.request(method, path, content=content, headers=headers)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise KubeApiError(response.status_code, message)
        return response.json() if response.content else {}

    async def list_and_watch(
        self,
        path: str,
        on_reset: OnReset,
        on_event: OnEvent,
        *,
        synced: asyncio.Event | None = None,
        watch_timeout_s: int = 300,
        max_backoff_s: float = 5.0,
    ) -> None:
        """List ``path`` (``on_reset`` with every item), then follow its watch (``on_event``) forever.

        Relists after 410 Gone or a failure (with capped backoff); ``synced`` is set after the first
        successful list. Runs until cancelled.
        """
        backoff = 0.2
        while True:
            try:
                listed = await self.request("GET", path)
                if listed is None:
                    raise KubeApiError(404, f"{path} not found (CRDs installed?)")
                on_reset(list(listed.get("items") or []))
                if synced is not None:
                    synced.set()
                backoff = 0.2
                rv = str((listed.get("metadata") or {}).get("resourceVersion") or "0")
                while rv:
                    rv = await self._watch_once(path, rv, on_event, watch_timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a watch must survive the API server going away
                log.warning("watch %s failed: %s; relisting in %.1fs", path, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(max_backoff_s, backoff * 2)

    async def _watch_once(self, path: str, rv: str, on_event: OnEvent, timeout_s: int) -> str:
        """One watch request; returns the resourceVersion to resume from, or ``""`` to relist."""
        params = {
            "watch": "true",
            "resourceVersion": rv,
            "timeoutSeconds": str(timeout_s),
            "allowWatchBookmarks": "true",
        }
        timeout = httpx.Timeout(10.0, read=timeout_s + 30.0)
        async with self._client.stream("GET", path, params=params, timeout=timeout) as response:
            if response.status_code == 410:
                return ""
            if response.status_code >= 400:
                await response.aread()
                raise KubeApiError(response.status_code, response.text[:200])
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        return ""
                    raise KubeApiError(int(obj.get("code") or 500), str(obj.get("message")))
                rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    on_event(kind, obj)
        return rv


class KubeScaler:
    """The ``deployments/<name>/scale`` subresource (implements :class:`kumo_gateway.kubernetes.waker.Scaler`)."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client

    @staticmethod
    def path(namespace: str, deployment: str) -> str:
        return f"{collection_path('apps/v1', 'deployments', namespace)}/{deployment}/scale"

    async def get_replicas(self, namespace: str, deployment: str) -> int | None:
        scale = await self.client.request("GET", self.path(namespace, deployment))
        if scale is None:
            return None
        return int((scale.get("spec") or {}).get("replicas") or 0)

    async def set_replicas(self, namespace: str, deployment: str, replicas: int) -> None:
        answer = await self.client.request("PATCH", self.path(namespace, deployment), {"spec": {"replicas": replicas}})
        if answer is None:
            raise KubeApiError(404, f"deployment {namespace}/{deployment} not found")
