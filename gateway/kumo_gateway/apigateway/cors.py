"""CORS for an Api, as API Gateway HTTP APIs apply their ``CorsConfiguration`` (pure: no I/O).

- A **preflight** is an ``OPTIONS`` request with ``Origin`` and ``Access-Control-Request-Method``.
  When the Api has CORS, the gateway answers every preflight itself, 204 with no body, before route
  matching (no OPTIONS route needed; an OPTIONS route is not invoked for a preflight). For an allowed
  origin the answer carries ``Access-Control-Allow-Origin``, ``-Allow-Credentials`` (when on),
  ``-Allow-Methods`` and ``-Allow-Headers`` (the configured lists), ``-Max-Age`` (when set); the
  browser compares the request's method and headers with them. A disallowed origin gets the 204 with
  no CORS headers, so the browser stops there.
- Every other response of the Api (the function's, and the gateway's own errors) loses the
  ``Access-Control-*`` headers the function set (API Gateway ignores the integration's CORS headers)
  and, when the request's ``Origin`` is allowed, gains ``Access-Control-Allow-Origin``,
  ``-Allow-Credentials`` and ``-Expose-Headers``. Without ``Origin`` no CORS header is added.
- Origins match ``*`` (any), ``https://*`` / ``http://*`` (any origin of that scheme) or one origin,
  without regard to case. The allowed origin is answered as ``*`` when ``*`` is configured (credentials
  are then off: that combination is refused by the model), else the request's origin is echoed, and
  then every response of the Api carries ``Vary: Origin`` (merged into the function's ``Vary``).
- With ``allowCredentials``, browsers read a ``*`` in the allow/expose lists literally, so a ``*``
  there is answered with what the request asked for (``Access-Control-Request-Method`` /
  ``-Headers``, with ``Vary`` on them) or, for ``exposeHeaders``, the response's own header names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from kumo_gateway.apigateway.gateway_responses import HttpResponse

ANY = "*"
PREFLIGHT_STATUS = 204
ALLOW_ORIGIN = "access-control-allow-origin"
ALLOW_CREDENTIALS = "access-control-allow-credentials"
ALLOW_METHODS = "access-control-allow-methods"
ALLOW_HEADERS = "access-control-allow-headers"
EXPOSE_HEADERS = "access-control-expose-headers"
MAX_AGE = "access-control-max-age"
_CORS_PREFIX = "access-control-"
#: Response headers never worth exposing (cookies cannot be exposed; CORS headers are the gateway's).
_NOT_EXPOSED = frozenset({"set-cookie", "set-cookie2"})


@dataclass(frozen=True)
class CorsRules:
    """An Api's CORS configuration, normalised for matching (origins lower-case)."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None

    @property
    def any_origin(self) -> bool:
        return ANY in self.allow_origins

    @property
    def varies_by_origin(self) -> bool:
        """Whether the answer depends on the request's ``Origin`` (it is echoed, not ``*``)."""
        return not (self.any_origin and not self.allow_credentials)


def rules_from(config: Any) -> CorsRules | None:
    """``CorsRules`` from a ``kumo.models.cors.Cors`` (or anything with its attributes); None for None."""
    if config is None:
        return None
    return CorsRules(
        allow_origins=tuple(origin.lower() for origin in config.allow_origins),
        allow_methods=tuple(config.allow_methods),
        allow_headers=tuple(config.allow_headers),
        expose_headers=tuple(config.expose_headers),
        allow_credentials=bool(config.allow_credentials),
        max_age=config.max_age,
    )


def origin_allowed(rules: CorsRules, origin: str) -> bool:
    origin = origin.lower()
    for allowed in rules.allow_origins:
        if allowed in (ANY, origin):
            return True
        if allowed.endswith("://*") and origin.startswith(allowed[:-1]) and len(origin) > len(allowed) - 1:
            return True
    return False


def allow_origin_value(rules: CorsRules, origin: str | None) -> str | None:
    """The ``Access-Control-Allow-Origin`` value for ``origin``, or None when it is not allowed."""
    if not origin or not origin_allowed(rules, origin):
        return None
    return ANY if rules.any_origin and not rules.allow_credentials else origin


