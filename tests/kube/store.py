"""In-memory Kubernetes object store with API-server semantics (pure logic, no I/O).

Handles what kube-apiserver itself does for every object: uid, a global
resourceVersion counter, creationTimestamp, generation (bumped only when
anything but metadata/status changes), namespace defaulting, generateName,
optimistic concurrency (409 on a stale resourceVersion), status subresource
separation, finalizers + deletionTimestamp, owner-reference garbage collection,
namespace cascade, CRD registration with schema validation and pruning, and a
bounded event log for watches (410 Gone when a watch starts before it).
"""

from __future__ import annotations

import collections
import copy
import random
import string
import uuid
from typing import Any

import cel_validation
import crd_registry as crds
import crd_schema
import label_selectors
import patches
from api_types import ApiError, ResourceType, WatchEvent, invalid, now
from crd_registry import CRD_GROUP, CRD_PLURAL

EVENT_LOG_SIZE = 10_000
_SYSTEM_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "deletionTimestamp")


def _body_sans_meta(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Store:
    """All objects of a cluster, keyed by (group, plural) then (namespace, name)."""

    def __init__(self) -> None:
        self.types: dict[tuple[str, str, str], ResourceType] = {}
        self.objects: dict[tuple[str, str], dict[tuple[str | None, str], dict[str, Any]]] = collections.defaultdict(
            dict
        )
        self.rv = 0
        self.events: collections.deque[WatchEvent] = collections.deque(maxlen=EVENT_LOG_SIZE)
        self.first_rv = 1  # the oldest resourceVersion a watch may start from

    # --- types -------------------------------------------------------------------------
    def add_type(self, rt: ResourceType) -> None:
        self.types[(rt.group, rt.version, rt.plural)] = rt

    def find_type(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.types.get((group, version, plural))
        if rt is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return rt

    def type_of_kind(self, api_version: str, kind: str) -> ResourceType | None:
        return next((rt for rt in self.types.values() if rt.api_version == api_version and rt.kind == kind), None)

    # --- reads -------------------------------------------------------------------------
    def _bucket(self, rt: ResourceType) -> dict[tuple[str | None, str], dict[str, Any]]:
        return self.objects[(rt.group, rt.plural)]

    def _out(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(obj)
        out["apiVersion"], out["kind"] = rt.api_version, rt.kind
        return out

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        obj = self._bucket(rt).get((namespace if rt.namespaced else None, name))
        if obj is None:
            raise ApiError(
                404,
                "NotFound",
                f'{rt.qualified} "{name}" not found',
                {"name": name, "group": rt.group, "kind": rt.plural},
            )
        return self._out(rt, obj)

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        try:
            labels = label_selectors.parse_label_selector(label_selector)
            fields = label_selectors.parse_field_selector(field_selector)
        except label_selectors.SelectorError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from exc
        items = [
            self._out(rt, obj)
            for (ns, _), obj in sorted(self._bucket(rt).items(), key=lambda kv: str(kv[0]))
            if (namespace is None or ns == namespace) and label_selectors.matches(obj, labels, fields)
        ]
        return items, self.rv

    def events_after(self, rv: int) -> list[WatchEvent]:
        if rv and rv + 1 < self.first_rv:
            raise ApiError(410, "Expired", f"too old resource version: {rv} ({self.first_rv - 1})")
        return [event for event in self.events if event.rv > rv]

    # --- writes ------------------------------------------------------------------------
    def _emit(self, rt: ResourceType, kind: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> None:
        if len(self.events) == self.events.maxlen:
            self.first_rv = self.events[0].rv + 1
        self.events.append(
            WatchEvent(self.rv, rt.group, rt.plural, kind, self._out(rt, obj), self._out(rt, old) if old else None)
        )

    def _bump(self, obj: dict[str, Any]) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)

    def _check_and_prune(
        self, rt: ResourceType, obj: dict[str, Any], strict: bool, old: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        meta = obj["metadata"]
        if rt.schema is not None:
            causes = crd_schema.validate(obj, rt.schema)
            causes = [c for c in causes if c.field.split(".")[0] not in ("apiVersion", "kind", "metadata")]
            if causes:
                raise invalid(rt, meta.get("name"), causes)
            unknown: list[str] = []
            obj = crd_schema.prune(obj, rt.schema, "", unknown)
            if strict and unknown:
                raise ApiError(
                    400, "BadRequest", "strict decoding error: " + ", ".join(f'unknown field "{u}"' for u in unknown)
                )
            # CEL rules run on the defaulted object, after the OpenAPI schema passed (as in kube-apiserver).
            causes = cel_validation.validate(obj, rt.schema, *([old] if old is not None else []))
            if causes:
                raise invalid(rt, meta.get("name"), causes)
        if rt.group == CRD_GROUP and rt.plural == CRD_PLURAL:
            crds.check_crd(obj)
        return obj

    def create(
        self, rt: ResourceType, namespace: str | None, body: Any, strict: bool = False, dry_run: bool = False
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body must be a JSON object")
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        if rt.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise ApiError(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            meta["namespace"] = namespace or meta.get("namespace") or "default"
            if not self._bucket(self.find_type("", "v1", "namespaces")).get((None, meta["namespace"])):
                raise ApiError(
                    404,
                    "NotFound",
                    f'namespaces "{meta["namespace"]}" not found',
                    {"name": meta["namespace"], "kind": "namespaces"},
                )
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choices(string.ascii_lowercase + "2456789", k=5))
        if not meta.get("name"):
            raise ApiError(
                422,
                "Invalid",
                f'{rt.kind} "" is invalid: metadata.name: Required value: name or generateName is required',
                {
                    "kind": rt.kind,
                    "causes": [
                        {
                            "reason": "FieldValueRequired",
                            "field": "metadata.name",
                            "message": "Required value: name or generateName is required",
                        }
                    ],
                },
            )
        key = (meta.get("namespace"), meta["name"])
        if key in self._bucket(rt):
            raise ApiError(
                409,
                "AlreadyExists",
                f'{rt.qualified} "{meta["name"]}" already exists',
                {"name": meta["name"], "group": rt.group, "kind": rt.plural},
            )
        for system in _SYSTEM_META:
            meta.pop(system, None)
        if "status" in rt.subresources:
            obj.pop("status", None)
        if (rt.group, rt.kind) == ("", "Secret"):
            obj.setdefault("type", "Opaque")
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        obj = self._check_and_prune(rt, obj, strict)
        meta = obj["metadata"]
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
        if dry_run:
            meta["resourceVersion"] = str(self.rv)
            return self._out(rt, obj)
        if rt.group == CRD_GROUP and rt.plural == CRD_PLURAL:
            self._register_crd(obj)
        self._bump(obj)
        self._bucket(rt)[key] = obj
        self._emit(rt, "ADDED", obj)
        return self._out(rt, obj)

    def replace(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        subresource: str | None = None,
        strict: bool = False,
    ) -> dict[str, Any]:
        """PUT semantics; also the final step of every patch."""
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body must be a JSON object")
        key = (namespace if rt.namespaced else None, name)
        old = self._bucket(rt).get(key)
        if old is None:
            self.get(rt, namespace, name)  # raises NotFound
            raise AssertionError("unreachable")
        new_meta = body.get("metadata") or {}
        if new_meta.get("name", name) != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        wanted_rv = new_meta.get("resourceVersion")
        if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {rt.qualified} "{name}": the object '
                "has been modified; please apply your changes to the latest version and try again",
                {"name": name, "group": rt.group, "kind": rt.plural},
            )
        if subresource == "status":
            obj = copy.deepcopy(old)
            if "status" in body:
                obj["status"] = copy.deepcopy(body["status"])
            else:
                obj.pop("status", None)
        else:
            obj = copy.deepcopy(body)
            meta = obj.setdefault("metadata", {})
            for system in _SYSTEM_META:
                if system in old["metadata"]:
                    meta[system] = old["metadata"][system]
                else:
                    meta.pop(system, None)
            meta["name"] = name
            if rt.namespaced:
                meta["namespace"] = old["metadata"]["namespace"]
            if "status" in rt.subresources:
                if "status" in old:
                    obj["status"] = copy.deepcopy(old["status"])
                else:
                    obj.pop("status", None)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        obj = self._check_and_prune(rt, obj, strict, old)
        if rt.group == CRD_GROUP and rt.plural == CRD_PLURAL:
            obj["status"] = copy.deepcopy(old.get("status") or {})
            self._register_crd(obj)
        if _body_sans_meta(obj) != _body_sans_meta(old):
            obj["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        if obj == old | {"apiVersion": obj["apiVersion"], "kind": obj["kind"]}:
            return self._out(rt, old)  # a no-op write does not bump the resourceVersion
        self._bump(obj)
        self._bucket(rt)[key] = obj
        if obj["metadata"].get("deletionTimestamp") and not obj["metadata"].get("finalizers"):
            self._remove(rt, key, "Background")
        else:
            self._emit(rt, "MODIFIED", obj, old)
        return self._out(rt, obj)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        body: Any,
        subresource: str | None = None,
        strict: bool = False,
    ) -> dict[str, Any]:
        current = self.get(rt, namespace, name)
        try:
            if content_type.startswith("application/json-patch+json"):
                patched = patches.json_patch(current, body)
            elif content_type.startswith("application/strategic-merge-patch+json"):
                patched = patches.strategic_merge_patch(current, body)
            elif content_type.startswith(("application/merge-patch+json", "application/apply-patch")):
                patched = patches.merge_patch(current, body)
            else:
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - "
                    f"accepted media types include: application/json-patch+json, "
                    f"application/merge-patch+json, application/apply-patch+yaml, "
                    f"application/strategic-merge-patch+json ({content_type!r})",
                )
        except patches.PatchError as exc:
            raise ApiError(422, "Invalid", str(exc)) from exc
        if not isinstance(body, dict) or "resourceVersion" not in (body.get("metadata") or {}):
            (patched.setdefault("metadata", {}) if isinstance(patched, dict) else {}).pop("resourceVersion", None)
        return self.replace(rt, namespace, name, patched, subresource, strict)

    def delete(
        self, rt: ResourceType, namespace: str | None, name: str, propagation: str = "Background"
    ) -> dict[str, Any]:
        key = (namespace if rt.namespaced else None, name)
        obj = self._bucket(rt).get(key)
        if obj is None:
            return self.get(rt, namespace, name)  # raises NotFound
        if obj["metadata"].get("finalizers"):
            if not obj["metadata"].get("deletionTimestamp"):
                old = copy.deepcopy(obj)
                obj["metadata"]["deletionTimestamp"] = now()
                obj["metadata"]["deletionGracePeriodSeconds"] = 0
                self._bump(obj)
                self._emit(rt, "MODIFIED", obj, old)
            return self._out(rt, obj)
        return self._remove(rt, key, propagation)

    def _remove(self, rt: ResourceType, key: tuple[str | None, str], propagation: str) -> dict[str, Any]:
        obj = self._bucket(rt).pop(key)
        self._bump(obj)
        self._emit(rt, "DELETED", obj)
        if rt.group == CRD_GROUP and rt.plural == CRD_PLURAL:
            self._unregister_crd(obj)
        if rt.group == "" and rt.plural == "namespaces":
            self._delete_namespace_contents(key[1])
        self._collect_dependents(obj["metadata"]["uid"], propagation)
        return self._out(rt, obj)

    def _collect_dependents(self, uid: str, propagation: str) -> None:
        """Owner-reference GC: drop the reference; delete dependents left with no owners."""
        for (group, plural), bucket in list(self.objects.items()):
            rt = next((t for t in self.types.values() if (t.group, t.plural) == (group, plural)), None)
            for (ns, name), dep in list(bucket.items()):
                refs = dep["metadata"].get("ownerReferences") or []
                if rt is None or not any(ref.get("uid") == uid for ref in refs):
                    continue
                rest = [ref for ref in refs if ref.get("uid") != uid]
                if rest or propagation == "Orphan":
                    patch = {"metadata": {"ownerReferences": rest or None}}
                    self.patch(rt, ns, name, "application/merge-patch+json", patch)
                elif (ns, name) in bucket:
                    self.delete(rt, ns, name, propagation)

    def _delete_namespace_contents(self, namespace: str) -> None:
        for (group, plural), bucket in list(self.objects.items()):
            rt = next((t for t in self.types.values() if (t.group, t.plural) == (group, plural)), None)
            for ns, name in list(bucket):
                if rt is not None and ns == namespace and (ns, name) in bucket:
                    self.patch(rt, ns, name, "application/merge-patch+json", {"metadata": {"finalizers": None}})
                    if (ns, name) in bucket:
                        self.delete(rt, ns, name)

    # --- CRDs --------------------------------------------------------------------------
    def _register_crd(self, crd: dict[str, Any]) -> None:
        spec = crd["spec"]
        names = spec["names"]
        for key in [
            k for k, t in self.types.items() if t.custom and (t.group, t.plural) == (spec["group"], names["plural"])
        ]:
            del self.types[key]
        for rt in crds.served_types(crd):
            self.add_type(rt)
        if (crd.get("status") or {}).get("acceptedNames") != names:
            crd["status"] = crds.accepted_status(crd)

    def _unregister_crd(self, crd: dict[str, Any]) -> None:
        group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
        for key in [k for k, t in self.types.items() if t.custom and (t.group, t.plural) == (group, plural)]:
            del self.types[key]
        self.objects.pop((group, plural), None)
