"""Kumo's one Kubernetes API client: async JSON requests, the scale subresource, and list+watch loops.

Credentials come from :func:`kumo.kube.config.load_configuration` (in-cluster service account, else
the kubeconfig); requests go through one ``httpx.AsyncClient``, so create a :class:`KubeClient` inside
the event loop that uses it and ``await aclose()`` it there. Paths and event handling are pure
functions (:func:`collection_path`, :func:`object_path`, :func:`watch_step`).
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

log = logging.getLogger("kumo.kube")

OnReset = Callable[[list[dict[str, Any]]], None]
OnEvent = Callable[[str, dict[str, Any]], None]

#: kind -> (apiVersion, plural) for every kind Kumo reads or writes.
KINDS: dict[str, tuple[str, str]] = {
    "ConfigMap": ("v1", "configmaps"),
    "Secret": ("v1", "secrets"),
    "Service": ("v1", "services"),
    "Event": ("v1", "events"),
    "Deployment": ("apps/v1", "deployments"),
    "StatefulSet": ("apps/v1", "statefulsets"),
    "PodDisruptionBudget": ("policy/v1", "poddisruptionbudgets"),
    "EndpointSlice": ("discovery.k8s.io/v1", "endpointslices"),
    "Function": ("kumo.dev/v1alpha1", "functions"),
    "Table": ("kumo.dev/v1alpha1", "tables"),
    "Api": ("kumo.dev/v1alpha1", "apis"),
}
#: Watch event types handed to ``on_event``.
CHANGES = ("ADDED", "MODIFIED", "DELETED")


class KubeError(RuntimeError):
    """A failed API request (other than 404 on a read, which is ``None``)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(f"{status}: {message}")


# ---- paths (pure) -------------------------------------------------------------------------------


def api_root(api_version: str) -> str:
    """``/api/v1`` for the core group, else ``/apis/<group>/<version>``."""
    return "/api/v1" if api_version == "v1" else f"/apis/{api_version}"


def collection_path(kind: str, namespace: str | None = None) -> str:
    """``<root>[/namespaces/<ns>]/<plural>`` (every namespace when ``namespace`` is None)."""
    api_version, plural = KINDS[kind]
    root = api_root(api_version)
    return f"{root}/namespaces/{namespace}/{plural}" if namespace else f"{root}/{plural}"


def object_path(kind: str, namespace: str, name: str, subresource: str | None = None) -> str:
    path = f"{collection_path(kind, namespace)}/{name}"
    return f"{path}/{subresource}" if subresource else path


def scale_path(namespace: str, deployment: str) -> str:
    return object_path("Deployment", namespace, deployment, "scale")


# ---- watch events (pure) ------------------------------------------------------------------------


class Gone(Exception):
    """The watch's resourceVersion is too old (410 Gone): list again."""


def watch_step(event: dict[str, Any], resource_version: str) -> tuple[str | None, str]:
    """``(type to hand on or None, resourceVersion to resume from)`` for one watch event.

    BOOKMARKs only move the resourceVersion; an ERROR raises :class:`Gone` for code 410, else
    :class:`KubeError`.
    """
    kind, obj = event.get("type"), event.get("object") or {}
    if kind == "ERROR":
        code = int(obj.get("code") or 500)
        if code == 410:
            raise Gone(str(obj.get("message")))
        raise KubeError(code, str(obj.get("message")))
    resource_version = str((obj.get("metadata") or {}).get("resourceVersion") or resource_version)
    return (kind if kind in CHANGES else None), resource_version


def error_message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text


