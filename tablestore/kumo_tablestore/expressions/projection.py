"""Project an item onto a list of document paths, as ProjectionExpression does."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..values import AttributeValue, Item, Path, copy_value

_Trie = dict[str | int, Any]  # element -> sub-trie, or None for "the whole value"


def _build(paths: Iterable[Path]) -> _Trie:
    trie: _Trie = {}
    for path in paths:
        node = trie
        for element in path[:-1]:
            child = node.get(element, {})
            if child is None:  # a shorter path already takes the whole value
                break
            node = node.setdefault(element, child)
        else:
            node[path[-1]] = None
    return trie


def _extract(value: AttributeValue, trie: _Trie) -> AttributeValue | None:
    if isinstance(next(iter(trie)), int):
        lst = value.get("L")
        if lst is None:
            return None
        items = []
        for index in sorted(trie):
            if index < len(lst):
                picked = _pick(lst[index], trie[index])
                if picked is not None:
                    items.append(picked)
        return {"L": items} if items else None
    m = value.get("M")
    if m is None:
        return None
    out = {}
    for key, sub in trie.items():
        if key in m:
            picked = _pick(m[key], sub)
            if picked is not None:
                out[key] = picked
    return {"M": out} if out else None


def _pick(value: AttributeValue, sub: _Trie | None) -> AttributeValue | None:
    return copy_value(value) if sub is None else _extract(value, sub)


def project(item: Item | None, paths: Iterable[Path]) -> Item:
    """The parts of ``item`` named by ``paths``; lists keep only the picked elements, in order."""
    if not item:
        return {}
    out: Item = {}
    for name, sub in _build(paths).items():
        value = item.get(name)  # type: ignore[call-overload]
        if value is not None:
            picked = _pick(value, sub)
            if picked is not None:
                out[name] = picked  # type: ignore[index]
    return out
