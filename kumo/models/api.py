"""The `Api` resource: an API Gateway-style HTTP API (routes to functions, stages)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from kumo.models.authorizers import AUTHORIZER_NAME_PATTERN, MAX_AUTHORIZERS, Authorizer
from kumo.models.base import API_VERSION, DNS_LABEL_PATTERN, ObjectMeta, Spec, duration_type, invalid
from kumo.models.cors import Cors
from kumo.models.usage_plans import Throttle, UsagePlan

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
#: The stage an Api gets when it lists none (API Gateway's `$default` stage: no path prefix).
DEFAULT_STAGE = "$default"
STAGE_NAME_PATTERN = r"^([A-Za-z0-9_-]+|\$default)$"
STAGE_VARIABLE_PATTERN = r"^[A-Za-z0-9_]+$"
#: Lambda's qualifier pattern (a version number or an alias name), where `${stageVariables.name}`
#: may stand for any part (API Gateway resolves it per stage).
QUALIFIER_PATTERN = r"^([a-zA-Z0-9$_-]|\$\{stageVariables\.[A-Za-z0-9_]+\})+$"
_VARIABLE = r"\$\{stageVariables\.[A-Za-z0-9_]+\}"
#: A route's target: a Function name (DNS label), or a name made with `${stageVariables.name}`,
#: optionally followed by `:qualifier` (as in a Lambda ARN, where API Gateway allows stage variables).
FUNCTION_TARGET_PATTERN = (
    rf"^([a-z0-9]([-a-z0-9]{{0,61}}[a-z0-9])?|([-a-z0-9]|{_VARIABLE})*{_VARIABLE}([-a-z0-9]|{_VARIABLE})*)"
    rf"(:([a-zA-Z0-9$_-]|{_VARIABLE})+)?$"
)
#: API Gateway HTTP APIs' integration timeout: 50 ms to 30 s, 30 s by default.
MIN_ROUTE_TIMEOUT_S, MAX_ROUTE_TIMEOUT_S = 0.05, 30.0
_PARAM = re.compile(r"^\{([A-Za-z0-9_.-]+)(\+?)\}$")
_LITERAL_SEGMENT = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@%-]+$")
PATH_PATTERN = r"^/([^/{}?#\s]+|\{[A-Za-z0-9_.-]+\+?\})?(/([^/{}?#\s]+|\{[A-Za-z0-9_.-]+\+?\}))*$"
_MEDIA_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
#: A `binaryMediaTypes` entry: `type/subtype`, `type/*` or `*/*` (RFC 6838 names, at most 255 characters).
MEDIA_RANGE_PATTERN = rf"^(\*/\*|{_MEDIA_TOKEN}/(\*|{_MEDIA_TOKEN}))$"
MAX_BINARY_MEDIA_TYPES = 100


def check_route_path(path: str) -> str | None:
    """Return why `path` is not a valid route path, or `None`.

    Segments are literal or `{name}`; `{name+}` (greedy) only as the last segment; parameter
    names unique.
    """
    if not path.startswith("/"):
        return "must start with '/'"
    if path == "/":
        return None
    segments = path[1:].split("/")
    seen: set[str] = set()
    for index, segment in enumerate(segments):
        if segment == "":
            return "must not contain empty segments (// or a trailing /)"
        match = _PARAM.match(segment)
        if match:
            name, greedy = match.groups()
            if greedy and index != len(segments) - 1:
                return f"greedy parameter {segment!r} is only allowed as the last segment"
            if name in seen:
                return f"duplicate parameter name {name!r}"
            seen.add(name)
        elif not _LITERAL_SEGMENT.match(segment):
            return f"invalid segment {segment!r}: use literal text or {{name}} ({{name+}} only as the last segment)"
    return None


def route_shape(path: str) -> str:
    """The path with parameter names erased: `/items/{id}` and `/items/{key}` clash."""
    return re.sub(r"\{[^}/]*?(\+?)\}", r"{\1}", path)


def split_target(function: str) -> tuple[str, str | None]:
    """``"orders:live"`` -> ``("orders", "live")``; ``"orders"`` -> ``("orders", None)``."""
    name, sep, qualifier = function.partition(":")
    return name, (qualifier if sep else None)


def _check_target(function: str) -> str:
    name, qualifier = split_target(function)
    if "${" not in name and not (len(name) <= 63 and re.fullmatch(DNS_LABEL_PATTERN, name)):
        raise invalid(
            "must be a DNS-1123 label of at most 63 characters (a Function name), optionally followed by "
            f":qualifier; ${{stageVariables.name}} may stand for either part (got {function!r})"
        )
    if not re.fullmatch(FUNCTION_TARGET_PATTERN, function):
        where = "qualifier" if qualifier is not None and re.fullmatch(FUNCTION_TARGET_PATTERN, name) else "name"
        raise invalid(
            f"invalid function {where} in {function!r}: use a Function name or name:qualifier (qualifier "
            "[a-zA-Z0-9$_-]+), where ${stageVariables.name} may stand for any part"
        )
    return function


def _check_variable_names(variables: dict[str, str]) -> dict[str, str]:
    for name in variables:
        if not re.fullmatch(STAGE_VARIABLE_PATTERN, name):
            raise invalid(f"invalid variable name {name!r}: must match {STAGE_VARIABLE_PATTERN}")
    return variables


def _upper_method(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _any_case_methods(schema: dict[str, Any]) -> None:
    """The CRD accepts methods in any case, as the model does (it stores them upper-case)."""
    schema.pop("enum", None)
    schema["pattern"] = f"^(?i:{'|'.join(METHODS)})$"


def _payload_format(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool) and value in (1, 2):
        return f"{float(value):.1f}"
    return value


class Route(Spec):
    """`method path` -> function; `ANY` matches every method."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!(self.function.contains(':') && has(self.qualifier))",
                    "message": "give the qualifier in function (name:qualifier) or in qualifier, not both",
                }
            ]
        }
    )

    method: Annotated[
        Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"],
        BeforeValidator(_upper_method),
        Field(description="HTTP method or ANY (any case).", json_schema_extra=_any_case_methods),
    ]
    path: Annotated[
        str,
        Field(
            description="/literal/{param}/{proxy+}",
            json_schema_extra={"pattern": PATH_PATTERN},
        ),
    ]
    function: Annotated[
        str,
        Field(
            min_length=1,
            max_length=256,
            description="Function name or name:qualifier; ${stageVariables.name} may stand for any part.",
            json_schema_extra={"pattern": FUNCTION_TARGET_PATTERN},
        ),
        AfterValidator(_check_target),
    ]
    qualifier: Annotated[str, Field(max_length=128, pattern=QUALIFIER_PATTERN)] | None = None
    timeout: Annotated[
        duration_type(MIN_ROUTE_TIMEOUT_S, MAX_ROUTE_TIMEOUT_S),
        Field(description="Integration timeout: past it the gateway answers 504 (the function runs on)."),
    ] = MAX_ROUTE_TIMEOUT_S
    authorizer: (
        Annotated[
            str, Field(max_length=128, pattern=AUTHORIZER_NAME_PATTERN, description="A name in spec.authorizers.")
        ]
        | None
    ) = None
    authorization_scopes: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=256)]],
            Field(
                max_length=50,
                description="With a jwt authorizer: the token needs at least one of these scopes.",
                json_schema_extra={"x-kubernetes-list-type": "atomic"},
            ),
        ]
        | None
    ) = None
    api_key_required: Annotated[
        bool, Field(description="Callers must send x-api-key with a key of a usage plan for the stage.")
    ] = False
    throttle: Annotated[Throttle, Field(description="This route's token bucket, shared by all callers.")] | None = None
    async_: Annotated[
        bool,
        Field(
            alias="async",
            description="Queue the request's event for the function (an async invocation) and answer 202 at once.",
        ),
    ] = False

    @field_validator("path")
    @classmethod
    def _check_path(cls, path: str) -> str:
        problem = check_route_path(path)
        if problem:
            raise invalid(problem)
        return path

    @model_validator(mode="after")
    def _one_qualifier(self) -> Route:
        if ":" in self.function and self.qualifier is not None:
            raise invalid("give the qualifier in function (name:qualifier) or in qualifier, not both")
        return self

    @property
    def function_name(self) -> str | None:
        """The Function this route always calls, or None when stage variables choose it."""
        name, _ = split_target(self.function)
        return None if "${" in name else name


