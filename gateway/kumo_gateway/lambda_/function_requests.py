"""Pure checks of the Lambda management calls that write a function: ``CreateFunction``,
``UpdateFunctionCode``, ``UpdateFunctionConfiguration`` and the tag calls (Lambda API reference).

Each turns a parsed JSON body into what the backend stores, or raises :class:`RequestError` with
Lambda's error type and a message that says what to change. No I/O here.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from kumo.models import FunctionSpec
from kumo.models.base import DNS_LABEL_PATTERN
from kumo.packages.plan import MAX_ZIPPED_BYTES
from kumo.versions import MAX_DESCRIPTION
from kumo_gateway.lambda_.layer_versions import LAYER_VERSION_ARN as _LAYER_ARN

ARCHITECTURES = ("x86_64", "arm64")
_TAG_KEY = re.compile(r"^(?!aws:)[\w\s.:/=+\-@]{1,128}$")
MAX_TAGS = 50
#: A CreateFunction/UpdateFunctionCode body: a base64 zip of up to 50 MB, in JSON.
MAX_UPLOAD_BODY = MAX_ZIPPED_BYTES * 4 // 3 + 64 * 1024


class RequestError(ValueError):
    """A request Lambda refuses: ``status`` and ``error_type`` as Lambda answers."""

    def __init__(self, message: str, error_type: str = "InvalidParameterValueException", status: int = 400) -> None:
        super().__init__(message)
        self.message, self.error_type, self.status = message, error_type, status


@dataclass(frozen=True)
class FunctionSettings:
    """The settings of a function the API manages (besides its code)."""

    runtime: str
    handler: str
    role: str
    description: str = ""
    memory: int = 128
    timeout: int = 3
    environment: Mapping[str, str] = field(default_factory=dict)
    #: Layer version ARNs, in order.
    layers: tuple[str, ...] = ()
    architecture: str = "x86_64"
    ephemeral_storage: int = 512

    def to_record(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "handler": self.handler,
            "role": self.role,
            "description": self.description,
            "memory": self.memory,
            "timeout": self.timeout,
            "environment": dict(self.environment),
            "layers": list(self.layers),
            "architecture": self.architecture,
            "ephemeralStorage": self.ephemeral_storage,
        }

    @staticmethod
    def from_record(record: Mapping[str, Any]) -> FunctionSettings:
        return FunctionSettings(
            runtime=record["runtime"],
            handler=record["handler"],
            role=record["role"],
            description=record.get("description", ""),
            memory=int(record.get("memory", 128)),
            timeout=int(record.get("timeout", 3)),
            environment=dict(record.get("environment") or {}),
            layers=tuple(record.get("layers") or ()),
            architecture=record.get("architecture", "x86_64"),
            ephemeral_storage=int(record.get("ephemeralStorage", 512)),
        )


@dataclass(frozen=True)
class CreateRequest:
    name: str
    settings: FunctionSettings
    zip_bytes: bytes
    publish: bool
    tags: Mapping[str, str]


def layer_ref(arn: str) -> str:
    """A layer version ARN → Kumo's ``NAME:VERSION``."""
    match = _LAYER_ARN.match(arn) if isinstance(arn, str) else None
    if match is None:
        raise RequestError(
            f"Layer {arn!r} is not a layer version ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION)"
        )
    return f"{match.group(1)}:{match.group(2)}"


def check_name(name: Any) -> str:
    """Kumo function names are Kubernetes names: 1-63 lowercase letters, digits and '-'."""
    if not isinstance(name, str) or not name:
        raise RequestError("FunctionName is required")
    if not re.fullmatch(DNS_LABEL_PATTERN, name) or len(name) > 63:
        raise RequestError(
            f"FunctionName {name!r} cannot be used on Kumo: function names are Kubernetes names "
            "(1-63 lowercase letters, digits and '-', starting and ending with a letter or digit)"
        )
    return name


def decode_zip(code: Any) -> bytes:
    """``Code.ZipFile`` (base64 in the JSON body); S3 and image code are refused with the reason."""
    if not isinstance(code, dict):
        raise RequestError("Code is required: give Code.ZipFile (the deployment package's bytes)")
    if any(code.get(key) for key in ("S3Bucket", "S3Key", "S3ObjectVersion")):
        raise RequestError(
            "Code.S3Bucket/S3Key is not supported by Kumo (there is no S3-compatible store yet): "
            "upload the deployment package as Code.ZipFile (aws lambda ... --zip-file fileb://package.zip)"
        )
    if code.get("ImageUri"):
        raise RequestError(
            "Code.ImageUri is not supported through the Lambda API on Kumo: use PackageType Zip with Code.ZipFile, "
            "or a Function manifest with code.image in a cluster"
        )
    return _zip_bytes(code.get("ZipFile"))


def _zip_bytes(encoded: Any) -> bytes:
    if not isinstance(encoded, str) or not encoded:
        raise RequestError("Code.ZipFile is required: the deployment package's bytes")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError("ZipFile is not valid base64") from None
    if len(data) > MAX_ZIPPED_BYTES:
        raise RequestError(
            f"Zipped size must be smaller than {MAX_ZIPPED_BYTES} bytes (50 MB); got {len(data)} bytes",
            "RequestEntityTooLargeException",
            413,
        )
    return data


