"""An Api's CORS configuration: API Gateway HTTP APIs' ``CorsConfiguration`` (``Api.spec.cors``).

Same fields and limits as AWS (``maxAge`` -1 to 86400; ``allowCredentials`` refused together with the
``*`` origin, as API Gateway refuses it). Origins are ``*``, ``https://*`` / ``http://*`` (any origin
of that scheme, the only wildcard forms API Gateway documents) or one origin, ``scheme://host[:port]``.
The gateway applies them in ``kumo_gateway.apigateway.cors``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator

from kumo.models.base import Spec, invalid

ANY_ORIGIN = "*"
#: Wildcards API Gateway documents besides ``*``: any origin that begins with the scheme.
SCHEME_WILDCARDS = ("https://*", "http://*")
#: ``scheme://host[:port]``, nothing after (browsers send no path, not even a trailing ``/``).
ORIGIN_PATTERN = r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s*]+$"
#: Any allowed-origin entry (the CRD's pattern; the model explains which rule a bad entry breaks).
ORIGIN_ENTRY_PATTERN = r"^(\*|https?://\*|null|[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s*]+)$"
#: An HTTP token (RFC 9110), the shape of a method or header name; or ``*``.
TOKEN_PATTERN = r"^([!#$%&'+.^_`|~0-9A-Za-z-]+|\*)$"
CREDENTIALS_WITH_ANY_ORIGIN = (
    "allowCredentials cannot be true when allowOrigins contains '*' (browsers refuse credentials with "
    "a wildcard origin; API Gateway refuses this configuration): list the allowed origins instead"
)
MAX_ITEMS = 100


def check_origin(origin: str) -> str | None:
    """Why ``origin`` is not an allowed-origin entry, or ``None``."""
    if origin in (ANY_ORIGIN, *SCHEME_WILDCARDS, "null"):
        return None
    if "*" in origin:
        return (
            f"{origin!r}: a wildcard origin must be exactly '*', 'https://*' or 'http://*' "
            "(API Gateway supports no other patterns)"
        )
    if not re.fullmatch(ORIGIN_PATTERN, origin):
        return f"{origin!r} is not an origin: write scheme://host[:port], without a path or trailing '/'"
    return None


def _origin(value: str) -> str:
    problem = check_origin(value)
    if problem:
        raise invalid(problem)
    return value


def _token(what: str, example: str) -> Any:
    def check(value: str) -> str:
        if not re.fullmatch(TOKEN_PATTERN, value):
            raise invalid(f"{value!r} is not {what}: use a token such as {example!r}, or '*'")
        return value

    return AfterValidator(check)


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _list(item: Any) -> Any:
    return Annotated[
        list[item],
        Field(max_length=MAX_ITEMS, json_schema_extra={"x-kubernetes-list-type": "atomic"}),
    ]


Origin = Annotated[
    str,
    Field(min_length=1, max_length=2048, json_schema_extra={"pattern": ORIGIN_ENTRY_PATTERN}),
    AfterValidator(_origin),
]
_TOKEN_SCHEMA = {"pattern": TOKEN_PATTERN}
Method = Annotated[
    str,
    BeforeValidator(_upper),
    Field(min_length=1, max_length=64, json_schema_extra=_TOKEN_SCHEMA),
    _token("a method", "GET"),
]
HeaderName = Annotated[
    str,
    BeforeValidator(_lower),
    Field(min_length=1, max_length=256, json_schema_extra=_TOKEN_SCHEMA),
    _token("a header name", "x-api-key"),
]


class Cors(Spec):
    """CORS for every route of the Api: the gateway answers preflights and adds the headers itself."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!(has(self.allowCredentials) && self.allowCredentials && has(self.allowOrigins) "
                    "&& self.allowOrigins.exists(o, o == '*'))",
                    "message": CREDENTIALS_WITH_ANY_ORIGIN,
                }
            ]
        }
    )

    allow_origins: Annotated[
        _list(Origin), Field(description="'*', 'https://*', 'http://*' or origins (scheme://host[:port]).")
    ] = Field(default_factory=list)
    allow_methods: Annotated[_list(Method), Field(description="Methods (any case) or '*'.")] = Field(
        default_factory=list
    )
    allow_headers: Annotated[_list(HeaderName), Field(description="Request headers (any case) or '*'.")] = Field(
        default_factory=list
    )
    expose_headers: Annotated[_list(HeaderName), Field(description="Response headers (any case) or '*'.")] = Field(
        default_factory=list
    )
    allow_credentials: Annotated[bool, Field(description="Send Access-Control-Allow-Credentials: true.")] = False
    max_age: (
        Annotated[int, Field(ge=-1, le=86400, description="Seconds browsers may cache a preflight (-1: not at all).")]
        | None
    ) = None

    @model_validator(mode="after")
    def _no_credentials_with_any_origin(self) -> Cors:
        if self.allow_credentials and ANY_ORIGIN in self.allow_origins:
            raise invalid(CREDENTIALS_WITH_ANY_ORIGIN)
        return self
