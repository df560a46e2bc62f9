"""Kumo's resource models (``kumo.dev/v1alpha1``): Function, Table and Api, as pydantic v2 models.

Python attributes are snake_case, manifest keys camelCase; unknown spec keys are refused.
"""

from kumo.models.api import DEFAULT_STAGE, Api, ApiSpec, Route, Stage
from kumo.models.base import API_VERSION, GROUP, VERSION, ObjectMeta
from kumo.models.errors import format_validation_error
from kumo.models.function import (
    AliasSpec,
    AsyncConfig,
    Code,
    Concurrency,
    ConfigMapRef,
    Destination,
    Function,
    FunctionSpec,
    Scaling,
)
from kumo.models.quantities import format_duration, format_size_mib, parse_duration, parse_size_mib
from kumo.models.table import KeyAttribute, ProvisionedThroughput, StreamSpec, Table, TableSpec

#: The resource classes by ``kind``.
KINDS: dict[str, type[Function] | type[Table] | type[Api]] = {"Function": Function, "Table": Table, "Api": Api}

__all__ = [
    "API_VERSION",
    "DEFAULT_STAGE",
    "GROUP",
    "KINDS",
    "VERSION",
    "AliasSpec",
    "Api",
    "ApiSpec",
    "AsyncConfig",
    "Code",
    "Concurrency",
    "ConfigMapRef",
    "Destination",
    "Function",
    "FunctionSpec",
    "KeyAttribute",
    "ObjectMeta",
    "ProvisionedThroughput",
    "Route",
    "Scaling",
    "Stage",
    "StreamSpec",
    "Table",
    "TableSpec",
    "format_duration",
    "format_size_mib",
    "format_validation_error",
    "parse_duration",
    "parse_size_mib",
]
