"""An Api's authorizers (``spec.authorizers``): JWT and Lambda (``function``) authorizers.

As API Gateway HTTP APIs define them ("Control access to HTTP APIs with JWT authorizers", "Working
with AWS Lambda authorizers for HTTP APIs"). The pydantic models are a discriminated union on
``type``; the CRD cannot express a union of objects structurally, so it gets one flat object (every
field of both kinds) with CEL rules saying which fields go with which ``type``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema, model_validator

from kumo.models.base import DNS_SUBDOMAIN_PATTERN, Spec, duration_type, invalid

#: API Gateway: a Lambda authorizer's result is cached 300 s by default, at most 3600 s; 0 disables caching.
DEFAULT_AUTHORIZER_TTL_S, MAX_AUTHORIZER_TTL_S = 300.0, 3600.0
#: API Gateway HTTP APIs allow 10 authorizers per Api.
MAX_AUTHORIZERS = 10
AUTHORIZER_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
#: ``$request.header.<name>``, ``$request.querystring.<name>``, ``$context.<var>``, ``$stageVariables.<name>``.
IDENTITY_SOURCE_PATTERN = (
    r"^\$(request\.header\.[A-Za-z0-9!#$%&'*+.^_`|~-]+|request\.querystring\.[^\s&=]+"
    r"|context\.[A-Za-z0-9_.]+|stageVariables\.[A-Za-z0-9_]+)$"
)
DEFAULT_IDENTITY_SOURCE = "$request.header.Authorization"
#: A function authorizer's target: a Function name, optionally ``:qualifier``.
AUTHORIZER_FUNCTION_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(:[a-zA-Z0-9$_-]{1,128})?$"
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"
URI_PATTERN = r"^https?://[^\s]+$"

IdentitySource = Annotated[list[Annotated[str, Field(max_length=256, pattern=IDENTITY_SOURCE_PATTERN)]], Field()]


class SecretRef(Spec):
    """A Secret key (local mode: env `KUMO_SECRET_<NAME>_<KEY>` or `<state-dir>/secrets/<name>/<key>`)."""

    name: Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)]
    key: Annotated[str, Field(min_length=1, max_length=253, pattern=SECRET_KEY_PATTERN)]


class Jwks(Spec):
    """Where a JWT authorizer's public keys come from: a JWKS URL, or the keys inline (offline use)."""

    uri: Annotated[str, Field(max_length=2048, pattern=URI_PATTERN)] | None = None
    keys: (
        Annotated[
            list[Annotated[dict[str, Any], Field(json_schema_extra={"x-kubernetes-preserve-unknown-fields": True})]],
            Field(min_length=1, max_length=100, json_schema_extra={"x-kubernetes-list-type": "atomic"}),
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Jwks:
        if (self.uri is None) == (self.keys is None):
            raise invalid("give exactly one of uri or keys")
        return self


class JwtAuthorizer(Spec):
    """Validates a JWT (RS256/ES256 from a JWKS, or HS256 with a secret): ``exp``, ``nbf``, ``iss``, ``aud``."""

    type: Literal["jwt"]
    issuer: Annotated[str, Field(min_length=1, max_length=2048)]
    audience: Annotated[list[Annotated[str, Field(min_length=1, max_length=2048)]], Field(min_length=1)]
    jwks: Jwks | None = None
    secret_ref: SecretRef | None = None
    identity_source: Annotated[IdentitySource, Field(min_length=1, max_length=1)] = Field(
        default_factory=lambda: [DEFAULT_IDENTITY_SOURCE]
    )

    @model_validator(mode="after")
    def _one_key_source(self) -> JwtAuthorizer:
        if (self.jwks is None) == (self.secret_ref is None):
            raise invalid("give exactly one of jwks (RS256/ES256) or secretRef (HS256)")
        return self


class FunctionAuthorizer(Spec):
    """A Lambda authorizer: a Function decides from the request's identity sources."""

    type: Literal["function"]
    function: Annotated[str, Field(min_length=1, max_length=192, pattern=AUTHORIZER_FUNCTION_PATTERN)]
    identity_source: Annotated[IdentitySource, Field(max_length=10)] = Field(
        default_factory=lambda: [DEFAULT_IDENTITY_SOURCE]
    )
    ttl: Annotated[
        duration_type(0, MAX_AUTHORIZER_TTL_S, whole_seconds=True),
        Field(description="How long a result is cached per identity (0 disables caching)."),
    ] = DEFAULT_AUTHORIZER_TTL_S
    payload_format: Literal["1.0", "2.0"] = "2.0"
    enable_simple_responses: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> FunctionAuthorizer:
        if self.enable_simple_responses and self.payload_format != "2.0":
            raise invalid("enableSimpleResponses needs payloadFormat 2.0")
        if self.ttl > 0 and not self.identity_source:
            raise invalid("caching (ttl > 0) needs an identitySource")
        return self


_JWT_ONLY = ("issuer", "audience", "jwks", "secretRef")
_FUNCTION_ONLY = ("function", "ttl", "payloadFormat", "enableSimpleResponses")
#: CEL rules of the flat CRD schema (the messages are the pydantic ones where both exist).
AUTHORIZER_RULES = [
    {
        "rule": "self.type != 'jwt' || (has(self.issuer) && has(self.audience))",
        "message": "a jwt authorizer needs issuer and audience",
    },
    {
        "rule": "self.type != 'jwt' || (has(self.jwks) != has(self.secretRef))",
        "message": "give exactly one of jwks (RS256/ES256) or secretRef (HS256)",
    },
    {
        "rule": "self.type != 'jwt' || " + " && ".join(f"!has(self.{f})" for f in _FUNCTION_ONLY),
        "message": f"a jwt authorizer takes none of {', '.join(_FUNCTION_ONLY)}",
    },
    {"rule": "self.type != 'function' || has(self.function)", "message": "a function authorizer needs function"},
    {
        "rule": "self.type != 'function' || " + " && ".join(f"!has(self.{f})" for f in _JWT_ONLY),
        "message": f"a function authorizer takes none of {', '.join(_JWT_ONLY)}",
    },
    {
        "rule": "!(has(self.enableSimpleResponses) && self.enableSimpleResponses) || "
        "(!has(self.payloadFormat) || self.payloadFormat == '2.0')",
        "message": "enableSimpleResponses needs payloadFormat 2.0",
    },
]


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline_refs(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


def _flat_schema() -> dict[str, Any]:
    """One object with the fields of both kinds (for the CRD), ``type`` required."""
    properties: dict[str, Any] = {}
    for model in (JwtAuthorizer, FunctionAuthorizer):
        schema = model.model_json_schema(by_alias=True, mode="validation")
        inlined = _inline_refs(schema, schema.get("$defs", {}))
        properties.update(inlined["properties"])
    properties["type"] = {"type": "string", "enum": ["jwt", "function"], "description": "jwt or function"}
    properties["identitySource"].pop("default", None)
    for name in ("ttl", "payloadFormat", "enableSimpleResponses"):  # defaults would make `has()` true for jwt
        properties[name].pop("default", None)
    return {
        "type": "object",
        "description": "A jwt or function authorizer.",
        "required": ["type"],
        "properties": properties,
        "x-kubernetes-validations": AUTHORIZER_RULES,
    }


Authorizer = Annotated[
    JwtAuthorizer | FunctionAuthorizer,
    Field(discriminator="type"),
    WithJsonSchema(_flat_schema()),
]