def parse_create(body: Mapping[str, Any]) -> CreateRequest:
    name = check_name(body.get("FunctionName"))
    if body.get("PackageType", "Zip") != "Zip":
        raise RequestError("PackageType Image is not supported through the Lambda API on Kumo: use Zip")
    zip_bytes = decode_zip(body.get("Code"))
    for key in ("Runtime", "Handler", "Role"):
        if not isinstance(body.get(key), str) or not body.get(key):
            raise RequestError(f"{key} is required for a function with a .zip deployment package")
    settings = FunctionSettings(runtime=body["Runtime"], handler=body["Handler"], role=body["Role"])
    settings = apply_configuration(settings, body)
    publish = body.get("Publish", False)
    if not isinstance(publish, bool):
        raise RequestError("Publish must be true or false")
    return CreateRequest(name, settings, zip_bytes, publish, parse_tags(body.get("Tags") or {}))


def apply_configuration(settings: FunctionSettings, body: Mapping[str, Any]) -> FunctionSettings:
    """``settings`` with the configuration fields ``body`` gives (CreateFunction, UpdateFunctionConfiguration)."""
    changes: dict[str, Any] = {}
    for key, attribute in (("Runtime", "runtime"), ("Handler", "handler"), ("Role", "role")):
        if body.get(key) is not None:
            changes[attribute] = _string(body, key)
    if body.get("Description") is not None:
        description = _string(body, "Description")
        if len(description) > MAX_DESCRIPTION:
            raise RequestError(f"Description must be at most {MAX_DESCRIPTION} characters long")
        changes["description"] = description
    for key, attribute in (("MemorySize", "memory"), ("Timeout", "timeout")):
        value = body.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int):
                raise RequestError(f"{key} must be an integer")
            changes[attribute] = value
    if body.get("Environment") is not None:
        variables = body["Environment"].get("Variables") if isinstance(body["Environment"], dict) else None
        if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
            raise RequestError("Environment.Variables must be a map of names to string values")
        changes["environment"] = dict(variables)
    if body.get("Layers") is not None:
        layers = body["Layers"]
        if not isinstance(layers, list):
            raise RequestError("Layers must be a list of layer version ARNs")
        for arn in layers:
            layer_ref(arn)
        changes["layers"] = tuple(layers)
    if body.get("Architectures") is not None:
        architectures = body["Architectures"]
        if not isinstance(architectures, list) or len(architectures) != 1 or architectures[0] not in ARCHITECTURES:
            raise RequestError("Architectures must name exactly one of x86_64, arm64")
        changes["architecture"] = architectures[0]
    if body.get("EphemeralStorage") is not None:
        size = body["EphemeralStorage"].get("Size") if isinstance(body["EphemeralStorage"], dict) else None
        if isinstance(size, bool) or not isinstance(size, int):
            raise RequestError("EphemeralStorage.Size must be an integer (MB)")
        changes["ephemeral_storage"] = size
    updated = FunctionSettings(**{**settings.__dict__, **changes})
    function_spec(updated, "/check")  # Lambda's limits (memory, timeout, runtime, handler, environment)
    return updated


def function_spec(settings: FunctionSettings, zip_path: str) -> FunctionSpec:
    """The ``FunctionSpec`` the catalog serves for these settings and a stored package."""
    try:
        return FunctionSpec.model_validate(
            {
                "runtime": settings.runtime,
                "handler": settings.handler,
                "code": {"zip": zip_path},
                "layers": [layer_ref(arn) for arn in settings.layers],
                "environment": dict(settings.environment),
                "memory": settings.memory,
                "timeout": settings.timeout,
                "ephemeralStorage": settings.ephemeral_storage,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(f"{_field(error['loc'])}: {error['msg']}" for error in exc.errors())
        raise RequestError(problems) from None


_FIELDS = {
    "runtime": "Runtime",
    "handler": "Handler",
    "memory": "MemorySize",
    "timeout": "Timeout",
    "environment": "Environment.Variables",
    "layers": "Layers",
    "ephemeralStorage": "EphemeralStorage.Size",
}


def _field(location: tuple[Any, ...]) -> str:
    return _FIELDS.get(str(location[0]), ".".join(map(str, location))) if location else "request"


def parse_update_code(body: Mapping[str, Any]) -> tuple[bytes, bool, str | None]:
    """``(zip bytes, Publish, RevisionId)`` of an UpdateFunctionCode body."""
    if any(body.get(key) for key in ("S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri")):
        decode_zip({key: body.get(key) for key in ("S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri")})
    zip_bytes = _zip_bytes(body.get("ZipFile"))
    publish = body.get("Publish", False)
    if not isinstance(publish, bool):
        raise RequestError("Publish must be true or false")
    revision = body.get("RevisionId")
    if revision is not None and not isinstance(revision, str):
        raise RequestError("RevisionId must be a string")
    if body.get("Architectures") is not None:
        apply_configuration(FunctionSettings("python3.12", "app.handler", ""), {"Architectures": body["Architectures"]})
    return zip_bytes, publish, revision


def parse_tags(tags: Any) -> dict[str, str]:
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise RequestError("Tags must be a map of keys to string values")
    if len(tags) > MAX_TAGS:
        raise RequestError(f"A function can have at most {MAX_TAGS} tags")
    for key, value in tags.items():
        if not _TAG_KEY.match(key):
            raise RequestError(f"Tag key {key!r} is invalid: 1-128 characters, not starting with 'aws:'")
        if len(value) > 256:
            raise RequestError(f"Tag value of {key!r} is longer than 256 characters")
    return dict(tags)


def _string(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise RequestError(f"{key} must be a string")
    return value
