"""Apply a resolved update expression to an item.

Every action sees the item as it was before the update; all validation happens before the
copy is changed, and the input item is never modified.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

from ..errors import ValidationException
from ..numbers import add_numbers, subtract_numbers
from ..values import (
    INVALID_UPDATE_PATH,
    SET_TYPES,
    AttributeValue,
    Item,
    Path,
    copy_value,
    decode_binary,
    get_path,
    remove_path,
    set_path,
    type_of,
)
from . import nodes as n

WRONG_TYPE = "An operand in the update expression has an incorrect data type"
MISSING_ATTRIBUTE = "The provided expression refers to an attribute that does not exist in the item"


@dataclass
class UpdateResult:
    """The new item and the paths the update touched (for UPDATED_OLD / UPDATED_NEW)."""

    item: Item
    updated_paths: tuple[Path, ...]

    @property
    def updated_names(self) -> frozenset[str]:
        return frozenset(str(p[0]) for p in self.updated_paths)


def _format_path(path: Path) -> str:
    return str(n.PathNode(path))


def _sort_key(path: Path) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, e) if isinstance(e, int) else (1, e) for e in path)


def check_paths(paths: list[Path], kind: str) -> None:
    """Refuse two paths where one contains the other (overlap) or that disagree on list vs map.

    After sorting, a clashing pair always sits next to another clashing pair, so only
    neighbours are compared (O(n log n) for long REMOVE lists).
    """
    order = sorted(range(len(paths)), key=lambda i: _sort_key(paths[i]))
    for i, j in pairwise(order):
        one, two = paths[min(i, j)], paths[max(i, j)]
        k = 0
        limit = min(len(one), len(two))
        while k < limit and one[k] == two[k]:
            k += 1
        if k == limit:
            problem = "overlap"
        elif k > 0 and isinstance(one[k], int) != isinstance(two[k], int):
            problem = "conflict"
        else:
            continue
        raise ValidationException(
            f"Invalid {kind}: Two document paths {problem} with each other; must remove or rewrite "
            f"one of these paths; path one: {_format_path(one)}, path two: {_format_path(two)}"
        )


def _set_value(node: n.SetValue, item: Item) -> AttributeValue:
    if isinstance(node, n.Literal):
        return node.value
    if isinstance(node, n.PathNode):
        value = get_path(item, node.elements)
        if value is None:
            raise ValidationException(MISSING_ATTRIBUTE)
        return value
    if isinstance(node, n.IfNotExists):
        current = get_path(item, node.path.elements)
        return current if current is not None else _set_value(node.default, item)
    if isinstance(node, n.ListAppend):
        first, second = _set_value(node.first, item), _set_value(node.second, item)
        if "L" not in first or "L" not in second:
            raise ValidationException(WRONG_TYPE)
        return {"L": first["L"] + second["L"]}
    if isinstance(node, n.Arithmetic):
        left, right = _set_value(node.left, item), _set_value(node.right, item)
        if "N" not in left or "N" not in right:
            raise ValidationException(WRONG_TYPE)
        combine = add_numbers if node.op == "+" else subtract_numbers
        return {"N": combine(left["N"], right["N"])}
    raise TypeError(f"not an update value: {node!r}")


def _set_keys(t: str, elements: list[str]) -> list[object]:
    element = SET_TYPES[t]
    if element == "N":
        return [Decimal(x) for x in elements]
    if element == "B":
        return [decode_binary(x) for x in elements]
    return list(elements)


def _added(current: AttributeValue | None, value: AttributeValue) -> AttributeValue:
    if current is None:
        return value
    t = type_of(value)
    if t not in current:
        raise ValidationException(WRONG_TYPE)
    if t == "N":
        return {"N": add_numbers(current["N"], value["N"])}
    seen = set(_set_keys(t, current[t]))
    merged = list(current[t])
    for key, raw in zip(_set_keys(t, value[t]), value[t], strict=True):
        if key not in seen:
            seen.add(key)
            merged.append(raw)
    return {t: merged}


def _deleted(current: AttributeValue, value: AttributeValue) -> AttributeValue | None:
    """What is left of ``current`` after removing ``value``'s elements (``None``: remove it)."""
    t = type_of(value)
    if t not in current:
        raise ValidationException(WRONG_TYPE)
    gone = set(_set_keys(t, value[t]))
    kept = [raw for key, raw in zip(_set_keys(t, current[t]), current[t], strict=True) if key not in gone]
    return {t: kept} if kept else None


def apply_update(ast: n.UpdateAst, item: Item | None, key_names: Collection[str] = ()) -> UpdateResult:
    """Apply a resolved update to ``item`` (``None`` for a new item) and return the result."""
    old: Item = item or {}
    actions = ast.actions()
    paths = [a.path.elements for a in actions]
    for path in paths:
        if path[0] in key_names:
            raise ValidationException(
                "One or more parameter values were invalid: Cannot update attribute "
                f"{path[0]}. This attribute is part of the key"
            )
    check_paths(paths, "UpdateExpression")

    # Compute every new value from the old item before changing anything.
    writes: list[tuple[Path, AttributeValue | None]] = []
    for action in ast.sets:
        writes.append((action.path.elements, copy_value(_set_value(action.value, old))))
    for action in ast.adds:
        current = get_path(old, action.path.elements)
        writes.append((action.path.elements, copy_value(_added(current, action.value.value))))  # type: ignore[union-attr]
    for action in ast.deletes:
        current = get_path(old, action.path.elements)
        if current is not None:
            writes.append((action.path.elements, _deleted(current, action.value.value)))  # type: ignore[union-attr]

    new = dict(old)
    for path in paths:
        if path[0] in new and len(path) > 1:
            new[path[0]] = copy_value(new[path[0]])  # type: ignore[index]
    for path, value in writes:
        if value is None:
            remove_path(new, path)
        else:
            set_path(new, path, value)
    _apply_removes(new, [a.path.elements for a in ast.removes])
    return UpdateResult(new, tuple(paths))


def _apply_removes(item: Item, paths: list[Path]) -> None:
    """REMOVE all ``paths`` as addressed in the item before any of them is removed."""
    list_removals: dict[int, tuple[list[AttributeValue], set[int]]] = {}
    for path in paths:
        if len(path) == 1:
            item.pop(path[0], None)  # type: ignore[arg-type]
            continue
        parent = get_path(item, path[:-1])
        if parent is None:
            continue
        last = path[-1]
        if isinstance(last, int):
            if "L" not in parent:
                raise ValidationException(INVALID_UPDATE_PATH)
            entry = list_removals.setdefault(id(parent["L"]), (parent["L"], set()))
            entry[1].add(last)
        else:
            if "M" not in parent:
                raise ValidationException(INVALID_UPDATE_PATH)
            remove_path(item, path)
    for lst, indexes in list_removals.values():
        for index in sorted(indexes, reverse=True):
            if index < len(lst):
                del lst[index]
