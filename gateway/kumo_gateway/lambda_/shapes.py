"""Pure builders for the Lambda management API's JSON shapes and its request parts (paths, pagination).

Shapes follow the Lambda API reference (``FunctionConfiguration``, ``AliasConfiguration``,
``GetFunctionResponse``); :func:`match_operation` maps a ``/2015-03-31/functions…`` request to an operation.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from kumo.models import FunctionSpec
from kumo.versions import Alias, Snapshot

#: ``ListFunctions``' page size when ``MaxItems`` is not given (Lambda answers at most 50).
DEFAULT_PAGE = 50
MAX_ITEMS = 10000
_FUNCTIONS = "/2015-03-31/functions"

T = TypeVar("T")


class BadParameter(ValueError):
    """A query parameter Lambda would refuse (answered as ``InvalidParameterValueException``)."""


@dataclass(frozen=True)
class Operation:
    name: str
    function: str | None = None
    alias: str | None = None


_ROUTES: dict[tuple[str, int, str | None], str] = {
    ("GET", 0, None): "ListFunctions",
    ("POST", 0, None): "CreateFunction",
    ("PUT", 2, "code"): "UpdateFunctionCode",
    ("PUT", 2, "configuration"): "UpdateFunctionConfiguration",
    ("GET", 1, None): "GetFunction",
    ("DELETE", 1, None): "DeleteFunction",
    ("GET", 2, "configuration"): "GetFunctionConfiguration",
    ("POST", 2, "versions"): "PublishVersion",
    ("GET", 2, "versions"): "ListVersionsByFunction",
    ("POST", 2, "aliases"): "CreateAlias",
    ("GET", 2, "aliases"): "ListAliases",
    ("GET", 3, "aliases"): "GetAlias",
    ("PUT", 3, "aliases"): "UpdateAlias",
    ("DELETE", 3, "aliases"): "DeleteAlias",
}


def match_operation(method: str, path: str) -> Operation | None:
    """The management operation for ``method path`` (path decoded), or None if Kumo has none there."""
    if path != _FUNCTIONS and not path.startswith(_FUNCTIONS + "/"):
        return None
    rest = path[len(_FUNCTIONS) + 1 :]
    parts = rest.split("/") if rest else []
    if len(parts) > 3 or any(not part for part in parts):
        return None
    key = (method, len(parts), parts[1] if len(parts) >= 2 else None)
    name = _ROUTES.get(key)
    if name is None:
        return None
    return Operation(name, parts[0] if parts else None, parts[2] if len(parts) == 3 else None)


def paginate(items: Sequence[T], marker: str | None, max_items: str | None, default: int) -> tuple[list[T], str | None]:
    """One page of ``items`` after the opaque ``marker``; ``(page, NextMarker or None)``."""
    start = 0
    if marker:
        if not marker.isdigit() or int(marker) > len(items):
            raise BadParameter(f"Invalid Marker: {marker!r}")
        start = int(marker)
    size = default
    if max_items is not None:
        if not max_items.isdigit() or not 1 <= int(max_items) <= MAX_ITEMS:
            raise BadParameter(f"MaxItems must be an integer between 1 and {MAX_ITEMS}, got {max_items!r}")
        size = int(max_items)
    end = start + size
    return list(items[start:end]), (str(end) if end < len(items) else None)


def function_configuration(
    *,
    name: str,
    function_arn: str,
    version: str,
    snapshot: Snapshot,
    description: str,
    last_modified: str,
    account_id: str,
) -> dict[str, Any]:
    """Lambda's ``FunctionConfiguration`` for ``version`` (``$LATEST`` or a number) of a function."""
    spec: FunctionSpec = snapshot.spec
    return {
        "FunctionName": name,
        "FunctionArn": function_arn,
        "Runtime": spec.runtime,
        "Role": f"arn:aws:iam::{account_id}:role/kumo-function",
        "Handler": spec.handler,
        "CodeSize": snapshot.code_size,
        "Description": description,
        "Timeout": int(spec.timeout),
        "MemorySize": spec.memory,
        "LastModified": last_modified,
        "CodeSha256": snapshot.code_sha256,
        "Version": version,
        "Environment": {"Variables": dict(spec.environment)},
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": str(uuid.UUID(snapshot.fingerprint[:32])),
        "Layers": [],
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": spec.ephemeral_storage},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
    }


def get_function_response(configuration: dict[str, Any], reserved: int | None) -> dict[str, Any]:
    """``GetFunctionResponse``: the configuration, where the code is, and reserved concurrency if set."""
    response: dict[str, Any] = {"Configuration": configuration, "Code": {"RepositoryType": "S3"}, "Tags": {}}
    if reserved is not None:
        response["Concurrency"] = {"ReservedConcurrentExecutions": reserved}
    return response


def alias_configuration(alias: Alias, alias_arn: str) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "AliasArn": alias_arn,
        "Name": alias.name,
        "FunctionVersion": alias.function_version,
        "Description": alias.description,
        "RevisionId": alias.revision_id,
    }
    if alias.routing:
        shape["RoutingConfig"] = {"AdditionalVersionWeights": dict(alias.routing)}
    return shape


def parse_routing(body: dict[str, Any]) -> dict[str, float] | None:
    """``RoutingConfig.AdditionalVersionWeights`` of a CreateAlias/UpdateAlias body (None: not given)."""
    routing = body.get("RoutingConfig")
    if routing is None:
        return None
    if not isinstance(routing, dict):
        raise BadParameter("RoutingConfig must be an object")
    weights = routing.get("AdditionalVersionWeights") or {}
    if not isinstance(weights, dict):
        raise BadParameter("RoutingConfig.AdditionalVersionWeights must be a map of version to weight")
    parsed: dict[str, float] = {}
    for version, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
            raise BadParameter(f"Weight for version {version} must be a number between 0.0 and 1.0")
        parsed[str(version)] = float(weight)
    return parsed
