"""Decode the Kubernetes protobuf envelope for the few built-in kinds kubectl/helm send as protobuf.

client-go's typed clients (``kubectl create configmap|secret|namespace``, helm's
release Secrets) POST ``application/vnd.kubernetes.protobuf`` and never fall
back to JSON. The body is ``k8s\\x00`` + ``runtime.Unknown{typeMeta, raw}`` with
``raw`` the Go protobuf of the object. Field numbers below come from
k8s.io/api's generated.proto files. Unknown kinds raise ``UnsupportedKind``.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

MAGIC = b"k8s\x00"

# field number -> (json name, kind, sub-schema). Kinds: str, bytes, int, bool, msg, map, mapb, time, rstr.
Schema = dict[int, tuple[str, str, Any]]
TIME: Schema = {}
OBJECT_META: Schema = {
    1: ("name", "str", None),
    2: ("generateName", "str", None),
    3: ("namespace", "str", None),
    5: ("uid", "str", None),
    6: ("resourceVersion", "str", None),
    7: ("generation", "int", None),
    11: ("labels", "map", None),
    12: ("annotations", "map", None),
    14: ("finalizers", "rstr", None),
}
KINDS: dict[tuple[str, str], Schema] = {
    ("v1", "ConfigMap"): {
        1: ("metadata", "msg", OBJECT_META),
        2: ("data", "map", None),
        3: ("binaryData", "mapb", None),
        4: ("immutable", "bool", None),
    },
    ("v1", "Secret"): {
        1: ("metadata", "msg", OBJECT_META),
        2: ("data", "mapb", None),
        3: ("type", "str", None),
        4: ("stringData", "map", None),
        5: ("immutable", "bool", None),
    },
    ("v1", "Namespace"): {1: ("metadata", "msg", OBJECT_META)},
    ("v1", "ServiceAccount"): {1: ("metadata", "msg", OBJECT_META)},
}
DELETE_OPTIONS: Schema = {
    1: ("gracePeriodSeconds", "int", None),
    3: ("orphanDependents", "bool", None),
    4: ("propagationPolicy", "str", None),
}
KINDS[("v1", "DeleteOptions")] = KINDS[("meta.k8s.io/v1", "DeleteOptions")] = DELETE_OPTIONS


class UnsupportedKind(ValueError):
    """A protobuf body of a kind this decoder has no schema for."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """Raw (field number, value) pairs of one protobuf message."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            length, pos = _varint(data, pos)
            out.append((number, data[pos : pos + length]))
            pos += length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            out.append((number, int.from_bytes(data[pos : pos + size], "little")))
            pos += size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return out


def decode_message(data: bytes, schema: Schema) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, value in fields(data):
        if number not in schema:
            continue
        name, kind, sub = schema[number]
        if kind == "str" and isinstance(value, bytes):
            if value:  # Go writes empty strings for unset fields
                obj[name] = value.decode()
        elif kind == "bytes" and isinstance(value, bytes):
            obj[name] = base64.b64encode(value).decode()
        elif kind in ("int", "bool") and isinstance(value, int):
            obj[name] = bool(value) if kind == "bool" else value
        elif kind == "rstr" and isinstance(value, bytes):
            obj.setdefault(name, []).append(value.decode())
        elif kind in ("map", "mapb") and isinstance(value, bytes):
            entry = dict(fields(value))
            key, item = entry.get(1, b""), entry.get(2, b"")
            assert isinstance(key, bytes) and isinstance(item, bytes)
            obj.setdefault(name, {})[key.decode()] = item.decode() if kind == "map" else base64.b64encode(item).decode()
        elif kind == "time" and isinstance(value, bytes):
            seconds = dict(fields(value)).get(1)
            if isinstance(seconds, int):
                obj[name] = datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        elif kind == "msg" and isinstance(value, bytes):
            obj[name] = decode_message(value, sub)
    return obj


def decode(body: bytes) -> dict[str, Any]:
    """Decode an ``application/vnd.kubernetes.protobuf`` request body into the JSON object."""
    if not body.startswith(MAGIC):
        raise ValueError("not a Kubernetes protobuf body (missing the k8s\\x00 prefix)")
    envelope = dict(fields(body[len(MAGIC) :]))
    type_meta = envelope.get(1, b"")
    raw = envelope.get(2, b"")
    assert isinstance(type_meta, bytes) and isinstance(raw, bytes)
    meta = {1: "", 2: ""} | {k: v.decode() for k, v in fields(type_meta) if isinstance(v, bytes)}
    api_version, kind = str(meta[1]), str(meta[2])
    schema = KINDS.get((api_version, kind))
    if schema is None:
        raise UnsupportedKind(f"{api_version} {kind}")
    return {"apiVersion": api_version, "kind": kind} | decode_message(raw, schema)
