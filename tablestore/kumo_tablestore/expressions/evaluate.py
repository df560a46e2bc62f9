"""Evaluate a resolved condition against an item.

Missing attributes and type mismatches make comparisons false (``<>`` true), never errors.
"""

from __future__ import annotations

from typing import Any

from ..values import (
    AttributeValue,
    Item,
    begins_with,
    compare_values,
    contains_value,
    get_path,
    size_of,
    type_of,
    values_equal,
)
from . import nodes as n


def operand_value(node: Any, item: Item) -> AttributeValue | None:
    """The value of a resolved operand (path, literal or size) in ``item``; ``None`` when absent."""
    if isinstance(node, n.PathNode):
        return get_path(item, node.elements)
    if isinstance(node, n.Literal):
        return node.value
    if isinstance(node, n.Size):
        size = size_of(get_path(item, node.path.elements))
        return None if size is None else {"N": str(size)}
    raise TypeError(f"not an operand: {node!r}")


def _compare(op: str, left: AttributeValue | None, right: AttributeValue | None) -> bool:
    if op == "=":
        return values_equal(left, right)
    if op == "<>":
        return not values_equal(left, right)
    order = compare_values(left, right)
    if order is None:
        return False
    if op == "<":
        return order < 0
    if op == "<=":
        return order <= 0
    if op == ">":
        return order > 0
    return order >= 0


def _function(node: n.Function, item: Item) -> bool:
    name = node.name
    first = operand_value(node.args[0], item)
    if name == "attribute_exists":
        return first is not None
    if name == "attribute_not_exists":
        return first is None
    second = operand_value(node.args[1], item)
    if name == "begins_with":
        return begins_with(first, second)
    if name == "contains":
        return contains_value(first, second)
    # attribute_type
    if first is None or second is None or "S" not in second:
        return False
    return type_of(first) == second["S"]


def evaluate(node: n.Condition, item: Item) -> bool:
    """True when ``item`` satisfies the resolved condition ``node``."""
    if isinstance(node, n.Compare):
        return _compare(node.op, operand_value(node.left, item), operand_value(node.right, item))
    if isinstance(node, n.And):
        return evaluate(node.left, item) and evaluate(node.right, item)
    if isinstance(node, n.Or):
        return evaluate(node.left, item) or evaluate(node.right, item)
    if isinstance(node, n.Not):
        return not evaluate(node.operand, item)
    if isinstance(node, n.Function):
        return _function(node, item)
    if isinstance(node, n.Between):
        value = operand_value(node.operand, item)
        low = compare_values(value, operand_value(node.low, item))
        high = compare_values(value, operand_value(node.high, item))
        return low is not None and high is not None and low >= 0 and high <= 0
    if isinstance(node, n.In):
        value = operand_value(node.operand, item)
        return any(values_equal(value, operand_value(o, item)) for o in node.options)
    raise TypeError(f"not a condition: {node!r}")
