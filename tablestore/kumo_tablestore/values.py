"""Typed DynamoDB AttributeValues, kept in their JSON wire form (``{"N": "1.5"}``, ``{"B": "<base64>"}``).

Comparison, equality, ``size()``, item sizes, validation of incoming values and deep path
get/set/remove (numbers: :mod:`.numbers`). Pure functions; every error is a :class:`ValidationException`.
"""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal
from typing import Any

from .errors import ValidationException
from .numbers import format_number, normalize_number, number_size, parse_number

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]
#: A resolved document path: attribute/map-key names and list indexes, e.g. ``("a", "b", 2)``.
Path = tuple[str | int, ...]

SCALAR_TYPES = frozenset({"S", "N", "B"})
SET_TYPES = {"SS": "S", "NS": "N", "BS": "B"}
ALL_TYPES = frozenset({"S", "N", "B", "BOOL", "NULL", "L", "M", "SS", "NS", "BS"})
#: Full type names DynamoDB uses in some messages ("operand type: STRING").
LONG_TYPE_NAMES = {
    "S": "STRING",
    "N": "NUMBER",
    "B": "BINARY",
    "BOOL": "BOOLEAN",
    "NULL": "NULL",
    "L": "LIST",
    "M": "MAP",
    "SS": "STRING SET",
    "NS": "NUMBER SET",
    "BS": "BINARY SET",
}

# ---------------------------------------------------------------- binary


def decode_binary(text: str) -> bytes:
    """Bytes of a base64 ``B`` value (already validated)."""
    return base64.b64decode(text)


def _binary_length(text: str) -> int:
    return len(text) * 3 // 4 - text.count("=", -2)


# ---------------------------------------------------------------- type, equality, order


def type_of(value: AttributeValue) -> str:
    """The type key of a (valid) AttributeValue: ``"S"``, ``"N"``, ``"SS"``, ..."""
    return next(iter(value))


def _scalar_key(type_name: str, raw: Any) -> Any:
    if type_name == "N":
        return Decimal(raw)
    if type_name == "B":
        return decode_binary(raw)
    return raw


def values_equal(a: AttributeValue | None, b: AttributeValue | None) -> bool:
    """DynamoDB equality: same type and same value (sets unordered, lists and maps deep)."""
    if a is None or b is None:
        return False
    ta, tb = type_of(a), type_of(b)
    if ta != tb:
        return False
    va, vb = a[ta], b[tb]
    if ta in SCALAR_TYPES:
        return va == vb or _scalar_key(ta, va) == _scalar_key(ta, vb)
    if ta in SET_TYPES:
        element = SET_TYPES[ta]
        return {_scalar_key(element, x) for x in va} == {_scalar_key(element, x) for x in vb}
    if ta == "L":
        return len(va) == len(vb) and all(values_equal(x, y) for x, y in zip(va, vb, strict=True))
    if ta == "M":
        return va.keys() == vb.keys() and all(values_equal(va[k], vb[k]) for k in va)
    return va == vb


def compare_values(a: AttributeValue | None, b: AttributeValue | None) -> int | None:
    """-1/0/1 for two N, S or B values of the same type; ``None`` when they cannot be ordered.

    Strings order by UTF-8 bytes, which is the same as ordering by code point.
    """
    if a is None or b is None:
        return None
    ta = type_of(a)
    if ta not in SCALAR_TYPES or ta not in b:
        return None
    ka, kb = _scalar_key(ta, a[ta]), _scalar_key(ta, b[ta])
    return (ka > kb) - (ka < kb)


def sort_key(value: AttributeValue) -> Any:
    """A Python key that orders N, S or B values as DynamoDB orders sort keys."""
    t = type_of(value)
    return _scalar_key(t, value[t])


