"""Kubernetes label and field selectors: parsing and matching (pure logic)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_SET_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_CMP_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_./-]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*$")


class SelectorError(ValueError):
    """A selector string that cannot be parsed."""


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return present and value == self.values[0]
        if self.op == "!=":
            return not present or value != self.values[0]
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if self.op == "exists":
            return present
        return not present


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def parse_label_selector(text: str | None) -> list[Requirement]:
    """Parse ``a=b,c!=d,e in (x,y),!f,g`` into requirements (empty selects everything)."""
    requirements: list[Requirement] = []
    for part in _split_top_level(text or ""):
        if m := _SET_RE.match(part):
            values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
            requirements.append(Requirement(m.group(1), m.group(2), values))
        elif m := _CMP_RE.match(part):
            op = "!=" if m.group(2) == "!=" else "="
            requirements.append(Requirement(m.group(1), op, (m.group(3),)))
        elif m := _EXISTS_RE.match(part):
            requirements.append(Requirement(m.group(2), "!exists" if m.group(1) else "exists"))
        else:
            raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
    return requirements


def parse_field_selector(text: str | None) -> list[Requirement]:
    """Parse ``metadata.name=x,metadata.namespace!=y`` (only equality/inequality, like the server)."""
    requirements: list[Requirement] = []
    for part in _split_top_level(text or ""):
        m = _CMP_RE.match(part)
        if not m:
            raise SelectorError(f"invalid field selector: {part.strip()!r}")
        requirements.append(Requirement(m.group(1), "!=" if m.group(2) == "!=" else "=", (m.group(3),)))
    return requirements


def object_fields(obj: dict[str, Any]) -> dict[str, str]:
    """The selectable fields of an object: metadata.name/namespace plus scalar top-level paths."""
    meta = obj.get("metadata") or {}
    fields = {"metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace") or ""}
    for section in ("spec", "status"):
        for key, value in (obj.get(section) or {}).items():
            if isinstance(value, str | int | bool):
                fields[f"{section}.{key}"] = str(value).lower() if isinstance(value, bool) else str(value)
    if obj.get("type") is not None:  # e.g. Secret type, Event type
        fields["type"] = str(obj["type"])
    return fields


def matches(obj: dict[str, Any], labels: list[Requirement], fields: list[Requirement]) -> bool:
    """True when the object satisfies every label and field requirement."""
    obj_labels = (obj.get("metadata") or {}).get("labels") or {}
    if not all(req.matches(obj_labels) for req in labels):
        return False
    obj_fields = object_fields(obj)
    return all(req.matches(obj_fields) for req in fields)
