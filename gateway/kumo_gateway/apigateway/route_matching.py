"""HTTP API route matching: compile an Api's routes once, then match (method, path) cheaply.

Priority follows API Gateway HTTP APIs ("most specific route wins"): comparing segment by segment
from the left, a literal segment beats ``{param}``, which beats ``{proxy+}`` (greedy, one or more
remaining segments); on equal paths a route for the exact method beats ``ANY``; the ``$default``
route catches whatever nothing else matched. A trailing slash on the request is ignored. Path
parameters are URL-decoded (a ``%2F`` stays inside one parameter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote

DEFAULT_ROUTE = "$default"
ANY = "ANY"

_LITERAL, _PARAM, _GREEDY = 2, 1, 0
_PARAM_SEGMENT = re.compile(r"\{([A-Za-z0-9._-]+)(\+?)\}")


class RouteLike(Protocol):
    method: str
    path: str
    function: str
    qualifier: str | None


@dataclass(frozen=True)
class RouteSpec:
    """A plain route (the shape of ``kumo.models.Route``), for callers without the models."""

    method: str
    path: str
    function: str
    qualifier: str | None = None


class InvalidRoute(ValueError):
    """A route path that API Gateway would refuse (bad braces, greedy variable not last...)."""


@dataclass(frozen=True)
class RouteMatch:
    route: RouteLike
    #: ``"GET /items/{id}"`` or ``"$default"``, as in the event's ``routeKey``.
    route_key: str
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _Compiled:
    route: RouteLike
    route_key: str
    method: str
    #: One entry per segment: (kind, literal text or parameter name).
    segments: tuple[tuple[int, str], ...]
    greedy: bool

    @property
    def priority(self) -> tuple[tuple[int, ...], bool]:
        return tuple(kind for kind, _ in self.segments), self.method != ANY

    def match(self, segments: list[str]) -> dict[str, str] | None:
        count = len(self.segments)
        if self.greedy:
            if len(segments) < count:
                return None
        elif len(segments) != count:
            return None
        params: dict[str, str] = {}
        for index, (kind, text) in enumerate(self.segments):
            if kind == _LITERAL:
                if segments[index] != text:
                    return None
            elif kind == _PARAM:
                if not segments[index]:
                    return None
                params[text] = segments[index]
            else:
                params[text] = "/".join(segments[index:])
        return params


def split_path(raw_path: str) -> list[str]:
    """``"/a/b%2Fc/"`` -> ``["a", "b/c"]``: drop one trailing slash, split, URL-decode each segment."""
    path = raw_path.strip("/") if raw_path.endswith("/") else raw_path.lstrip("/")
    if not path:
        return []
    return [unquote(segment) for segment in path.split("/")]


def parse_route_path(path: str) -> tuple[tuple[int, str], ...]:
    """Parse ``/items/{id}`` into segments; raise :class:`InvalidRoute` for what API Gateway refuses."""
    if not path.startswith("/"):
        raise InvalidRoute(f"route path {path!r} must start with '/'")
    trimmed = path.strip("/")
    if not trimmed:
        return ()
    parsed: list[tuple[int, str]] = []
    names: set[str] = set()
    parts = trimmed.split("/")
    for index, part in enumerate(parts):
        if not part:
            raise InvalidRoute(f"route path {path!r} has an empty segment")
        variable = _PARAM_SEGMENT.fullmatch(part)
        if variable is None:
            if "{" in part or "}" in part:
                raise InvalidRoute(f"route path {path!r}: a path variable must be a whole segment like {{name}}")
            parsed.append((_LITERAL, part))
            continue
        name, greedy = variable.group(1), bool(variable.group(2))
        if name in names:
            raise InvalidRoute(f"route path {path!r} repeats the variable {name!r}")
        names.add(name)
        if greedy and index != len(parts) - 1:
            raise InvalidRoute(f"route path {path!r}: a greedy variable {{{name}+}} must be the last segment")
        parsed.append((_GREEDY if greedy else _PARAM, name))
    return tuple(parsed)


class RouteTable:
    """The compiled routes of one Api. Build with :func:`compile_routes`."""

    def __init__(
        self,
        exact: dict[tuple[str, ...], dict[str, _Compiled]],
        patterns: list[_Compiled],
        default: RouteLike | None,
        errors: list[str],
    ) -> None:
        self._exact = exact
        self._patterns = patterns
        self._default = default
        #: Routes that were skipped because their path is invalid, one message each.
        self.errors = errors

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        """The best route for ``method`` on ``raw_path`` (still URL-encoded, stage prefix removed)."""
        segments = split_path(raw_path)
        by_method = self._exact.get(tuple(segments))
        if by_method is not None:
            found = by_method.get(method) or by_method.get(ANY)
            if found is not None:
                return RouteMatch(found.route, found.route_key, {})
        for compiled in self._patterns:
            if compiled.method != ANY and compiled.method != method:
                continue
            params = compiled.match(segments)
            if params is not None:
                return RouteMatch(compiled.route, compiled.route_key, params)
        if self._default is not None:
            return RouteMatch(self._default, DEFAULT_ROUTE, {})
        return None


def compile_routes(routes: list[RouteLike] | tuple[RouteLike, ...]) -> RouteTable:
    """Compile routes into a :class:`RouteTable`; invalid routes are skipped and listed in ``errors``."""
    exact: dict[tuple[str, ...], dict[str, _Compiled]] = {}
    patterns: list[_Compiled] = []
    default: RouteLike | None = None
    errors: list[str] = []
    for route in routes:
        method = route.method.upper()
        if route.path == DEFAULT_ROUTE or method == DEFAULT_ROUTE:
            default = route
            continue
        try:
            segments = parse_route_path(route.path)
        except InvalidRoute as exc:
            errors.append(str(exc))
            continue
        greedy = bool(segments) and segments[-1][0] == _GREEDY
        compiled = _Compiled(route, f"{method} {route.path}", method, segments, greedy)
        if all(kind == _LITERAL for kind, _ in segments):
            exact.setdefault(tuple(text for _, text in segments), {}).setdefault(method, compiled)
        else:
            patterns.append(compiled)
    patterns.sort(key=lambda compiled: compiled.priority, reverse=True)
    return RouteTable(exact, patterns, default, errors)
