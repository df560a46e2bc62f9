"""A realistic Kubernetes API server emulator for tests, built on KMock.

``kmock.KubernetesEmulator`` + ``kmock.Server`` provide the HTTP server and the
bundled catalogue of built-in resources; this subclass routes every request to
``store.Store`` (API-server semantics) and adds what kopf, kubectl and helm
need: discovery that follows CRDs, ``/openapi/v3`` advertising server-side field
validation, watches resumable from a resourceVersion, ``/status`` and
``/scale`` subresources, Table output, and Status-shaped errors. See
docs/testing-kubernetes.md for what is emulated and what is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
from typing import Any

import aiohttp.web
import attrs
import discovery
import kmock
import label_selectors
import protobuf_codec
import yaml
from access import AccessControl
from api_types import ApiError, ApiPath, ResourceType, WatchEvent, parse_api_path
from store import Store

SERVER_VERSION = {
    "major": "1",
    "minor": "35",
    "gitVersion": "v1.35.0-kumo-emulator",
    "platform": "linux/amd64",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.25",
    "compiler": "gc",
}
DEFAULT_WATCH_TIMEOUT = 1800.0
PROTOBUF = "application/vnd.kubernetes.protobuf"


def _table(rt: ResourceType, items: list[dict[str, Any]], rv: int) -> dict[str, Any]:
    """The ``meta.k8s.io/v1 Table`` kubectl asks for (Name + Age columns)."""
    now = datetime.datetime.now(datetime.UTC)

    def age(obj: dict[str, Any]) -> str:
        created = datetime.datetime.fromisoformat(obj["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
        seconds = int((now - created).total_seconds())
        return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"

    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": str(rv)},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0},
            {"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0},
        ],
        "rows": [
            {
                "cells": [obj["metadata"]["name"], age(obj)],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj["metadata"],
                },
            }
            for obj in items
        ],
    }


def _scale(obj: dict[str, Any]) -> dict[str, Any]:
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    meta = {k: obj["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": meta,
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        },
    }


@attrs.define(kw_only=True)
class ApiServerEmulator(kmock.KubernetesEmulator):
    """KMock's emulator with every Kubernetes request answered from a ``Store``."""

    store: Store = attrs.field(factory=Store)
    access_control: AccessControl = attrs.field(factory=AccessControl)
    _changed: asyncio.Event | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.resources.load_bundled()
        for res in self.resources:
            info = self.resources[res]
            self.store.add_type(
                ResourceType(
                    group=res.group,
                    version=res.version,
                    plural=res.plural,
                    kind=info.kind or res.plural,
                    namespaced=bool(info.namespaced),
                    singular=info.singular or "",
                    short_names=sorted(info.shortnames),
                    categories=sorted(info.categories),
                    verbs=sorted(info.verbs) or ResourceType("", "", "", "", False).verbs,
                    subresources=set(info.subresources),
                )
            )
        namespaces = self.store.find_type("", "v1", "namespaces")
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.store.create(namespaces, None, {"metadata": {"name": name}, "status": {"phase": "Active"}})

    async def __call__(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        try:
            headers = raw.headers
            self.access_control.check(
                headers.get("Authorization"), raw.method, raw.path, raw.query, headers.get("Impersonate-User")
            )
            return await self._route(raw)
        except ApiError as exc:
            return aiohttp.web.json_response(exc.status(), status=exc.code)

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
        self._changed = asyncio.Event()

    # --- routing -------------------------------------------------------------------
    async def _route(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        path = raw.path
        if path == "/version":
            return aiohttp.web.json_response(SERVER_VERSION)
        if path.startswith("/openapi/"):
            return aiohttp.web.json_response(discovery.openapi(list(self.store.types.values()), self.store.rv, path))
        parsed = parse_api_path(path)
        if parsed is None:
            if path in ("/", "/healthz", "/readyz", "/livez"):
                return aiohttp.web.Response(text="ok")
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if raw.method == "GET" and parsed.plural is None:
            return aiohttp.web.json_response(discovery.discovery(list(self.store.types.values()), parsed))
        assert parsed.version is not None and parsed.plural is not None
        rt = self.store.find_type(parsed.group, parsed.version, parsed.plural)
        if parsed.subresource and parsed.subresource not in rt.subresources:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if rt.namespaced is False and parsed.namespace:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        query = raw.query
        if raw.method == "GET" and query.get("watch") in ("true", "1"):
            return await self._watch(raw, rt, parsed)
        body = await self._body(raw)
        result = self._dispatch(raw.method, raw.headers.get("Content-Type", ""), query, rt, parsed, body)
        self._notify()
        if "as=Table" in raw.headers.get("Accept", "") and result.get("kind", "").endswith("List"):
            result = _table(rt, result["items"], int(result["metadata"]["resourceVersion"]))
        created = raw.method == "POST" or (raw.method == "PATCH" and result.pop("_created", False))
        return aiohttp.web.json_response(result, status=201 if created else 200)

    async def _body(self, raw: aiohttp.web.BaseRequest) -> Any:
        data = await raw.read()
        content_type = raw.headers.get("Content-Type", "")
        if not data:
            return None
        if content_type.startswith(PROTOBUF):
            try:
                return protobuf_codec.decode(data)
            except (ValueError, IndexError, AssertionError) as exc:
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: "
                    f"application/json, application/yaml (protobuf is decoded only for a few kinds: {exc})",
                ) from exc
        try:
            if "yaml" in content_type:
                return yaml.safe_load(data)
            return json.loads(data)
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, "BadRequest", f"the request body could not be decoded: {exc}") from exc

    def _dispatch(
        self, method: str, content_type: str, query: Any, rt: ResourceType, p: ApiPath, body: Any
    ) -> dict[str, Any]:
        store, strict = self.store, query.get("fieldValidation") == "Strict"
        if p.name is None:
            if method == "GET":
                items, rv = store.list(rt, p.namespace, query.get("labelSelector"), query.get("fieldSelector"))
                return {
                    "kind": f"{rt.kind}List",
                    "apiVersion": rt.api_version,
                    "metadata": {"resourceVersion": str(rv)},
                    "items": items,
                }
            if method == "POST":
                return store.create(rt, p.namespace, body, strict=strict, dry_run=query.get("dryRun") == "All")
            if method == "DELETE":
                items, rv = store.list(rt, p.namespace, query.get("labelSelector"), query.get("fieldSelector"))
                deleted = [store.delete(rt, p.namespace, o["metadata"]["name"]) for o in items]
                return {
                    "kind": f"{rt.kind}List",
                    "apiVersion": rt.api_version,
                    "metadata": {"resourceVersion": str(store.rv)},
                    "items": deleted,
                }
            raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on {rt.qualified}")
        if p.subresource == "scale":
            return self._scale(method, content_type, rt, p, body)
        if method == "GET":
            return store.get(rt, p.namespace, p.name)
        if method == "PUT":
            return store.replace(rt, p.namespace, p.name, body, p.subresource, strict=strict)
        if method == "PATCH":
            if content_type.startswith("application/apply-patch") and isinstance(body, dict):
                key = (p.namespace if rt.namespaced else None, p.name)
                if key not in store.objects[(rt.group, rt.plural)]:
                    return store.create(rt, p.namespace, body, strict=strict) | {"_created": True}
            return store.patch(rt, p.namespace, p.name, content_type, body, p.subresource, strict)
        if method == "DELETE":
            options = body if isinstance(body, dict) else {}
            propagation = query.get("propagationPolicy") or options.get("propagationPolicy") or "Background"
            return store.delete(rt, p.namespace, p.name, propagation)
        raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on {rt.qualified}")

    def _scale(self, method: str, content_type: str, rt: ResourceType, p: ApiPath, body: Any) -> dict[str, Any]:
        assert p.name is not None
        current = _scale(self.store.get(rt, p.namespace, p.name))
        if method == "GET":
            return current
        if method == "PUT":
            wanted = body
        elif method == "PATCH":
            probe = Store()  # reuse the patch logic on the Scale object alone
            wanted = probe_patch(probe, current, content_type, body)
        else:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on scale")
        replicas = ((wanted or {}).get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise ApiError(
                422,
                "Invalid",
                f'Scale.autoscaling "{p.name}" is invalid: spec.replicas: Invalid '
                f"value: {json.dumps(replicas)}: must be a non-negative integer",
                {
                    "name": p.name,
                    "group": "autoscaling",
                    "kind": "Scale",
                    "causes": [
                        {
                            "reason": "FieldValueInvalid",
                            "field": "spec.replicas",
                            "message": "must be a non-negative integer",
                        }
                    ],
                },
            )
        patch = {"spec": {"replicas": replicas}}
        return _scale(self.store.patch(rt, p.namespace, p.name, "application/merge-patch+json", patch))

    # --- watch ---------------------------------------------------------------------
    async def _watch(self, raw: aiohttp.web.BaseRequest, rt: ResourceType, p: ApiPath) -> aiohttp.web.StreamResponse:
        query = raw.query
        fields = query.get("fieldSelector") or ""
        if p.name:
            fields = ",".join(filter(None, [fields, f"metadata.name={p.name}"]))
        try:
            labels = label_selectors.parse_label_selector(query.get("labelSelector"))
            field_reqs = label_selectors.parse_field_selector(fields)
        except label_selectors.SelectorError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from exc
        start = query.get("resourceVersion") or "0"
        if not start.isdigit():
            raise ApiError(400, "BadRequest", f"invalid resourceVersion: {start!r}")
        rv = int(start)
        self.store.events_after(rv)  # raises 410 Gone before the stream starts
        timeout = float(query.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(raw)

        def visible(obj: dict[str, Any] | None) -> bool:
            return (
                obj is not None
                and (not p.namespace or obj["metadata"].get("namespace") == p.namespace)
                and (label_selectors.matches(obj, labels, field_reqs))
            )

        async def send(kind: str, obj: dict[str, Any]) -> None:
            await response.write(json.dumps({"type": kind, "object": obj}).encode() + b"\n")

        with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
            if rv == 0:
                items, rv = self.store.list(rt, p.namespace, query.get("labelSelector"), fields)
                for obj in items:
                    await send("ADDED", obj)
            while loop.time() < deadline:
                try:
                    events = self.store.events_after(rv)
                except ApiError as exc:
                    await send("ERROR", exc.status())
                    break
                for event in events:
                    rv = event.rv
                    for kind, obj in _translate(event, rt, visible):
                        await send(kind, obj)
                if self._changed is None:
                    self._notify()
                changed = self._changed
                assert changed is not None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), max(0.0, deadline - loop.time()))
            if query.get("allowWatchBookmarks") in ("true", "1"):
                await send(
                    "BOOKMARK",
                    {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {"resourceVersion": str(rv)}},
                )
            await response.write_eof()
        return response

    # --- discovery & openapi ---------------------------------------------------------


def probe_patch(probe: Store, current: dict[str, Any], content_type: str, body: Any) -> dict[str, Any]:
    """Apply a patch to a free-standing object (used for Scale, which is not stored)."""
    rt = ResourceType("autoscaling", "v1", "scales", "Scale", namespaced=False)
    probe.add_type(rt)
    meta = dict(current["metadata"])
    meta.pop("namespace", None)
    probe.objects[("autoscaling", "scales")][(None, meta["name"])] = current | {"metadata": meta}
    return probe.patch(rt, None, meta["name"], content_type, body)


def _translate(event: WatchEvent, rt: ResourceType, visible: Any) -> list[tuple[str, dict[str, Any]]]:
    """Map a store event onto what one watcher sees (selector transitions become ADDED/DELETED)."""
    if (event.group, event.plural) != (rt.group, rt.plural):
        return []
    obj = event.obj | {"apiVersion": rt.api_version}
    now_in, was_in = visible(obj), visible(event.old)
    if event.type == "MODIFIED" and now_in and not was_in:
        return [("ADDED", obj)]
    if event.type == "MODIFIED" and was_in and not now_in:
        return [("DELETED", obj)]
    return [(event.type, obj)] if now_in else []