def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    """``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method`` (``headers``: lower-case keys)."""
    return method == "OPTIONS" and bool(headers.get("origin")) and bool(headers.get("access-control-request-method"))


def _echoes(rules: CorsRules, configured: tuple[str, ...]) -> bool:
    return rules.allow_credentials and ANY in configured


def _allowed_list(rules: CorsRules, configured: tuple[str, ...], requested: str | None) -> str:
    if _echoes(rules, configured):
        return (requested or "").strip()
    return ",".join(configured)


def _vary(rules: CorsRules, *, preflight: bool) -> list[str]:
    tokens = ["Origin"] if rules.varies_by_origin else []
    if preflight and _echoes(rules, rules.allow_methods):
        tokens.append("Access-Control-Request-Method")
    if preflight and _echoes(rules, rules.allow_headers):
        tokens.append("Access-Control-Request-Headers")
    return tokens


def add_vary(headers: list[tuple[str, str]], tokens: Iterable[str]) -> list[tuple[str, str]]:
    """``headers`` with ``tokens`` in its (first) ``Vary`` header, added once each, case-insensitively."""
    tokens = list(tokens)
    if not tokens:
        return headers
    out = list(headers)
    index = next((i for i, (name, _) in enumerate(out) if name.lower() == "vary"), None)
    present: set[str] = set()
    if index is not None:
        present = {part.strip().lower() for part in out[index][1].split(",") if part.strip()}
        if ANY in present:
            return out
    missing = [token for token in tokens if token.lower() not in present]
    if not missing:
        return out
    if index is None:
        out.append(("vary", ", ".join(missing)))
    else:
        name, value = out[index]
        out[index] = (name, ", ".join([value.strip(), *missing]) if value.strip() else ", ".join(missing))
    return out


def preflight_response(rules: CorsRules, headers: Mapping[str, str]) -> HttpResponse:
    """The gateway's own answer to a preflight (``headers``: the request's, lower-case keys)."""
    out: list[tuple[str, str]] = []
    allow_origin = allow_origin_value(rules, headers.get("origin"))
    if allow_origin is not None:
        out.append((ALLOW_ORIGIN, allow_origin))
        if rules.allow_credentials:
            out.append((ALLOW_CREDENTIALS, "true"))
        methods = _allowed_list(rules, rules.allow_methods, headers.get("access-control-request-method"))
        if methods:
            out.append((ALLOW_METHODS, methods))
        allowed_headers = _allowed_list(rules, rules.allow_headers, headers.get("access-control-request-headers"))
        if allowed_headers:
            out.append((ALLOW_HEADERS, allowed_headers))
        if rules.max_age is not None:
            out.append((MAX_AGE, str(rules.max_age)))
    return HttpResponse(PREFLIGHT_STATUS, b"", add_vary(out, _vary(rules, preflight=True)))


def _exposed(rules: CorsRules, headers: list[tuple[str, str]]) -> str:
    if not _echoes(rules, rules.expose_headers):
        return ",".join(rules.expose_headers)
    names = [name for name in rules.expose_headers if name != ANY]
    for name, _ in headers:
        name = name.lower()
        if name not in _NOT_EXPOSED and not name.startswith(_CORS_PREFIX) and name not in names:
            names.append(name)
    return ",".join(names)


def apply(rules: CorsRules, origin: str | None, response: HttpResponse) -> HttpResponse:
    """``response`` (not a preflight's) with the function's CORS headers replaced by the Api's."""
    headers = [(name, value) for name, value in response.headers if not name.lower().startswith(_CORS_PREFIX)]
    allow_origin = allow_origin_value(rules, origin)
    if allow_origin is not None:
        exposed = _exposed(rules, headers)
        headers.append((ALLOW_ORIGIN, allow_origin))
        if rules.allow_credentials:
            headers.append((ALLOW_CREDENTIALS, "true"))
        if exposed:
            headers.append((EXPOSE_HEADERS, exposed))
    return replace(response, headers=add_vary(headers, _vary(rules, preflight=False)))
