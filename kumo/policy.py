"""A minimal access policy for Kumo's access keys: allowed actions and resources, ``*`` wildcards (pure).

``{"actions": ["lambda:InvokeFunction", "dynamodb:*"], "resources": ["function:orders-*", "table:orders"]}``
allows a request when its action matches one action pattern (IAM action names, case-insensitive) and
every resource it touches matches one resource pattern (``function:NAME``, ``table:NAME``, case-sensitive).
``*`` in a pattern matches any run of characters; ``{"actions": ["*"], "resources": ["*"]}`` allows all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


class PolicyError(ValueError):
    """A policy document that is not ``{"actions": [str, ...], "resources": [str, ...]}``."""


@lru_cache(maxsize=1024)
def _pattern(text: str, ignore_case: bool) -> re.Pattern[str]:
    body = ".*".join(re.escape(part) for part in text.split("*"))
    return re.compile(body, re.IGNORECASE if ignore_case else 0)


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    if pattern == "*":
        return True
    if "*" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _pattern(pattern, ignore_case).fullmatch(value) is not None


@dataclass(frozen=True)
class Policy:
    actions: tuple[str, ...] = ("*",)
    resources: tuple[str, ...] = ("*",)
    unrestricted: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "unrestricted", "*" in self.actions and "*" in self.resources)

    def allows(self, action: str, resources: Iterable[str]) -> bool:
        if self.unrestricted:
            return True
        if not any(matches(p, action, ignore_case=True) for p in self.actions):
            return False
        return all(any(matches(p, r) for p in self.resources) for r in resources)

    def to_json(self) -> dict[str, list[str]]:
        return {"actions": list(self.actions), "resources": list(self.resources)}

    @classmethod
    def from_json(cls, data: Any) -> Policy:
        if data is None:
            return ALLOW_ALL
        if not isinstance(data, dict):
            raise PolicyError("a policy is an object with 'actions' and 'resources'")
        return cls(_strings(data, "actions"), _strings(data, "resources"))

    @classmethod
    def of(cls, actions: Sequence[str] | None, resources: Sequence[str] | None) -> Policy:
        return cls(tuple(actions or ("*",)), tuple(resources or ("*",)))


def _strings(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, ["*"])
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise PolicyError(f"policy '{key}' must be a non-empty list of strings")
    return tuple(value)


ALLOW_ALL = Policy()
