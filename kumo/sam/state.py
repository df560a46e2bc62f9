"""What the mappers share: one resource with its properties, the translation being built, unmapped items."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kumo.sam.intrinsics import Context, Unresolved, evaluate
from kumo.sam.loader import TemplateError
from kumo.sam.names import Names

API_VERSION = "kumo.dev/v1alpha1"


@dataclass(frozen=True)
class Unmapped:
    """Something the template uses that Kumo does not map: by logical id (or `Id.Property`), type, reason."""

    logical_id: str
    type: str
    reason: str

    def __str__(self) -> str:
        return f"{self.logical_id} ({self.type}): {self.reason}"


@dataclass(frozen=True)
class LayerSource:
    """An `AWS::Serverless::LayerVersion`: published as layer `name` from `path` when Kumo starts."""

    logical_id: str
    name: str
    path: Path


@dataclass(frozen=True)
class QueueSource:
    """An `AWS::SQS::Queue`: the Kumo queue `name` (created on first use)."""

    logical_id: str
    name: str


@dataclass(frozen=True)
class Output:
    """One of the template's `Outputs`: its value as the template gives it (AWS-shaped URLs are made
    Kumo URLs by :func:`kumo.sam.outputs.resolve_urls`), or None and the reason it has none in Kumo."""

    logical_id: str
    value: str | None
    description: str = ""
    reason: str = ""


@dataclass
class Translation:
    """Kumo manifests (dicts, as in YAML), layers to publish, queues, outputs, and everything left unmapped."""

    manifests: list[dict[str, Any]] = field(default_factory=list)
    layers: list[LayerSource] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    queues: list[QueueSource] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)


@dataclass
class Route:
    """A route an event adds to an Api (collected from functions, then put on the Api)."""

    method: str
    path: str
    function: str
    extra: dict[str, Any] = field(default_factory=dict)
    source: str = ""


@dataclass
class ImplicitApi:
    """Routes gathered for one Api (explicit, or SAM's implicit ServerlessRestApi/ServerlessHttpApi)."""

    kind: str  # "Api" (REST, payload 1.0) or "HttpApi"
    routes: list[Route] = field(default_factory=list)
    payload_format: str | None = None


@dataclass
class Build:
    """The state of one translation: names, intrinsic context, template folder, routes by Api name."""

    names: Names
    context: Context
    base_dir: Path
    result: Translation = field(default_factory=Translation)
    apis: dict[str, ImplicitApi] = field(default_factory=dict)
    #: Logical ids the mappers handled (the rest are reported unmapped).
    exists: Callable[[Path], bool] = Path.is_file

    def unmapped(self, logical_id: str, kind: str, reason: str) -> None:
        self.result.unmapped.append(Unmapped(logical_id, kind, reason))

    def manifest(self, kind: str, name: str, spec: dict[str, Any], annotations: dict[str, str] | None = None) -> None:
        metadata: dict[str, Any] = {"name": name}
        if annotations:
            metadata["annotations"] = annotations
        self.result.manifests.append({"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec})


@dataclass
class Resource:
    """One template resource, its properties merged with Globals; values evaluated when read."""

    logical_id: str
    type: str
    properties: dict[str, Any]
    build: Build

    def get(self, key: str, default: Any = None) -> Any:
        """The evaluated property `key` (TemplateError names the resource and property)."""
        if key not in self.properties:
            return default
        try:
            return evaluate(self.properties[key], self.build.context)
        except TemplateError as exc:
            raise type(exc)(f"{self.logical_id}.{key}: {exc}") from None

    def try_get(self, key: str, default: Any = None) -> tuple[Any, bool]:
        """`(value, True)`, or `(default, False)` after reporting an unresolvable reference as unmapped."""
        try:
            return self.get(key, default), True
        except Unresolved as exc:
            self.build.unmapped(f"{self.logical_id}.{key}", self.type, str(exc).split(": ", 1)[-1])
            return default, False

    def report_unknown(self, handled: Iterable[str], reasons: dict[str, str] | None = None) -> None:
        """Report every property not in `handled` as unmapped (with a reason from `reasons` or a general one)."""
        known = set(handled)
        for key in self.properties:
            if key not in known:
                reason = (reasons or {}).get(key, f"property {key} is not supported by Kumo")
                self.build.unmapped(f"{self.logical_id}.{key}", self.type, reason)


def as_int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise TemplateError(f"{what} must be a whole number, got {value!r}") from None