# ---- the client ---------------------------------------------------------------------------------


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
        #: The HTTP client (public so tests and callers can add event hooks).
        self.http = httpx.AsyncClient(
            base_url=c.host, verify=verify, cert=cert, headers=headers, timeout=httpx.Timeout(30.0)
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def request(
        self, method: str, path: str, body: Any = None, *, content_type: str = "application/json", **params: str
    ) -> dict[str, Any] | None:
        """The JSON answer; ``None`` for 404; :class:`KubeError` for other failures."""
        content = json.dumps(body) if body is not None else None
        headers = {"Content-Type": content_type} if content is not None else None
        response = await self.http.request(method, path, content=content, params=params or None, headers=headers)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise KubeError(response.status_code, error_message(response))
        return response.json() if response.content else {}

    async def get(self, path: str) -> dict[str, Any] | None:
        return await self.request("GET", path)

    async def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        params = {"labelSelector": label_selector} if label_selector else {}
        answer = await self.request("GET", path, **params) or {}
        return list(answer.get("items") or [])

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self.request("POST", path, body)
        if answer is None:
            raise KubeError(404, f"cannot create in {path}: namespace or resource not found")
        return answer

    async def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """A JSON merge patch; ``None`` when the object does not exist."""
        return await self.request("PATCH", path, body, content_type=MERGE_PATCH)

    async def delete(self, path: str) -> bool:
        """True if something was deleted (False when it was already gone); dependents go in the background."""
        return await self.request("DELETE", path, {"propagationPolicy": "Background"}) is not None

    async def get_scale(self, namespace: str, deployment: str) -> int | None:
        """``spec.replicas`` of the Deployment's Scale, or ``None`` when the Deployment does not exist."""
        scale = await self.get(scale_path(namespace, deployment))
        return None if scale is None else int((scale.get("spec") or {}).get("replicas") or 0)

    async def set_scale(self, namespace: str, deployment: str, replicas: int) -> None:
        if await self.patch(scale_path(namespace, deployment), {"spec": {"replicas": replicas}}) is None:
            raise KubeError(404, f"deployment {namespace}/{deployment} not found")

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
        """List ``path`` (``on_reset`` with every item), then follow its watch (``on_event``) until cancelled.

        Each watch request resumes from the last resourceVersion seen (bookmarks included); 410 Gone
        (HTTP or an ERROR event) relists at once, other failures relist after a capped backoff.
        ``synced`` is set after the first successful list.
        """
        backoff = 0.2
        while True:
            try:
                listed = await self.request("GET", path)
                if listed is None:
                    raise KubeError(404, f"{path} not found (CRDs installed?)")
                on_reset(list(listed.get("items") or []))
                if synced is not None:
                    synced.set()
                backoff = 0.2
                rv = str((listed.get("metadata") or {}).get("resourceVersion") or "0")
                while True:
                    rv = await self._watch_once(path, rv, on_event, watch_timeout_s)
            except asyncio.CancelledError:
                raise
            except Gone as exc:
                log.info("watch %s: %s; relisting", path, exc)
            except Exception as exc:  # a watch must survive the API server going away
                log.warning("watch %s failed: %s; relisting in %.1fs", path, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(max_backoff_s, backoff * 2)

    async def _watch_once(self, path: str, rv: str, on_event: OnEvent, timeout_s: int) -> str:
        """One watch request from ``rv``; returns the resourceVersion to resume from."""
        params = {
            "watch": "true",
            "resourceVersion": rv,
            "timeoutSeconds": str(timeout_s),
            "allowWatchBookmarks": "true",
        }
        path, _, query = path.partition("?")  # keep a list path's own query (labelSelector=...)
        params = dict(httpx.QueryParams(query)) | params
        timeout = httpx.Timeout(10.0, read=timeout_s + 30.0)
        async with self.http.stream("GET", path, params=params, timeout=timeout) as response:
            if response.status_code == 410:
                raise Gone(f"resourceVersion {rv} is too old")
            if response.status_code >= 400:
                await response.aread()
                raise KubeError(response.status_code, error_message(response))
            async for line in response.aiter_lines():
                if line.strip():
                    event = json.loads(line)
                    kind, rv = watch_step(event, rv)
                    if kind is not None:
                        on_event(kind, event.get("object") or {})
        return rv
