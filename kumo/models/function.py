"""The `Function` resource: a Lambda-style function (runtime, handler, code, limits, scaling)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator
from pydantic.alias_generators import to_camel

from kumo.models.base import (
    API_VERSION,
    DNS_SUBDOMAIN_PATTERN,
    ObjectMeta,
    Spec,
    duration_type,
    invalid,
    size_type,
)
from kumo.models.events import EventSource
from kumo.packages.code_store import SHA256_PATTERN
from kumo.packages.plan import MAX_ZIPPED_BYTES

SUPPORTED_RUNTIMES = ("python3.11", "python3.12", "python3.13", "provided", "provided.al2", "provided.al2023")
#: Custom runtimes: the package's executable `bootstrap` speaks the Runtime API (docs/packages.md).
CUSTOM_RUNTIMES = ("provided", "provided.al2", "provided.al2023")
#: Runtimes the API reserves for later; refused today with a clear message.
RESERVED_RUNTIMES = ("nodejs20", "nodejs22")

HANDLER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: Lambda's total size limit for environment variables (sum of names and values, UTF-8 bytes).
MAX_ENVIRONMENT_BYTES = 4096
#: Environment variables Lambda reserves (Lambda developer guide, "Defined runtime environment
#: variables"); any other `AWS_LAMBDA_*` name is refused too.
RESERVED_ENV_NAMES = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)

ALIAS_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,128}$"
ALIAS_NAME_RULE = "alias names are 1-128 letters, digits, '-' or '_', and not only digits (a number names a version)"

Duration = duration_type  # short alias for the field declarations below
Size = size_type


def check_inline_file_name(name: str) -> str | None:
    """Return why `name` is not a safe relative file name for inline code, or `None` if it is."""
    if not name:
        return "file names must not be empty"
    if name.startswith("/") or "\\" in name or re.match(r"^[A-Za-z]:", name):
        return f"file name {name!r} must be a relative path with '/' separators"
    segments = name.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        return f"file name {name!r} must not contain empty, '.' or '..' segments"
    return None


class ConfigMapRef(Spec):
    """Code taken from a ConfigMap in the same namespace: every key is a file."""

    name: Annotated[
        str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN, description="ConfigMap name.")
    ]


class StoredArchive(Spec):
    """An archive in the cluster's code store (docs/code-store.md): the SHA-256 of its bytes and its size."""

    sha256: Annotated[str, Field(pattern=SHA256_PATTERN, description="Lowercase hex SHA-256 of the zip.")]
    size: Annotated[int, Field(ge=1, le=MAX_ZIPPED_BYTES, description="Size of the zip in bytes.")]


class StoredPackage(StoredArchive):
    """The function's package in the code store (what `kumo deploy` writes), with its layers' archives.

    Runtime pods download and verify each archive at start: the package into `/var/task`, the layers
    in order into `/opt` (a later layer's file replaces an earlier one's).
    """

    layers: Annotated[list[StoredArchive], Field(max_length=5, description="Layer archives, in order (at most 5).")] = (
        Field(default_factory=list)
    )


