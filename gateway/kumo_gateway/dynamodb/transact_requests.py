"""TransactWriteItems and TransactGetItems requests: validation into actions, grouping by partition. Pure.

DynamoDB's rules: 1 to 100 actions, a request of at most 4 MB, each write action exactly one of
``Put``/``Update``/``Delete``/``ConditionCheck``, at most one action per item, a ``ClientRequestToken``
of 1 to 36 characters. Expressions are checked here too, so a bad one fails the request before any
partition holds a lock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from kumo_gateway.dynamodb.json_protocol import SerializationError, check_table_name, dumps
from kumo_gateway.dynamodb.partition_choice import item_partition, key_identity, key_partition
from kumo_gateway.dynamodb.table_directory import TableRoute
from kumo_tablestore.capacity import Consumption
from kumo_tablestore.errors import DynamoError, ResourceNotFoundException, ValidationException
from kumo_tablestore.server.requests import compile_expressions

MAX_ACTIONS = 100
MAX_REQUEST_BYTES = 4 * 1024 * 1024
MAX_TOKEN_CHARS = 36
WRITE_KINDS = ("Put", "Update", "Delete", "ConditionCheck")
_EXPRESSIONS = {
    "Put": ("ConditionExpression",),
    "Update": ("ConditionExpression", "UpdateExpression"),
    "Delete": ("ConditionExpression",),
    "ConditionCheck": ("ConditionExpression",),
    "Get": ("ProjectionExpression",),
}
DUPLICATE_ITEM = "Transaction request cannot include multiple operations on one item"


class IdempotentParameterMismatch(DynamoError):
    def __init__(self) -> None:
        super().__init__(
            "IdempotentParameterMismatchException",
            "The request uses the same client token as a previous, but non-identical request.",
        )


class TransactionInProgress(DynamoError):
    def __init__(self) -> None:
        super().__init__(
            "TransactionInProgressException", "The transaction with the given request token is already in progress."
        )


@dataclass(frozen=True)
class Action:
    """One action of a transaction: its place in the request, kind, table and partition, and its body."""

    index: int
    kind: str
    table: str
    partition: int
    op: dict[str, Any]


Lookup = Any  # (table name) -> TableRoute | None


def _constraint(value: Any, field: str, rule: str) -> ValidationException:
    return ValidationException(
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {rule}"
    )


def _items_list(request: dict[str, Any], size: int) -> list[Any]:
    if size > MAX_REQUEST_BYTES:
        raise ValidationException("Transaction request size exceeds the maximum allowed size of 4 MB")
    items = request.get("TransactItems")
    if items is None:
        raise _constraint("null", "transactItems", "Member must not be null")
    if not isinstance(items, list):
        raise SerializationError("TransactItems must be a list")
    if not 1 <= len(items) <= MAX_ACTIONS:
        raise _constraint(
            items if len(items) < 3 else f"[{len(items)} items]",
            "transactItems",
            "Member must have length less than or equal to 100 and greater than or equal to 1",
        )
    return items


def _action(index: int, entry: Any, kinds: tuple[str, ...], lookup: Lookup) -> tuple[Action, TableRoute]:
    if not isinstance(entry, dict):
        raise SerializationError("Each TransactItems entry must be a map")
    present = [k for k in kinds if entry.get(k) is not None]
    if len(present) != 1 or len(entry) != 1:
        raise ValidationException(
            "TransactItems can only contain one of Check, Put, Update or Delete"
            if kinds == WRITE_KINDS
            else "TransactItems can only contain Get"
        )
    kind = present[0]
    op = entry[kind]
    if not isinstance(op, dict):
        raise SerializationError(f"{kind} must be a map")
    name = op.get("TableName")
    if name is None:
        raise _constraint(
            "null",
            f"transactItems.{index + 1}.member.{kind[0].lower() + kind[1:]}.tableName",
            "Member must not be null",
        )
    check_table_name(name)
    route = lookup(name)
    if route is None:
        raise ResourceNotFoundException("Requested resource not found")
    if kind == "ConditionCheck" and op.get("ConditionExpression") is None:
        raise ValidationException("The ConditionExpression parameter is required for ConditionCheck")
    if kind == "Update" and op.get("UpdateExpression") is None:
        raise ValidationException("The UpdateExpression parameter is required for Update")
    partition = item_partition(route, op.get("Item")) if kind == "Put" else key_partition(route, op.get("Key"))
    compile_expressions(op, _EXPRESSIONS[kind])  # placeholders and syntax, with DynamoDB's messages
    on_failure = op.get("ReturnValuesOnConditionCheckFailure")
    if on_failure is not None and on_failure not in ("ALL_OLD", "NONE"):
        raise _constraint(
            on_failure, "returnValuesOnConditionCheckFailure", "Member must satisfy enum value set: [ALL_OLD, NONE]"
        )
    return Action(index, kind, name, partition, op), route


def _identity(route: TableRoute, action: Action) -> str:
    source = action.op.get("Item") if action.kind == "Put" else action.op.get("Key")
    key = {k: source.get(k) for k in route.key_names} if isinstance(source, dict) else {}
    return action.table + "\x00" + key_identity(route, key)


def _parse(request: dict[str, Any], size: int, kinds: tuple[str, ...], lookup: Lookup) -> list[Action]:
    out: list[Action] = []
    seen: set[str] = set()
    for index, entry in enumerate(_items_list(request, size)):
        action, route = _action(index, entry, kinds, lookup)
        ident = _identity(route, action)
        if ident in seen:
            raise ValidationException(DUPLICATE_ITEM)
        seen.add(ident)
        out.append(action)
    return out


def parse_write(request: dict[str, Any], size: int, lookup: Lookup) -> list[Action]:
    """The actions of a TransactWriteItems request (raises the client's error)."""
    token = request.get("ClientRequestToken")
    if token is not None and (not isinstance(token, str) or not 1 <= len(token) <= MAX_TOKEN_CHARS):
        raise _constraint(token, "clientRequestToken", "Member must have length less than or equal to 36")
    _enum(request, "ReturnConsumedCapacity", ("INDEXES", "TOTAL", "NONE"))
    _enum(request, "ReturnItemCollectionMetrics", ("SIZE", "NONE"))
    return _parse(request, size, WRITE_KINDS, lookup)


def parse_get(request: dict[str, Any], size: int, lookup: Lookup) -> list[Action]:
    """The actions of a TransactGetItems request."""
    _enum(request, "ReturnConsumedCapacity", ("INDEXES", "TOTAL", "NONE"))
    return _parse(request, size, ("Get",), lookup)


def _enum(request: dict[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    value = request.get(name)
    if value is not None and value not in allowed:
        field = name[0].lower() + name[1:]
        raise _constraint(value, field, f"Member must satisfy enum value set: [{', '.join(allowed)}]")


def group(actions: list[Action]) -> dict[tuple[str, int], list[Action]]:
    """Actions by ``(table, partition)``, groups in the order of their first action (the first holds the decision)."""
    out: dict[tuple[str, int], list[Action]] = {}
    for a in actions:
        out.setdefault((a.table, a.partition), []).append(a)
    return out


def request_fingerprint(request: dict[str, Any]) -> str:
    """A digest of everything but the token: the same token with another fingerprint is a mismatch."""
    rest = {k: v for k, v in request.items() if k != "ClientRequestToken"}
    return hashlib.sha256(dumps(_sorted(rest))).hexdigest()


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def consumed_capacity(units: list[tuple[str, Consumption]], mode: str | None) -> list[dict[str, Any]] | None:
    """``ConsumedCapacity`` per table (in first-seen order) of each action's ``(table, units)``; None if not asked.

    ``INDEXES`` adds the ``Table`` / ``GlobalSecondaryIndexes`` / ``LocalSecondaryIndexes`` breakdown.
    """
    if mode not in ("TOTAL", "INDEXES"):
        return None
    totals: dict[str, Consumption] = {}
    for table, used in units:
        totals.setdefault(table, Consumption()).add(used)
    return [used.to_wire(table, mode) for table, used in totals.items()]  # type: ignore[misc,arg-type]