def contains_value(container: AttributeValue | None, operand: AttributeValue | None) -> bool:
    """``contains()``: substring of S/B, member of a set, element of a list."""
    if container is None or operand is None:
        return False
    t = type_of(container)
    raw = container[t]
    ot = type_of(operand)
    if t == "S":
        return ot == "S" and operand["S"] in raw
    if t == "B":
        return ot == "B" and decode_binary(operand["B"]) in decode_binary(raw)
    if t in SET_TYPES:
        if ot != SET_TYPES[t]:
            return False
        wanted = _scalar_key(ot, operand[ot])
        return any(_scalar_key(ot, x) == wanted for x in raw)
    if t == "L":
        return any(values_equal(x, operand) for x in raw)
    return False


def begins_with(value: AttributeValue | None, prefix: AttributeValue | None) -> bool:
    """``begins_with()`` on S or B values of the same type."""
    if value is None or prefix is None:
        return False
    t = type_of(value)
    if t not in ("S", "B") or t not in prefix:
        return False
    if t == "S":
        return value["S"].startswith(prefix["S"])
    return decode_binary(value["B"]).startswith(decode_binary(prefix["B"]))


def size_of(value: AttributeValue | None) -> int | None:
    """``size()``: S in UTF-16 code units (as DynamoDB counts), B in bytes, sets/L/M in elements."""
    if value is None:
        return None
    t = type_of(value)
    raw = value[t]
    if t == "S":
        return len(raw.encode("utf-16-le")) // 2
    if t == "B":
        return _binary_length(raw)
    if t in SET_TYPES or t in ("L", "M"):
        return len(raw)
    return None


# ---------------------------------------------------------------- storage size


def value_size(value: AttributeValue) -> int:
    """Bytes a value counts for, per "Item sizes and formats" in the DynamoDB developer guide."""
    t = type_of(value)
    raw = value[t]
    if t == "S":
        return len(raw.encode())
    if t == "N":
        return number_size(raw)
    if t == "B":
        return _binary_length(raw)
    if t in ("BOOL", "NULL"):
        return 1
    if t == "SS":
        return sum(len(x.encode()) for x in raw)
    if t == "NS":
        return sum(number_size(x) for x in raw)
    if t == "BS":
        return sum(_binary_length(x) for x in raw)
    if t == "L":
        return 3 + sum(1 + value_size(x) for x in raw)
    return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in raw.items())


def attribute_size(name: str, value: AttributeValue) -> int:
    """Size of one attribute: UTF-8 length of its name plus the size of its value."""
    return len(name.encode()) + value_size(value)


def item_size(item: Item) -> int:
    """Size of an item as DynamoDB counts it towards the 400 KB limit and capacity units."""
    return sum(attribute_size(k, v) for k, v in item.items())


# ---------------------------------------------------------------- validation of incoming values

_PARAM = "One or more parameter values were invalid: "
_EMPTY_SET = {"SS": "An string set  may not be empty", "NS": "An number set  may not be empty"}


def _check_binary(raw: Any) -> None:
    if not isinstance(raw, str):
        raise ValidationException(_PARAM + "Binary value must be a base64-encoded string")
    try:
        base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationException(_PARAM + "Binary value is not valid base64") from None


def validate_value(value: Any, depth: int = 0) -> AttributeValue:
    """Check one incoming AttributeValue and return it with numbers in canonical form."""
    if not isinstance(value, dict) or not value:
        raise ValidationException(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )
    if len(value) > 1:
        raise ValidationException(
            "Supplied AttributeValue has more than one datatypes set, "
            "must contain exactly one of the supported datatypes"
        )
    ((t, raw),) = value.items()
    if depth > 32:
        raise ValidationException("Nesting Levels have exceeded supported limits")
    if t == "S":
        if not isinstance(raw, str):
            raise ValidationException(_PARAM + "String value must be a string")
        return value
    if t == "N":
        return {"N": normalize_number(raw)}
    if t == "B":
        _check_binary(raw)
        return value
    if t == "BOOL":
        if not isinstance(raw, bool):
            raise ValidationException(_PARAM + "BOOL value must be true or false")
        return value
    if t == "NULL":
        if raw is not True:
            raise ValidationException(_PARAM + "Null attribute value types must have the value of true")
        return value
    if t in SET_TYPES:
        return {t: _validate_set(t, raw)}
    if t == "L":
        if not isinstance(raw, list):
            raise ValidationException(_PARAM + "L value must be a list")
        return {"L": [validate_value(x, depth + 1) for x in raw]}
    if t == "M":
        if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
            raise ValidationException(_PARAM + "M value must be a map")
        return {"M": {k: validate_value(v, depth + 1) for k, v in raw.items()}}
    raise ValidationException(f"Supplied AttributeValue has an unsupported datatype: {t}")


