"""Check a resolved KeyConditionExpression against a table's key schema.

The result names the partition value and the sort-key condition (kind and bounds) so a
partition server can seek instead of filtering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ValidationException
from ..values import AttributeValue, begins_with, compare_values, type_of, values_equal
from . import nodes as n

_FLIPPED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_TYPE_MISMATCH = "One or more parameter values were invalid: Condition parameter type does not match schema type"


@dataclass(frozen=True)
class KeySchema:
    """Partition key name and type (``S``/``N``/``B``), optional sort key name and type."""

    partition_key: str
    partition_type: str
    sort_key: str | None = None
    sort_type: str | None = None


@dataclass(frozen=True)
class SortCondition:
    """``op`` is one of ``= < <= > >= BETWEEN begins_with``; ``values`` has 1 value (2 for BETWEEN)."""

    name: str
    op: str
    values: tuple[AttributeValue, ...]

    def matches(self, value: AttributeValue | None) -> bool:
        """True when a sort-key value satisfies this condition."""
        if self.op == "begins_with":
            return begins_with(value, self.values[0])
        if self.op == "=":
            return values_equal(value, self.values[0])
        order = compare_values(value, self.values[0])
        if order is None:
            return False
        if self.op == "BETWEEN":
            upper = compare_values(value, self.values[1])
            return order >= 0 and upper is not None and upper <= 0
        return {"<": order < 0, "<=": order <= 0, ">": order > 0, ">=": order >= 0}[self.op]


@dataclass(frozen=True)
class KeyCondition:
    partition_key: str
    partition_value: AttributeValue
    sort: SortCondition | None = None


def _invalid_operator(name: str) -> ValidationException:
    return ValidationException(f"Invalid operator used in KeyConditionExpression: {name}")


def _flatten(node: Any, out: list[Any]) -> None:
    if isinstance(node, n.And):
        _flatten(node.left, out)
        _flatten(node.right, out)
    elif isinstance(node, n.Or):
        raise _invalid_operator("OR")
    elif isinstance(node, n.Not):
        raise _invalid_operator("NOT")
    elif isinstance(node, n.In):
        raise _invalid_operator("IN")
    else:
        out.append(node)


def _key_name(node: Any) -> str:
    if isinstance(node, n.Size):
        raise _invalid_operator("size")
    if not isinstance(node, n.PathNode):
        raise ValidationException("Invalid condition in KeyConditionExpression: No key attribute specified")
    if len(node.elements) != 1:
        raise ValidationException(
            "Invalid condition in KeyConditionExpression: Nested attributes are not supported in key conditions"
        )
    return str(node.elements[0])


def _literal(node: Any) -> AttributeValue:
    if isinstance(node, n.PathNode | n.Size):
        raise ValidationException(
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"
        )
    return node.value


def _condition(node: Any) -> SortCondition:
    if isinstance(node, n.Compare):
        if node.op not in _FLIPPED:
            raise _invalid_operator(node.op)
        if isinstance(node.left, n.Literal):
            return SortCondition(_key_name(node.right), _FLIPPED[node.op], (_literal(node.left),))
        return SortCondition(_key_name(node.left), node.op, (_literal(node.right),))
    if isinstance(node, n.Between):
        return SortCondition(_key_name(node.operand), "BETWEEN", (_literal(node.low), _literal(node.high)))
    if isinstance(node, n.Function) and node.name == "begins_with":
        return SortCondition(_key_name(node.args[0]), "begins_with", (_literal(node.args[1]),))
    raise _invalid_operator(node.name if isinstance(node, n.Function) else type(node).__name__)


def analyze_key_condition(node: n.Condition, schema: KeySchema) -> KeyCondition:
    """Validate a resolved key condition and describe it; raises DynamoDB's messages."""
    flat: list[Any] = []
    _flatten(node, flat)
    if len(flat) > 2:
        raise ValidationException("Conditions can be of length 1 or 2 only")
    conditions = [_condition(c) for c in flat]
    if len(conditions) == 2 and conditions[0].name == conditions[1].name:
        raise ValidationException(
            "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key"
        )
    by_name = {c.name: c for c in conditions}
    partition = by_name.pop(schema.partition_key, None)
    if partition is None:
        raise ValidationException(f"Query condition missed key schema element: {schema.partition_key}")
    if partition.op != "=":
        raise ValidationException("Query key condition not supported")
    if type_of(partition.values[0]) != schema.partition_type:
        raise ValidationException(_TYPE_MISMATCH)
    sort = None
    if by_name:
        (sort,) = by_name.values()
        if schema.sort_key is None:
            raise ValidationException("Query key condition not supported")
        if sort.name != schema.sort_key:
            raise ValidationException(f"Query condition missed key schema element: {schema.sort_key}")
        for value in sort.values:
            t = type_of(value)
            if sort.op == "begins_with" and t not in ("S", "B"):
                raise ValidationException(
                    "Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
                    f"operator or function: begins_with, operand type: {t}"
                )
            if t != schema.sort_type:
                raise ValidationException(_TYPE_MISMATCH)
    return KeyCondition(schema.partition_key, partition.values[0], sort)
