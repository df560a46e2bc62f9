"""What changed between two loads of the manifests ``kumo up`` serves (pure: no I/O, no event loop).

:func:`diff_manifests` compares the old and the new :class:`~kumo.manifests.Manifests` and says which
Functions, Apis and Tables were added, changed or removed. A Function whose resolved code (inline
files or its ConfigMap's data) or ``$LATEST`` configuration changed must be **rolled** (new requests
to new instances); a change to ``spec.publish``/``spec.aliases`` alone is applied without a roll.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kumo.manifests import Manifests
from kumo.models import Function

#: FunctionSpec fields that change no instance (applied through the versions store instead).
_NOT_ROLLED = {"publish", "aliases"}


@dataclass(frozen=True)
class KindDiff:
    """Names added, changed and removed for one kind (sorted)."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


@dataclass(frozen=True)
class ManifestDiff:
    functions: KindDiff = field(default_factory=KindDiff)
    #: Changed Functions whose ``$LATEST`` instances must be replaced (a subset of ``functions.changed``).
    rolled: tuple[str, ...] = ()
    apis: KindDiff = field(default_factory=KindDiff)
    tables: KindDiff = field(default_factory=KindDiff)

    def __bool__(self) -> bool:
        return bool(self.functions or self.apis or self.tables)

    def summary(self) -> str:
        """One line, e.g. ``Function hello changed ($LATEST rolled); Api shop added``."""
        parts = []
        for kind, diff in (("Function", self.functions), ("Api", self.apis), ("Table", self.tables)):
            for name in diff.added:
                parts.append(f"{kind} {name} added")
            for name in diff.changed:
                rolled = " ($LATEST rolled)" if kind == "Function" and name in self.rolled else ""
                parts.append(f"{kind} {name} changed{rolled}")
            for name in diff.removed:
                parts.append(f"{kind} {name} removed")
        return "; ".join(parts) or "nothing changed"


def _code(function: Function, config_maps: Mapping[str, Mapping[str, str]]) -> Any:
    """The function's code as it would run: inline files, or the referenced ConfigMap's data (None if missing)."""
    code = function.spec.code
    if code.config_map is not None:
        data = config_maps.get(code.config_map.name)
        return None if data is None else dict(data)
    return code.model_dump()


def _latest(function: Function, config_maps: Mapping[str, Mapping[str, str]]) -> tuple[Any, Any]:
    """What an instance of ``$LATEST`` depends on: its spec (less publish/aliases) and its code."""
    return function.spec.model_dump(exclude=_NOT_ROLLED), _code(function, config_maps)


def _kind_diff(old: Mapping[str, Any], new: Mapping[str, Any], same: Any) -> KindDiff:
    return KindDiff(
        added=tuple(sorted(new.keys() - old.keys())),
        changed=tuple(sorted(n for n in old.keys() & new.keys() if not same(old[n], new[n]))),
        removed=tuple(sorted(old.keys() - new.keys())),
    )


def diff_manifests(old: Manifests, new: Manifests) -> ManifestDiff:
    """The difference ``old`` → ``new``."""

    def same_function(a: Function, b: Function) -> bool:
        return a == b and _code(a, old.config_maps) == _code(b, new.config_maps)

    functions = _kind_diff(old.functions, new.functions, same_function)
    rolled = tuple(
        name
        for name in functions.changed
        if _latest(old.functions[name], old.config_maps) != _latest(new.functions[name], new.config_maps)
    )
    return ManifestDiff(
        functions=functions,
        rolled=rolled,
        apis=_kind_diff(old.apis, new.apis, lambda a, b: a == b),
        tables=_kind_diff(old.tables, new.tables, lambda a, b: a == b),
    )


def new_reference_problems(old: Manifests, new: Manifests) -> list[str]:
    """Reference problems ``new`` has that ``old`` did not (an edit introducing one is refused;
    problems already there at start were warnings then and stay warnings)."""
    before = set(old.check_references())
    return [problem for problem in new.check_references() if problem not in before]
