"""CRD structural-schema handling: validation, defaulting and pruning (pure logic).

Covers the OpenAPI v3 subset that CRDs use: type, properties, required, items,
additionalProperties, enum, minimum/maximum (+exclusive), minLength/maxLength,
pattern, minItems/maxItems, nullable, default, and the Kubernetes extensions
``x-kubernetes-int-or-string`` and ``x-kubernetes-preserve-unknown-fields``.
``x-kubernetes-validations`` (CEL rules) are evaluated by ``cel_validation``. Messages mimic
kube-apiserver's (``spec.x: Invalid value: 3: spec.x in body should be ...``).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

_ROOT_KEEP = ("apiVersion", "kind", "metadata")
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


@dataclass(frozen=True)
class Cause:
    """One validation failure, shaped like a Kubernetes ``StatusCause``."""

    field: str
    reason: str  # FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, FieldValueTypeInvalid
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _is_type(value: Any, type_name: str) -> bool:
    if type_name in ("integer", "number") and isinstance(value, bool):
        return False
    if type_name == "number" and isinstance(value, float):
        return True
    if type_name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(type_name, (object,)))


def validate(value: Any, schema: dict[str, Any], path: str = "") -> list[Cause]:
    """Validate ``value`` against a CRD schema; ``path`` is the dotted field path of ``value``."""
    causes: list[Cause] = []
    if value is None:
        if schema.get("nullable"):
            return causes
        if "type" in schema or schema.get("x-kubernetes-int-or-string"):
            return [
                Cause(
                    path,
                    "FieldValueTypeInvalid",
                    f'Invalid value: "null": {path} in body must be '
                    f'of type {schema.get("type", "integer,string")}: "null"',
                )
            ]
        return causes
    if schema.get("x-kubernetes-int-or-string"):
        if not (_is_type(value, "integer") or isinstance(value, str)):
            return [
                Cause(
                    path,
                    "FieldValueTypeInvalid",
                    f"Invalid value: {_show(value)}: {path} in body must be of type integer,string: {_show(value)}",
                )
            ]
    elif "type" in schema and not _is_type(value, schema["type"]):
        shown = type(value).__name__.replace("str", "string").replace("dict", "object")
        return [
            Cause(
                path,
                "FieldValueTypeInvalid",
                f'Invalid value: "{shown}": {path} in body must be of type {schema["type"]}: "{shown}"',
            )
        ]

    def invalid(message: str) -> None:
        causes.append(Cause(path, "FieldValueInvalid", f"Invalid value: {_show(value)}: {path} in body {message}"))

    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(_show(v) for v in schema["enum"])
        causes.append(
            Cause(path, "FieldValueNotSupported", f"Unsupported value: {_show(value)}: supported values: {supported}")
        )
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "maximum" in schema:
            if schema.get("exclusiveMaximum") and value >= schema["maximum"]:
                invalid(f"should be less than {schema['maximum']}")
            elif value > schema["maximum"]:
                invalid(f"should be less than or equal to {schema['maximum']}")
        if "minimum" in schema:
            if schema.get("exclusiveMinimum") and value <= schema["minimum"]:
                invalid(f"should be greater than {schema['minimum']}")
            elif value < schema["minimum"]:
                invalid(f"should be greater than or equal to {schema['minimum']}")
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            causes.append(
                Cause(path, "FieldValueTooLong", f"Too long: may not be more than {schema['maxLength']} bytes")
            )
        if "minLength" in schema and len(value) < schema["minLength"]:
            invalid(f"should be at least {schema['minLength']} chars long")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            invalid(f"should match '{schema['pattern']}'")
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            causes.append(
                Cause(
                    path, "FieldValueTooMany", f"Too many: {len(value)}: must have at most {schema['maxItems']} items"
                )
            )
        if "minItems" in schema and len(value) < schema["minItems"]:
            invalid(f"should have at least {schema['minItems']} items")
        for index, item in enumerate(value):
            causes += validate(item, schema.get("items") or {}, f"{path}[{index}]")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                sub = f"{path}.{name}" if path else name
                causes.append(Cause(sub, "FieldValueRequired", "Required value"))
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            if key in props:
                causes += validate(item, props[key], sub)
            elif isinstance(extra, dict):
                causes += validate(item, extra, sub)
    return causes


def _preserves(schema: dict[str, Any]) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields")) or schema.get("additionalProperties") is True


def prune(value: Any, schema: dict[str, Any], path: str = "", unknown: list[str] | None = None) -> Any:
    """Apply defaults and drop fields the schema does not declare; collect dropped paths in ``unknown``."""
    unknown = unknown if unknown is not None else []
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        result: dict[str, Any] = {}
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            if path == "" and key in _ROOT_KEEP:
                result[key] = item
            elif key in props:
                result[key] = prune(item, props[key], sub, unknown)
            elif isinstance(extra, dict):
                result[key] = prune(item, extra, sub, unknown)
            elif _preserves(schema):
                result[key] = item
            elif props or extra is False or "type" in schema:
                unknown.append(sub)
            else:
                result[key] = item
        for key, prop in props.items():
            if key not in result and "default" in prop:
                result[key] = copy.deepcopy(prop["default"])
        return result
    if isinstance(value, list):
        items = schema.get("items") or {}
        return [prune(item, items, f"{path}[{i}]", unknown) for i, item in enumerate(value)]
    return value


def version_schema(crd: dict[str, Any], version: str) -> dict[str, Any] | None:
    """The ``openAPIV3Schema`` of one served version of a CRD (None when absent)."""
    for entry in (crd.get("spec") or {}).get("versions") or []:
        if entry.get("name") == version:
            return ((entry.get("schema") or {}).get("openAPIV3Schema")) or None
    return None
