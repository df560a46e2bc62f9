"""Layer versions as Lambda's layer calls see them: the record, the store interface both modes implement,
and the JSON shapes (pure; no I/O).

One handler (``lambda_/layers_api.py``), two stores: local mode's ``local/layer_versions.py`` (over
:class:`kumo.packages.layers.LayerStore`, the state dir) and a cluster's ``kubernetes/layer_versions.py``
(archives in the code store, one labelled ConfigMap per version).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from kumo.packages.layers import LAYER_NAME_PATTERN

#: ``arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION`` (GetLayerVersionByArn, a function's ``Layers``).
LAYER_VERSION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:layer:([A-Za-z0-9_-]{1,140}):([1-9][0-9]{0,8})$"
)


class LayerError(Exception):
    """A layer call Lambda refuses: ``status`` and ``error_type`` as Lambda answers."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


def invalid(message: str) -> LayerError:
    return LayerError(400, "InvalidParameterValueException", message)


@dataclass(frozen=True)
class LayerVersion:
    """One published layer version: what Lambda reports about it, and where its archive is."""

    name: str
    version: int
    #: Lowercase hex SHA-256 of the zip (the code store's address); ``""`` when unknown (offline publish).
    sha256: str = ""
    size: int = 0
    description: str = ""
    created: str = "1970-01-01T00:00:00.000+0000"
    runtimes: tuple[str, ...] = field(default_factory=tuple)


class LayerVersionStore(Protocol):
    """Where layer versions live; numbers are never reused, even after DeleteLayerVersion."""

    async def publish(self, name: str, data: bytes, description: str, runtimes: tuple[str, ...]) -> LayerVersion:
        """A new version of ``name`` from a zip (refused: :class:`LayerError`)."""
        ...

    async def versions(self, name: str) -> list[LayerVersion]:
        """The versions of ``name`` not deleted, oldest first."""
        ...

    async def names(self) -> list[str]:
        """Layer names with at least one version, sorted."""
        ...

    async def delete(self, name: str, version: int) -> None:
        """Delete one version (a missing one is not an error, as on Lambda)."""
        ...


def check_name(name: str) -> str:
    if not re.match(LAYER_NAME_PATTERN, name):
        raise invalid(f"Invalid layer name {name!r}: 1-140 letters, digits, '-' or '_'")
    return name


def parse_version_arn(arn: Any) -> tuple[str, int]:
    """A layer version ARN → ``(name, version)``."""
    match = LAYER_VERSION_ARN.match(arn) if isinstance(arn, str) else None
    if match is None:
        raise invalid(f"Layer {arn!r} is not a layer version ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION)")
    return match.group(1), int(match.group(2))


def find(versions: list[LayerVersion], number: int) -> LayerVersion | None:
    return next((v for v in versions if v.version == number), None)


def code_sha256(sha256_hex: str) -> str:
    """Lambda's ``CodeSha256``: base64 of the SHA-256 (``""`` when unknown)."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode() if sha256_hex else ""


def version_shape(layer: LayerVersion, arn_prefix: str) -> dict[str, Any]:
    """``GetLayerVersion``/``PublishLayerVersion``'s answer (``arn_prefix``: ``arn:aws:lambda:R:A:layer``)."""
    return {
        "LayerArn": f"{arn_prefix}:{layer.name}",
        "LayerVersionArn": f"{arn_prefix}:{layer.name}:{layer.version}",
        "Version": layer.version,
        "Description": layer.description,
        "CreatedDate": layer.created,
        "CompatibleRuntimes": list(layer.runtimes),
        "Content": {"CodeSha256": code_sha256(layer.sha256), "CodeSize": layer.size},
    }


def list_shape(layer: LayerVersion, arn_prefix: str) -> dict[str, Any]:
    """One ``ListLayers`` entry: the layer and its latest version (without ``Content``)."""
    latest = version_shape(layer, arn_prefix)
    latest.pop("Content")
    return {"LayerName": layer.name, "LayerArn": latest["LayerArn"], "LatestMatchingVersion": latest}
