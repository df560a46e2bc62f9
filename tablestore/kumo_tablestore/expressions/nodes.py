"""AST node types for condition, key-condition, update and projection expressions.

A parsed tree still holds placeholders (``#n`` path elements, :class:`ValueRef`); after
:func:`~kumo_tablestore.expressions.resolve` paths hold real names and values are :class:`Literal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PathNode:
    """A document path: names (or ``#placeholders`` before resolution) and list indexes."""

    elements: tuple[str | int, ...]

    def __str__(self) -> str:
        return "[" + ", ".join(f"[{e}]" if isinstance(e, int) else e for e in self.elements) + "]"


@dataclass(frozen=True, slots=True)
class ValueRef:
    """An ``:placeholder`` not yet resolved."""

    name: str


@dataclass(frozen=True, slots=True)
class Literal:
    """A resolved ExpressionAttributeValue."""

    value: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Size:
    path: PathNode


Operand = PathNode | ValueRef | Literal | Size


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # = <> < <= > >=
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Between:
    operand: Operand
    low: Operand
    high: Operand


@dataclass(frozen=True, slots=True)
class In:
    operand: Operand
    options: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class Function:
    """A boolean function: attribute_exists, attribute_not_exists, attribute_type, begins_with, contains."""

    name: str
    args: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class And:
    left: Condition
    right: Condition


@dataclass(frozen=True, slots=True)
class Or:
    left: Condition
    right: Condition


@dataclass(frozen=True, slots=True)
class Not:
    operand: Condition


Condition = Compare | Between | In | Function | And | Or | Not


# ---------------------------------------------------------------- update expressions


@dataclass(frozen=True, slots=True)
class IfNotExists:
    path: PathNode
    default: SetValue


@dataclass(frozen=True, slots=True)
class ListAppend:
    first: SetValue
    second: SetValue


@dataclass(frozen=True, slots=True)
class Arithmetic:
    op: str  # + or -
    left: SetValue
    right: SetValue


SetValue = PathNode | ValueRef | Literal | IfNotExists | ListAppend | Arithmetic


@dataclass(frozen=True, slots=True)
class SetAction:
    path: PathNode
    value: SetValue


@dataclass(frozen=True, slots=True)
class RemoveAction:
    path: PathNode


@dataclass(frozen=True, slots=True)
class AddAction:
    path: PathNode
    value: ValueRef | Literal


@dataclass(frozen=True, slots=True)
class DeleteAction:
    path: PathNode
    value: ValueRef | Literal


@dataclass(frozen=True, slots=True)
class UpdateAst:
    sets: tuple[SetAction, ...] = ()
    removes: tuple[RemoveAction, ...] = ()
    adds: tuple[AddAction, ...] = ()
    deletes: tuple[DeleteAction, ...] = ()

    def actions(self) -> tuple[SetAction | RemoveAction | AddAction | DeleteAction, ...]:
        return (*self.sets, *self.removes, *self.adds, *self.deletes)


# ---------------------------------------------------------------- a parsed expression


@dataclass(frozen=True, slots=True)
class Parsed:
    """One parsed expression plus the placeholders it uses (for the request-wide unused check)."""

    kind: str  # "ConditionExpression", "UpdateExpression", ...
    root: Any  # Condition | UpdateAst | tuple[PathNode, ...]
    names: frozenset[str]
    values: frozenset[str]
