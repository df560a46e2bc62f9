"""Unit tests of the emulator's pure logic: selectors, schemas, patches, the store, protobuf, paths."""

from __future__ import annotations

import pytest
from api_types import ApiError, ResourceType, parse_api_path
from crd_schema import prune, validate
from label_selectors import SelectorError, matches, parse_field_selector, parse_label_selector
from patches import PatchError, json_patch, merge_patch, strategic_merge_patch
from protobuf_codec import decode
from store import Store


def test_label_selectors() -> None:
    obj = {"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}}
    assert matches(obj, parse_label_selector("a=1,b in (2,3),!c,a"), parse_field_selector("metadata.name=x"))
    assert not matches(obj, parse_label_selector("a!=1"), [])
    assert not matches(obj, [], parse_field_selector("metadata.name!=x"))
    with pytest.raises(SelectorError):
        parse_label_selector("a in b")


def test_schema_validation_and_pruning() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["n"],
                "properties": {
                    "n": {"type": "integer", "maximum": 3},
                    "p": {"x-kubernetes-int-or-string": True},
                    "d": {"type": "string", "default": "z"},
                },
            }
        },
    }
    causes = validate({"spec": {"n": 4, "p": 1.5}}, schema)
    assert {c.field for c in causes} == {"spec.n", "spec.p"}
    assert [c.reason for c in validate({"spec": {}}, schema)] == ["FieldValueRequired"]
    unknown: list[str] = []
    assert prune({"kind": "K", "spec": {"n": 1, "x": 2}}, schema, "", unknown) == {
        "kind": "K",
        "spec": {"n": 1, "d": "z"},
    }
    assert unknown == ["spec.x"]


def test_patches() -> None:
    assert merge_patch({"a": 1, "b": {"c": 2}}, {"b": {"c": None, "d": 3}}) == {"a": 1, "b": {"d": 3}}
    current = {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}
    patched = strategic_merge_patch(
        current,
        {"containers": [{"name": "b", "image": "3"}], "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}]},
    )
    assert patched == {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "3"}]}
    assert json_patch({"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2}]) == {"a": [1, 2]}
    with pytest.raises(PatchError):
        json_patch({}, [{"op": "remove", "path": "/missing"}])


def test_store_conflicts_generation_and_gone() -> None:
    store = Store()
    store.add_type(ResourceType("", "v1", "namespaces", "Namespace", namespaced=False))
    cms = ResourceType("", "v1", "configmaps", "ConfigMap", namespaced=True)
    store.add_type(cms)
    with pytest.raises(ApiError) as missing_ns:
        store.create(cms, "default", {"metadata": {"name": "x"}})
    assert missing_ns.value.code == 404
    store.create(store.find_type("", "v1", "namespaces"), None, {"metadata": {"name": "default"}})
    obj = store.create(cms, "default", {"metadata": {"name": "x"}, "data": {"k": "v"}})
    store.patch(cms, "default", "x", "application/merge-patch+json", {"data": {"k": "w"}})
    with pytest.raises(ApiError) as conflict:
        store.replace(cms, "default", "x", obj)
    assert conflict.value.code == 409 and conflict.value.reason == "Conflict"
    assert store.get(cms, "default", "x")["metadata"]["generation"] == 2
    assert [e.type for e in store.events_after(int(obj["metadata"]["resourceVersion"]))] == ["MODIFIED"]


def test_protobuf_configmap_and_paths() -> None:
    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    meta = field(1, field(1, b"cm")) + field(2, field(1, b"k") + field(2, b"v"))
    body = b"k8s\x00" + field(1, field(1, b"v1") + field(2, b"ConfigMap")) + field(2, meta)
    assert decode(body) == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": "v"}}
    assert parse_api_path("/api/v1/namespaces").plural == "namespaces"
    assert parse_api_path("/api/v1/namespaces/x/status").subresource == "status"
    p = parse_api_path("/apis/apps/v1/namespaces/d/deployments/w/scale")
    assert (p.group, p.namespace, p.plural, p.name, p.subresource) == ("apps", "d", "deployments", "w", "scale")
