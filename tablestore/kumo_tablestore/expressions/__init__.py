"""DynamoDB expressions: parse (cached) → resolve placeholders → evaluate / apply / project.

Typical use for one request::

    cond = parse_condition(text)
    values = validate_request_placeholders([cond, ...], names, raw_values)
    node = resolve(cond, names, values)
    if evaluate(node, item): ...

All errors are :class:`kumo_tablestore.errors.ValidationException` with DynamoDB's messages.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ..values import Item, Path
from .evaluate import evaluate
from .key_condition import KeyCondition, KeySchema, SortCondition, analyze_key_condition
from .nodes import Parsed, PathNode, UpdateAst
from .parser import (
    clear_cache,
    parse_condition,
    parse_key_condition,
    parse_projection,
    parse_update,
)
from .projection import project
from .reserved import RESERVED_WORDS, is_reserved
from .resolve import resolve, validate_request_placeholders
from .update import UpdateResult, apply_update

__all__ = [
    "RESERVED_WORDS",
    "KeyCondition",
    "KeySchema",
    "Parsed",
    "PathNode",
    "SortCondition",
    "UpdateAst",
    "UpdateResult",
    "analyze_key_condition",
    "apply_update",
    "clear_cache",
    "compile_condition",
    "compile_key_condition",
    "compile_projection",
    "compile_update",
    "evaluate",
    "is_reserved",
    "parse_condition",
    "parse_key_condition",
    "parse_projection",
    "parse_update",
    "project",
    "resolve",
    "update_item",
    "validate_request_placeholders",
]


def compile_condition(
    text: str,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    kind: str = "ConditionExpression",
) -> Any:
    """Parse and resolve a condition or filter expression (values must be validated)."""
    return resolve(parse_condition(text, kind), names, values)


def compile_update(text: str, names: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> UpdateAst:
    """Parse and resolve an update expression."""
    return resolve(parse_update(text), names, values)


def compile_projection(text: str, names: dict[str, str] | None = None) -> list[Path]:
    """Parse and resolve a projection expression into plain paths."""
    return [p.elements for p in resolve(parse_projection(text), names, None)]


def compile_key_condition(
    text: str, schema: KeySchema, names: dict[str, str] | None = None, values: dict[str, Any] | None = None
) -> KeyCondition:
    """Parse, resolve and analyze a KeyConditionExpression against ``schema``."""
    return analyze_key_condition(resolve(parse_key_condition(text), names, values), schema)


def update_item(
    text: str,
    item: Item | None,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    key_names: Collection[str] = (),
) -> UpdateResult:
    """Parse, resolve and apply an update expression in one call."""
    return apply_update(compile_update(text, names, values), item, key_names)