class Code(Spec):
    """Where the function's code comes from: exactly one of `inline`, `configMap`, `image`, `path`, `zip`
    or `package`.

    `path` (a directory) and `zip` (a Lambda deployment package) are relative to the manifest's
    directory. `requirements` (a requirements file, or a list of requirement lines) is optional and
    installed into the package by the package builder (kumo.packages); not with `image`.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "[has(self.inline), has(self.configMap), has(self.image), has(self.path),"
                    " has(self.zip), has(self.package)].filter(x, x).size() == 1",
                    "message": "exactly one of inline, configMap, image, path, zip or package is required",
                },
                {
                    "rule": "!(has(self.image) && has(self.requirements))",
                    "message": "requirements cannot be combined with image",
                },
                {
                    "rule": "!(has(self.package) && has(self.requirements))",
                    "message": "requirements cannot be combined with package (it is already built)",
                },
            ]
        }
    )

    inline: (
        Annotated[dict[str, str], Field(min_length=1, description="File name (relative) to source text.")] | None
    ) = None
    config_map: ConfigMapRef | None = None
    image: Annotated[str, Field(min_length=1, description="Container image holding the code.")] | None = None
    path: (
        Annotated[str, Field(min_length=1, description="Code directory, relative to the manifest's directory.")] | None
    ) = None
    zip: (
        Annotated[
            str, Field(min_length=1, description="Deployment package (.zip), relative to the manifest's directory.")
        ]
        | None
    ) = None
    package: StoredPackage | None = None
    requirements: (
        Annotated[
            str | list[Annotated[str, Field(min_length=1)]],
            WithJsonSchema(
                {
                    "description": "A requirements file (relative to the manifest's directory) or a list of "
                    "requirement lines.",
                    "x-kubernetes-preserve-unknown-fields": True,
                }
            ),
        ]
        | None
    ) = None

    @field_validator("requirements")
    @classmethod
    def _check_requirements(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is not None and len(value) == 0:
            raise invalid("requirements must be a file name or a non-empty list")
        return value

    @field_validator("inline")
    @classmethod
    def _check_file_names(cls, files: dict[str, str] | None) -> dict[str, str] | None:
        for name in files or {}:
            problem = check_inline_file_name(name)
            if problem:
                raise invalid(problem)
        return files

    @model_validator(mode="after")
    def _exactly_one(self) -> Code:
        given = [self.inline, self.config_map, self.image, self.path, self.zip, self.package]
        if sum(source is not None for source in given) != 1:
            raise invalid("exactly one of inline, configMap, image, path, zip or package is required")
        if self.image is not None and self.requirements is not None:
            raise invalid("requirements cannot be combined with image")
        if self.package is not None and self.requirements is not None:
            raise invalid("requirements cannot be combined with package (it is already built)")
        return self


class Concurrency(Spec):
    """Reserved concurrency: at most this many invocations run at once (0 stops the function)."""

    reserved: Annotated[int, Field(ge=0, le=1000)] | None = None


class Scaling(Spec):
    """How many instances run: scale from `minInstances` (0 = scale to zero) to `maxInstances`."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "(has(self.maxInstances) ? self.maxInstances : 10) >= "
                    "(has(self.minInstances) ? self.minInstances : 0)",
                    "message": "maxInstances must be at least minInstances",
                }
            ]
        }
    )

    min_instances: Annotated[int, Field(ge=0, description="Instances kept warm.")] = 0
    max_instances: Annotated[int, Field(ge=1, description="Upper bound on instances.")] = 10
    idle_timeout: Annotated[
        Duration(0, None, exclusive_low=True),
        Field(description="How long an idle instance lives before it is stopped."),
    ] = 60.0

    @model_validator(mode="after")
    def _max_at_least_min(self) -> Scaling:
        if self.max_instances < self.min_instances:
            raise invalid(
                f"must be at least minInstances ({self.min_instances}), got {self.max_instances}",
                field="maxInstances",
            )
        return self


class Destination(Spec):
    """Where an async invocation's record goes: exactly one of `function` (an async invoke of that
    function) or `queue` (a Kumo queue, the Redis stream `kumo:queue:NAME`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "has(self.function) != has(self.queue)", "message": "exactly one of function or queue"}
            ]
        }
    )

    function: (
        Annotated[str, Field(min_length=1, max_length=140, description="Function to invoke asynchronously.")] | None
    ) = None
    queue: (
        Annotated[str, Field(min_length=1, max_length=80, description="Kumo queue to send the record to.")] | None
    ) = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Destination:
        if (self.function is None) == (self.queue is None):
            raise invalid("exactly one of function or queue is required")
        return self


class AsyncConfig(Spec):
    """Asynchronous invocation settings (`Event` invocations): retries, event age, destinations.
    A failed or expired event without `onFailure` goes to the function's dead-letter queue."""

    max_retry_attempts: Annotated[int, Field(ge=0, le=2, description="Retries after a function error.")] = 2
    max_event_age: Annotated[
        Duration(60, 21600, whole_seconds=True), Field(description="Longest an event waits before it is dropped.")
    ] = 21600.0
    on_success: Destination | None = None
    on_failure: Destination | None = None


class AliasSpec(Spec):
    """A named pointer to a published version, optionally sending a share of traffic to one more version."""

    version: Annotated[int, Field(ge=1, description="The published version the alias points to.")]
    routing: Annotated[
        dict[str, Annotated[float, Field(ge=0.0, le=1.0)]],
        Field(
            max_length=1,
            description="Lambda's RoutingConfig.AdditionalVersionWeights: one more version and its weight (0-1).",
        ),
    ] = Field(default_factory=dict)
    description: Annotated[str, Field(max_length=256)] = ""

    @model_validator(mode="after")
    def _extra_version_differs(self) -> AliasSpec:
        for version in self.routing:
            if not version.isdigit():
                raise invalid(f"routing key {version!r} must be a version number", field="routing")
        if str(self.version) in self.routing:
            raise invalid(f"version {self.version} is the alias's version and cannot also be in routing")
        return self


