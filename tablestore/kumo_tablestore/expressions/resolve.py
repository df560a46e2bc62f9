"""Substitute ``#name``/``:value`` placeholders into a parsed tree and run the static checks.

Also the request-wide check that every supplied placeholder is used and every value is valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ValidationException
from ..values import LONG_TYPE_NAMES, compare_values, type_of, validate_value
from . import nodes as n
from .update import check_paths

VALID_TYPE_NAMES = ("B", "NULL", "SS", "BOOL", "L", "BS", "N", "NS", "S", "M")
Names = Mapping[str, str]
Values = Mapping[str, dict[str, Any]]


def format_value(value: dict[str, Any]) -> str:
    """AttributeValue as DynamoDB prints it in messages: ``AttributeValue: {N:5}``."""
    t = type_of(value)
    return f"AttributeValue: {{{t}:{value[t]}}}"


class _Resolver:
    def __init__(self, kind: str, names: Names | None, values: Values | None) -> None:
        self.kind = kind
        self.names = names or {}
        self.values = values or {}

    def error(self, message: str) -> ValidationException:
        return ValidationException(f"Invalid {self.kind}: {message}")

    def path(self, node: n.PathNode) -> n.PathNode:
        out: list[str | int] = []
        for element in node.elements:
            if isinstance(element, str) and element.startswith("#"):
                real = self.names.get(element)
                if real is None:
                    raise self.error(
                        "An expression attribute name used in the document path is not defined; "
                        f"attribute name: {element}"
                    )
                out.append(real)
            else:
                out.append(element)
        return n.PathNode(tuple(out))

    def value(self, node: n.ValueRef) -> n.Literal:
        value = self.values.get(node.name)
        if value is None:
            raise self.error(
                f"An expression attribute value used in expression is not defined; attribute value: {node.name}"
            )
        return n.Literal(value)

    def operand(self, node: Any) -> Any:
        if isinstance(node, n.PathNode):
            return self.path(node)
        if isinstance(node, n.ValueRef):
            return self.value(node)
        if isinstance(node, n.Size):
            return n.Size(self.path(node.path))
        if isinstance(node, n.IfNotExists):
            return n.IfNotExists(self.path(node.path), self.set_value(node.default))
        if isinstance(node, n.ListAppend):
            return n.ListAppend(self.set_value(node.first), self.set_value(node.second))
        return node

    # ------------------------------------------------------------ conditions

    def condition(self, node: n.Condition) -> n.Condition:
        if isinstance(node, n.And):
            return n.And(self.condition(node.left), self.condition(node.right))
        if isinstance(node, n.Or):
            return n.Or(self.condition(node.left), self.condition(node.right))
        if isinstance(node, n.Not):
            return n.Not(self.condition(node.operand))
        if isinstance(node, n.Compare):
            left, right = self.operand(node.left), self.operand(node.right)
            if isinstance(left, n.PathNode) and left == right:
                raise self.error(
                    "The first operand must be distinct from the second operand; "
                    f"operator: {node.op}, first operand: {left}, second operand: {right}"
                )
            return n.Compare(node.op, left, right)
        if isinstance(node, n.Between):
            low, high = self.operand(node.low), self.operand(node.high)
            if isinstance(low, n.Literal) and isinstance(high, n.Literal):
                self.check_bounds(low.value, high.value)
            return n.Between(self.operand(node.operand), low, high)
        if isinstance(node, n.In):
            return n.In(self.operand(node.operand), tuple(self.operand(o) for o in node.options))
        return self.function(node)

    def check_bounds(self, low: dict[str, Any], high: dict[str, Any]) -> None:
        bounds = f"lower bound operand: {format_value(low)}, upper bound operand: {format_value(high)}"
        if type_of(low) != type_of(high):
            raise self.error(f"The BETWEEN operator requires same data type for lower and upper bounds; {bounds}")
        order = compare_values(low, high)
        if order is not None and order > 0:
            raise self.error(
                f"The BETWEEN operator requires upper bound to be greater than or equal to lower bound; {bounds}"
            )

    def function(self, node: n.Function) -> n.Function:
        args = tuple(self.operand(a) for a in node.args)
        if node.name == "attribute_type":
            wanted = args[1]
            if isinstance(wanted, n.Literal):
                if type_of(wanted.value) != "S":
                    raise self.operand_type(node.name, type_of(wanted.value))
                if wanted.value["S"] not in VALID_TYPE_NAMES:
                    raise self.error(
                        f"Invalid attribute type name found; type: {wanted.value['S']}, "
                        "valid types: {" + ",".join(VALID_TYPE_NAMES) + "}"
                    )
        elif node.name in ("begins_with", "contains"):
            for arg in args if node.name == "begins_with" else args[:1]:
                if isinstance(arg, n.Literal) and type_of(arg.value) not in ("S", "B"):
                    raise self.operand_type(node.name, type_of(arg.value))
        return n.Function(node.name, args)

    def operand_type(self, name: str, type_name: str) -> ValidationException:
        return self.error(
            f"Incorrect operand type for operator or function; operator or function: {name}, operand type: {type_name}"
        )

    # ------------------------------------------------------------ updates

    def set_value(self, node: n.SetValue) -> n.SetValue:
        if isinstance(node, n.Arithmetic):
            left, right = self.set_value(node.left), self.set_value(node.right)
            for side in (left, right):
                if isinstance(side, n.Literal) and type_of(side.value) != "N":
                    raise self.operand_type(node.op, type_of(side.value))
            return n.Arithmetic(node.op, left, right)
        resolved = self.operand(node)
        if isinstance(resolved, n.ListAppend):
            for side in (resolved.first, resolved.second):
                if isinstance(side, n.Literal) and type_of(side.value) != "L":
                    raise self.operand_type("list_append", type_of(side.value))
        return resolved

    def update(self, ast: n.UpdateAst) -> n.UpdateAst:
        sets = tuple(n.SetAction(self.path(a.path), self.set_value(a.value)) for a in ast.sets)
        removes = tuple(n.RemoveAction(self.path(a.path)) for a in ast.removes)
        adds = []
        for a in ast.adds:
            value = self.value(a.value)  # type: ignore[arg-type]
            t = type_of(value.value)
            if t not in ("N", "SS", "NS", "BS"):
                raise self.error(
                    "Incorrect operand type for operator or function; "
                    f"operator: ADD, operand type: {LONG_TYPE_NAMES[t]}"
                )
            adds.append(n.AddAction(self.path(a.path), value))
        deletes = []
        for a in ast.deletes:
            value = self.value(a.value)  # type: ignore[arg-type]
            t = type_of(value.value)
            if t not in ("SS", "NS", "BS"):
                raise self.error(
                    "Incorrect operand type for operator or function; "
                    f"operator: DELETE, operand type: {LONG_TYPE_NAMES[t]}"
                )
            deletes.append(n.DeleteAction(self.path(a.path), value))
        return n.UpdateAst(sets, removes, tuple(adds), tuple(deletes))


def resolve(parsed: n.Parsed, names: Names | None = None, values: Values | None = None) -> Any:
    """The parsed tree with placeholders replaced; missing placeholders raise ValidationException.

    ``values`` must already be valid AttributeValues (see :func:`validate_request_placeholders`).
    Returns a condition node, an :class:`UpdateAst` or a tuple of paths, matching ``parsed.kind``.
    """
    resolver = _Resolver(parsed.kind, names, values)
    if parsed.kind == "UpdateExpression":
        return resolver.update(parsed.root)
    if parsed.kind == "ProjectionExpression":
        paths = tuple(resolver.path(p) for p in parsed.root)
        check_paths([p.elements for p in paths], parsed.kind)
        return paths
    return resolver.condition(parsed.root)


def validate_request_placeholders(
    expressions: Iterable[n.Parsed | None], names: Any = None, values: Any = None
) -> dict[str, dict[str, Any]]:
    """Check a request's ExpressionAttributeNames/Values against all its parsed expressions.

    Refuses empty maps, maps given without expressions, unused entries and invalid values.
    Returns the values with numbers in canonical form.
    """
    if names is None and values is None:  # nothing to check (unused placeholders need a map)
        return {}
    used = [e for e in expressions if e is not None]
    for label, mapping in (("ExpressionAttributeNames", names), ("ExpressionAttributeValues", values)):
        if mapping is None:
            continue
        if not isinstance(mapping, dict):
            raise ValidationException(f"{label} must be a map")
        if not mapping:
            raise ValidationException(f"{label} must not be empty")
        if not used:
            raise ValidationException(f"{label} can only be specified when using expressions")
    names = names or {}
    for key, real in names.items():
        if not isinstance(real, str) or not real:
            raise ValidationException(f"ExpressionAttributeNames contains invalid value: empty name for key {key}")
    unused_names = set(names) - set().union(*(e.names for e in used))
    if unused_names:
        keys = ", ".join(sorted(unused_names))
        raise ValidationException(f"Value provided in ExpressionAttributeNames unused in expressions: keys: {{{keys}}}")
    unused_values = set(values or {}) - set().union(*(e.values for e in used))
    if unused_values:
        keys = ", ".join(sorted(unused_values))
        raise ValidationException(
            f"Value provided in ExpressionAttributeValues unused in expressions: keys: {{{keys}}}"
        )
    checked: dict[str, dict[str, Any]] = {}
    for key, value in (values or {}).items():
        try:
            checked[key] = validate_value(value)
        except ValidationException as exc:
            raise ValidationException(
                f"ExpressionAttributeValues contains invalid value: {exc.message} for key {key}"
            ) from None
    return checked
