"""Request-level validation shared by every operation: parameter types, legacy parameters,
ReturnValues/Select/ReturnConsumedCapacity and the request's expressions with their placeholders.

Pure functions raising :class:`ValidationException` with DynamoDB's messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kumo_tablestore.errors import ResourceNotFoundException, ValidationException
from kumo_tablestore.expressions import (
    UpdateAst,
    parse_condition,
    parse_key_condition,
    parse_projection,
    parse_update,
    resolve,
    validate_request_placeholders,
)
from kumo_tablestore.expressions import nodes as n
from kumo_tablestore.server.table_meta import TableMeta
from kumo_tablestore.values import Path

#: Legacy (pre-expression) parameters and the expression to use instead. Kumo refuses them.
LEGACY_PARAMETERS = {
    "Expected": "ConditionExpression",
    "AttributesToGet": "ProjectionExpression",
    "KeyConditions": "KeyConditionExpression",
    "QueryFilter": "FilterExpression",
    "ScanFilter": "FilterExpression",
    "ConditionalOperator": "ConditionExpression or FilterExpression",
    "AttributeUpdates": "UpdateExpression",
}

CAPACITY_MODES = ("NONE", "TOTAL", "INDEXES")
#: The expressions a Query takes (the router checks them as the partition does before it routes a Query).
QUERY_EXPRESSIONS = ("KeyConditionExpression", "FilterExpression", "ProjectionExpression")
#: Queries (table or index) with a ``Limit`` up to this read on the event loop (like GetItem); larger
#: ones in a thread.
INLINE_LIMIT = 25


def refuse_legacy(body: dict[str, Any]) -> None:
    """Kumo supports expressions only: a legacy parameter gets a clear ValidationException."""
    for name, instead in LEGACY_PARAMETERS.items():
        if name in body:
            raise ValidationException(f"Kumo supports expressions only: use {instead} instead of {name}")


def check_table(body: dict[str, Any], meta: TableMeta) -> None:
    """A request naming another table than the one this partition serves is for a missing table."""
    name = body.get("TableName")
    if name is not None and name != meta.name:
        raise ResourceNotFoundException()


def constraint(value: Any, field: str, rule: str) -> ValidationException:
    return ValidationException(
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {rule}"
    )


def enum(body: dict[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = body.get(name, default)
    if value is None:
        return default
    if value not in allowed:
        field = name[0].lower() + name[1:]
        raise constraint(value, field, f"Member must satisfy enum value set: [{', '.join(allowed)}]")
    return value


def return_values(body: dict[str, Any], allowed: tuple[str, ...]) -> str:
    """``ReturnValues``: DynamoDB's message for a value the operation does not allow."""
    value = body.get("ReturnValues", "NONE")
    if value is None:
        return "NONE"
    if value not in allowed:
        raise ValidationException("Return values set to invalid value")
    return value


def return_values_on_failure(body: dict[str, Any]) -> str:
    return enum(body, "ReturnValuesOnConditionCheckFailure", ("ALL_OLD", "NONE"), "NONE")


def capacity_mode(body: dict[str, Any]) -> str:
    return enum(body, "ReturnConsumedCapacity", CAPACITY_MODES, "NONE")


def boolean(body: dict[str, Any], name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValidationException(f"Invalid value for {name}: must be a boolean")
    return value


def limit(body: dict[str, Any]) -> int | None:
    value = body.get("Limit")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationException("Invalid value for Limit: must be an integer")
    if value < 1:
        raise constraint(value, "limit", "Member must have value greater than or equal to 1")
    return value


def require_map(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if value is None:
        raise ValidationException(
            f"1 validation error detected: Value null at '{name[0].lower() + name[1:]}' "
            "failed to satisfy constraint: Member must not be null"
        )
    if not isinstance(value, dict):
        raise ValidationException(f"Invalid value for {name}: must be a map")
    return value


# ---- expressions -----------------------------------------------------------------------------------


@dataclass
class Expressions:
    """A request's resolved expressions (``None`` where the request has none)."""

    condition: Any = None
    update: UpdateAst | None = None
    projection: list[Path] | None = None
    filter: Any = None
    key_condition: Any = None


_PARSERS = {
    "ConditionExpression": lambda text: parse_condition(text, "ConditionExpression"),
    "FilterExpression": lambda text: parse_condition(text, "FilterExpression"),
    "KeyConditionExpression": parse_key_condition,
    "UpdateExpression": parse_update,
    "ProjectionExpression": parse_projection,
}
_FIELDS = {
    "ConditionExpression": "condition",
    "FilterExpression": "filter",
    "KeyConditionExpression": "key_condition",
    "UpdateExpression": "update",
    "ProjectionExpression": "projection",
}


def compile_expressions(body: dict[str, Any], kinds: tuple[str, ...]) -> Expressions:
    """Parse the request's expressions of ``kinds``, check placeholders across all, and resolve."""
    parsed = {kind: _PARSERS[kind](body[kind]) for kind in kinds if body.get(kind) is not None}
    names = body.get("ExpressionAttributeNames")
    values = validate_request_placeholders(parsed.values(), names, body.get("ExpressionAttributeValues"))
    out = Expressions()
    for kind, tree in parsed.items():
        resolved = resolve(tree, names, values)
        if kind == "ProjectionExpression":
            resolved = [p.elements for p in resolved]
        setattr(out, _FIELDS[kind], resolved)
    return out


def condition_paths(node: Any) -> list[Path]:
    """Every document path a resolved condition refers to."""
    out: list[Path] = []
    stack = [node]
    while stack:
        x = stack.pop()
        if isinstance(x, n.PathNode):
            out.append(x.elements)
        elif isinstance(x, n.Size):
            stack.append(x.path)
        elif isinstance(x, n.Compare | n.And | n.Or):
            stack += [x.left, x.right]
        elif isinstance(x, n.Not):
            stack.append(x.operand)
        elif isinstance(x, n.Between):
            stack += [x.operand, x.low, x.high]
        elif isinstance(x, n.In):
            stack += [x.operand, *x.options]
        elif isinstance(x, n.Function):
            stack += list(x.args)
    return out
