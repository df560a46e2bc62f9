"""CRD ``x-kubernetes-validations`` (CEL rules) evaluated with cel-python, as kube-apiserver does.

Every rule is evaluated with ``self`` bound to the value at its schema node (the whole object at the
root, where ``self.metadata.name`` is available) when that value is present; transition rules (those
naming ``oldSelf``) only on updates, with ``oldSelf`` bound to the old value at the same node. As with
CRD validation ratcheting (on by default since Kubernetes 1.30), a value unchanged by an update is not
re-validated. Kubernetes' CEL libraries that the CRDs use are added: ``quantity()`` with
``compareTo``/``isLessThan``/``isGreaterThan``/``asInteger``, and ``duration()`` parsing Go durations
(``1h30m``, ``250ms``, ``5µs``). A failed rule becomes a ``FieldValueInvalid`` cause carrying the rule's
``message``, shaped like the apiserver's (``spec.memory: Invalid value: "": must be at least 512Mi``;
the value shown is the node's schema type, ``<nil>`` is the root's path).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import celpy
from celpy import celtypes
from crd_schema import Cause

_GO_UNITS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "μs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
_GO_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": 1, "k": 10**3}
_DECIMAL |= {"M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_QUANTITY = re.compile(r"^([+-]?[0-9]+(?:\.[0-9]*)?|[+-]?\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|[numkMGTPE]?)$")


class CelRuleError(ValueError):
    """A rule that does not compile, or a value a Kubernetes CEL library function rejects."""


def go_duration(text: str) -> celtypes.DurationType:
    """Go's ``time.ParseDuration`` (what Kubernetes' CEL ``duration()`` accepts)."""
    sign, rest = (-1, text[1:]) if text[:1] == "-" else (1, text.removeprefix("+"))
    if rest == "0":
        return celtypes.DurationType(seconds=0)
    nanos, pos = Fraction(0), 0
    for match in _GO_PART.finditer(rest):
        if match.start() != pos or match.group(1) in ("", "."):
            break
        nanos += Fraction(Decimal(match.group(1))) * _GO_UNITS[match.group(2)]
        pos = match.end()
    if not rest or pos != len(rest):
        raise CelRuleError(f"invalid duration {text!r}")
    total = int(sign * nanos)
    return celtypes.DurationType(seconds=total // 10**9, nanos=total % 10**9)


class Quantity:
    """A ``resource.Quantity`` (``512Mi``, ``1.5G``, ``100m``, ``1e3``), compared exactly."""

    def __init__(self, text: str) -> None:
        match = _QUANTITY.match(text)
        if not match:
            raise CelRuleError(f"quantities must match the regular expression {_QUANTITY.pattern!r}: {text!r}")
        number, suffix = Fraction(Decimal(match.group(1))), match.group(2)
        if suffix[:1] in ("e", "E"):
            self.value = number * Fraction(10) ** int(suffix[1:])
        else:
            self.value = number * _BINARY.get(suffix, _DECIMAL.get(suffix, 1))

    def __repr__(self) -> str:
        return f"Quantity({float(self.value)})"


def _quantity(text: Any) -> Quantity:
    return Quantity(str(text))


def _compare(a: Quantity, b: Quantity) -> celtypes.IntType:
    return celtypes.IntType((a.value > b.value) - (a.value < b.value))


FUNCTIONS = {
    "duration": lambda v: v if isinstance(v, celtypes.DurationType) else go_duration(str(v)),
    "quantity": _quantity,
    "compareTo": _compare,
    "isGreaterThan": lambda a, b: celtypes.BoolType(a.value > b.value),
    "isLessThan": lambda a, b: celtypes.BoolType(a.value < b.value),
    "asInteger": lambda q: celtypes.IntType(int(q.value)),
}
_ENV = celpy.Environment()


@functools.cache
def program(rule: str) -> Any:
    """The compiled rule (cached: compiling with lark is the slow part)."""
    try:
        return _ENV.program(_ENV.compile(rule), functions=FUNCTIONS)
    except celpy.CELParseError as exc:
        raise CelRuleError(f"compilation failed: {rule}: {exc}") from exc


def evaluate(rule: str, value: Any, old: Any = None) -> Any:
    """Evaluate one rule with ``self`` (and ``oldSelf`` when given); the CEL result, or a ``CELEvalError``."""
    activation = {"self": celpy.json_to_cel(value)}
    if old is not None:
        activation["oldSelf"] = celpy.json_to_cel(old)
    try:
        return program(rule).evaluate(activation)
    except celpy.CELEvalError as exc:
        return exc
    except CelRuleError as exc:
        return celpy.CELEvalError(str(exc))


def rules(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every ``(schema path, rule entry)`` in a CRD schema (``[*]`` for list items, ``{*}`` for map values)."""
    for entry in schema.get("x-kubernetes-validations") or []:
        yield path or "<nil>", entry
    for key, sub in (schema.get("properties") or {}).items():
        yield from rules(sub, f"{path}.{key}" if path else key)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from rules(schema["additionalProperties"], f"{path}{{*}}")
    if isinstance(schema.get("items"), dict):
        yield from rules(schema["items"], f"{path}[*]")


_MISSING = object()


def validate(value: Any, schema: dict[str, Any], old: Any = _MISSING, path: str = "") -> list[Cause]:
    """Evaluate every CEL rule at and under this node; ``old`` is the stored value on updates."""
    if value is None or (old is not _MISSING and old == value):
        return []  # absent values have nothing to check; unchanged ones are ratcheted
    causes: list[Cause] = []
    for entry in schema.get("x-kubernetes-validations") or []:
        rule = entry["rule"]
        transition = re.search(r"\boldSelf\b", rule) is not None
        if transition and (old is _MISSING or old is None):
            continue
        result = evaluate(rule, value, old if transition else None)
        if result is True or (isinstance(result, celtypes.BoolType) and bool(result)):
            continue
        if isinstance(result, celpy.CELEvalError):
            message = f"{entry.get('message') or f'failed rule: {rule}'} (evaluation error: {result.args[0]})"
        else:
            message = entry.get("message") or f"failed rule: {rule}"
        shown = schema.get("type", "")
        causes.append(
            Cause(path or "<nil>", entry.get("reason") or "FieldValueInvalid", f'Invalid value: "{shown}": {message}')
        )
    props, extra = schema.get("properties") or {}, schema.get("additionalProperties")
    if isinstance(value, dict):
        old_map = old if isinstance(old, dict) else {}
        for key, item in value.items():
            sub_schema = props.get(key, extra if isinstance(extra, dict) else None)
            if sub_schema is not None:
                sub = f"{path}.{key}" if path else key
                causes += validate(item, sub_schema, old_map.get(key, _MISSING), sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            causes += validate(item, schema["items"], _MISSING, f"{path}[{index}]")
    return causes