class Canary(Spec):
    """A share of a stage's requests served with variable overrides (API Gateway's canary release)."""

    percent: Annotated[float, Field(ge=0, le=100, description="Share of the stage's requests, 0-100.")] = 0.0
    variables: dict[str, Annotated[str, Field(max_length=2048)]] = Field(
        default_factory=dict, description="Overrides merged over the stage's variables for canary requests."
    )

    @field_validator("variables")
    @classmethod
    def _check_variables(cls, variables: dict[str, str]) -> dict[str, str]:
        return _check_variable_names(variables)


class Stage(Spec):
    """A deployment stage; its variables reach the function as `stageVariables`."""

    name: Annotated[str, Field(min_length=1, max_length=128, pattern=STAGE_NAME_PATTERN)]
    variables: dict[str, Annotated[str, Field(max_length=2048)]] = Field(default_factory=dict)
    canary: Canary | None = None
    throttle: Annotated[Throttle, Field(description="The stage's token bucket, shared by all its routes.")] | None = (
        None
    )

    @field_validator("variables")
    @classmethod
    def _check_variables(cls, variables: dict[str, str]) -> dict[str, str]:
        return _check_variable_names(variables)


class ApiSpec(Spec):
    """Routes and stages. No stages means one implicit `$default` stage (no path prefix)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.authorizers) || self.authorizers.all(k, k.matches('^[A-Za-z0-9_-]{1,128}$'))",
                    "message": "authorizer names are 1-128 letters, digits, '-' or '_'",
                },
                {
                    "rule": "self.routes.all(r, !has(r.authorizer) || "
                    "(has(self.authorizers) && r.authorizer in self.authorizers))",
                    "message": "a route's authorizer must be a name in spec.authorizers",
                },
                {
                    "rule": "self.routes.all(r, !has(r.authorizationScopes) || (has(r.authorizer) && "
                    "has(self.authorizers) && r.authorizer in self.authorizers && "
                    "self.authorizers[r.authorizer].type == 'jwt'))",
                    "message": "authorizationScopes need a jwt authorizer",
                },
            ]
        }
    )

    payload_format: Annotated[Literal["1.0", "2.0"], BeforeValidator(_payload_format)] = "2.0"
    binary_media_types: Annotated[
        list[Annotated[str, Field(max_length=255, pattern=MEDIA_RANGE_PATTERN)]],
        Field(
            max_length=MAX_BINARY_MEDIA_TYPES,
            description="Request content types whose bodies reach the function base64-encoded "
            "(`image/png`, `image/*`, `*/*`); empty: every non-text type.",
            json_schema_extra={"x-kubernetes-list-type": "atomic"},
        ),
    ] = Field(default_factory=list)
    routes: Annotated[list[Route], Field(min_length=1, json_schema_extra={"x-kubernetes-list-type": "atomic"})]
    stages: Annotated[
        list[Stage],
        Field(
            json_schema_extra={
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            }
        ),
    ] = Field(default_factory=list)
    cors: Annotated[Cors, Field(description="CORS: preflights answered by the gateway, headers added.")] | None = None
    authorizers: Annotated[
        dict[str, Authorizer],
        Field(max_length=MAX_AUTHORIZERS, description="Authorizers by name; routes name one in `authorizer`."),
    ] = Field(default_factory=dict)
    usage_plans: Annotated[
        list[UsagePlan],
        Field(
            description="API Gateway usage plans: per-key throttle and quota on the listed stages.",
            json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
        ),
    ] = Field(default_factory=list)

    @field_validator("routes")
    @classmethod
    def _unique_routes(cls, routes: list[Route]) -> list[Route]:
        seen: dict[tuple[str, str], int] = {}
        for index, route in enumerate(routes):
            key = (route.method, route_shape(route.path))
            if key in seen:
                raise invalid(f"routes[{index}] ({route.method} {route.path}) duplicates routes[{seen[key]}]")
            seen[key] = index
        return routes

    @field_validator("stages")
    @classmethod
    def _unique_stages(cls, stages: list[Stage]) -> list[Stage]:
        names = [stage.name for stage in stages]
        for name in names:
            if names.count(name) > 1:
                raise invalid(f"duplicate stage name {name!r}")
        return stages

    @field_validator("authorizers")
    @classmethod
    def _authorizer_names(cls, authorizers: dict[str, Any]) -> dict[str, Any]:
        for name in authorizers:
            if not re.fullmatch(AUTHORIZER_NAME_PATTERN, name):
                raise invalid(f"invalid authorizer name {name!r}: 1-128 letters, digits, '-' or '_'")
        return authorizers

    @model_validator(mode="after")
    def _route_authorizers(self) -> ApiSpec:
        for index, route in enumerate(self.routes):
            if route.authorizer is not None and route.authorizer not in self.authorizers:
                raise invalid(f"routes[{index}]: authorizer {route.authorizer!r} is not in spec.authorizers")
            if route.authorization_scopes is not None:
                authorizer = self.authorizers.get(route.authorizer or "")
                if authorizer is None or authorizer.type != "jwt":
                    raise invalid(f"routes[{index}]: authorizationScopes need a jwt authorizer")
        return self

    @model_validator(mode="after")
    def _check_usage_plans(self) -> ApiSpec:
        names = [plan.name for plan in self.usage_plans]
        stage_names = {stage.name for stage in self.effective_stages}
        for index, plan in enumerate(self.usage_plans):
            if names.count(plan.name) > 1:
                raise invalid(f"usagePlans[{index}]: duplicate usage plan name {plan.name!r}")
            for stage in plan.stages:
                if stage not in stage_names:
                    raise invalid(
                        f"usagePlans[{index}] ({plan.name}): stage {stage!r} is not a stage of this Api "
                        f"(stages: {', '.join(sorted(stage_names))})"
                    )
        return self

    @property
    def effective_stages(self) -> list[Stage]:
        """The stages to serve: the listed ones, or the implicit `$default` stage."""
        return self.stages or [Stage(name=DEFAULT_STAGE)]


class Api(BaseModel):
    """A `kumo.dev/v1alpha1` `Api` object."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    api_version: Literal["kumo.dev/v1alpha1"] = API_VERSION
    kind: Literal["Api"] = "Api"
    metadata: ObjectMeta
    spec: ApiSpec
    status: dict[str, Any] | None = None