def _validate_set(t: str, raw: Any) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise ValidationException(_PARAM + f"{t} value must be a list of strings")
    if not raw:
        raise ValidationException(_PARAM + _EMPTY_SET.get(t, "Binary sets should not be empty"))
    if t == "NS":
        keys = [parse_number(x) for x in raw]
        result = [format_number(k) for k in keys]
    else:
        if t == "BS":
            for x in raw:
                _check_binary(x)
        keys = [decode_binary(x) for x in raw] if t == "BS" else list(raw)
        result = list(raw)
    if len(set(keys)) != len(keys):
        raise ValidationException(_PARAM + f"Input collection [{', '.join(raw)}] contains duplicates.")
    return result


def validate_item(item: Any) -> Item:
    """Validate every attribute of an incoming item; numbers come back canonical."""
    if not isinstance(item, dict):
        raise ValidationException(_PARAM + "Item must be a map of attribute values")
    out: Item = {}
    for name, value in item.items():
        if not name:
            raise ValidationException(_PARAM + "An AttributeName may not be empty")
        out[name] = validate_value(value)
    return out


# ---------------------------------------------------------------- copying and paths

INVALID_UPDATE_PATH = "The document path provided in the update expression is invalid for update"


def copy_value(value: AttributeValue) -> AttributeValue:
    """Deep copy of a value (only L and M are mutable containers worth copying)."""
    t = type_of(value)
    if t == "L":
        return {"L": [copy_value(x) for x in value["L"]]}
    if t == "M":
        return {"M": {k: copy_value(v) for k, v in value["M"].items()}}
    if t in SET_TYPES:
        return {t: list(value[t])}
    return {t: value[t]}


def get_path(item: Item, path: Path) -> AttributeValue | None:
    """The value at ``path`` (``("a", "b", 2)`` for ``a.b[2]``), or ``None`` when absent."""
    node: Any = item.get(path[0]) if isinstance(path[0], str) else None
    for element in path[1:]:
        if node is None:
            return None
        if isinstance(element, int):
            lst = node.get("L")
            node = lst[element] if lst is not None and element < len(lst) else None
        else:
            m = node.get("M")
            node = m.get(element) if m is not None else None
    return node


def _parent_container(item: Item, path: Path) -> Any:
    """The dict (map) or list holding the last element of ``path``; raises if it is missing."""
    if len(path) == 1:
        return item
    parent = get_path(item, path[:-1])
    key = "L" if isinstance(path[-1], int) else "M"
    if parent is None or key not in parent:
        raise ValidationException(INVALID_UPDATE_PATH)
    return parent[key]


def set_path(item: Item, path: Path, value: AttributeValue) -> None:
    """Set ``path`` in place; a list index past the end appends. Missing parents raise."""
    container = _parent_container(item, path)
    last = path[-1]
    if isinstance(last, int):
        if last < len(container):
            container[last] = value
        else:
            container.append(value)
    else:
        container[last] = value


def remove_path(item: Item, path: Path) -> None:
    """Remove ``path`` in place; removing an absent attribute or index is a no-op."""
    container = _parent_container(item, path)
    last = path[-1]
    if isinstance(last, int):
        if last < len(container):
            del container[last]
    else:
        container.pop(last, None)