class FunctionSpec(Spec):
    """What to run and with which limits (Lambda's defaults where unspecified)."""

    runtime: Annotated[
        str,
        Field(
            description="Language runtime.",
            json_schema_extra={"enum": list(SUPPORTED_RUNTIMES)},
        ),
    ]
    handler: Annotated[
        str,
        Field(
            description="module.function, e.g. app.handler.",
            json_schema_extra={"pattern": HANDLER_PATTERN},
        ),
    ]
    code: Code
    layers: Annotated[
        list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,140}(:[1-9][0-9]{0,8})?$")]],
        Field(
            max_length=5,
            description="Layers NAME or NAME:VERSION (latest when no version), at most 5; later layers win.",
        ),
    ] = Field(default_factory=list)
    environment: Annotated[
        dict[str, str],
        Field(
            description="Environment variables (at most 4 KB in total).",
        ),
    ] = Field(default_factory=dict)
    memory: Annotated[Size(128, 10240), Field(description="Memory, e.g. 128Mi or 1Gi.")] = 128
    timeout: Annotated[Duration(1, 900, whole_seconds=True), Field(description="Longest an invocation may run.")] = 3.0
    ephemeral_storage: Annotated[Size(512, 10240), Field(description="Size of /tmp.")] = 512
    concurrency: Concurrency = Field(default_factory=Concurrency)
    events: Annotated[list[EventSource], Field(description="Event source mappings (queues, table streams).")] = Field(
        default_factory=list
    )
    scaling: Scaling = Field(default_factory=Scaling)
    async_: Annotated[AsyncConfig, Field(alias="async")] = Field(default_factory=AsyncConfig)
    publish: Annotated[bool, Field(description="Publish a new version whenever code or configuration changed.")] = False
    aliases: Annotated[
        dict[str, AliasSpec],
        Field(
            description="Alias name to the version it points to (and an optional weighted second version).",
            json_schema_extra={
                "x-kubernetes-validations": [
                    {
                        "rule": f"self.all(name, name.matches('{ALIAS_NAME_PATTERN}') && !name.matches('^[0-9]+$'))",
                        "message": ALIAS_NAME_RULE,
                    },
                    # Rules about each alias sit on the map so that errors name the alias (spec.aliases).
                    {
                        "rule": "self.all(n, !has(self[n].routing) || self[n].routing.all(v, v.matches('^[0-9]+$')))",
                        "message": "routing keys are version numbers",
                    },
                    {
                        "rule": "self.all(n, !has(self[n].routing) || !(string(self[n].version) in self[n].routing))",
                        "message": "the alias's version cannot also be in routing",
                    },
                ]
            },
        ),
    ] = Field(default_factory=dict)

    @field_validator("runtime")
    @classmethod
    def _check_runtime(cls, runtime: str) -> str:
        if runtime in RESERVED_RUNTIMES:
            raise invalid(f"runtime {runtime!r} is not supported yet")
        if runtime not in SUPPORTED_RUNTIMES:
            raise invalid(f"unknown runtime {runtime!r}; supported: {', '.join(SUPPORTED_RUNTIMES)}")
        return runtime

    @field_validator("handler")
    @classmethod
    def _check_handler(cls, handler: str) -> str:
        if not re.fullmatch(HANDLER_PATTERN, handler):
            raise invalid(f"must be module.function with dotted packages allowed, e.g. app.handler (got {handler!r})")
        return handler

    @field_validator("aliases")
    @classmethod
    def _check_alias_names(cls, aliases: dict[str, AliasSpec]) -> dict[str, AliasSpec]:
        for name in aliases:
            if not re.fullmatch(ALIAS_NAME_PATTERN, name) or name.isdigit():
                raise invalid(f"alias {name!r}: {ALIAS_NAME_RULE}")
        return aliases

    @field_validator("environment")
    @classmethod
    def _check_environment(cls, env: dict[str, str]) -> dict[str, str]:
        for name in env:
            if not re.fullmatch(ENV_NAME_PATTERN, name):
                raise invalid(f"invalid variable name {name!r}: must match {ENV_NAME_PATTERN}")
            if name in RESERVED_ENV_NAMES or name.startswith("AWS_LAMBDA_"):
                raise invalid(f"{name!r} is a reserved variable name and cannot be set")
        size = sum(len(k.encode()) + len(v.encode()) for k, v in env.items())
        if size > MAX_ENVIRONMENT_BYTES:
            raise invalid(f"total size of variables is {size} bytes; must be at most 4096 bytes (4 KB)")
        return env


class Function(BaseModel):
    """A `kumo.dev/v1alpha1` `Function` object."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    api_version: Literal["kumo.dev/v1alpha1"] = API_VERSION
    kind: Literal["Function"] = "Function"
    metadata: ObjectMeta
    spec: FunctionSpec
    status: dict[str, Any] | None = None
