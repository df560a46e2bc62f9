"""Shared pieces of the resource models: config, metadata, duration and size field types."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from kumo.models.quantities import (
    DURATION_PATTERN,
    SIZE_PATTERN,
    format_duration,
    format_size_mib,
    parse_duration,
    parse_size_mib,
)

GROUP = "kumo.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

#: Key in a :class:`PydanticCustomError` context naming a sub-field the error is about.
FIELD_CTX = "kumo_field"


#: JSON-schema marker (``Field(json_schema_extra=...)``): the generated CRD leaves this field's default out,
#: so the API server does not store it (the model applies it when reading, where it is meaningful).
NO_CRD_DEFAULT: dict[str, Any] = {"x-kumo-no-default": True}


def invalid(message: str, field: str | None = None) -> PydanticCustomError:
    """An error whose text is ``message`` as is; ``field`` (camelCase) is appended to its location."""
    return PydanticCustomError("kumo", message, {FIELD_CTX: field} if field else None)


class Spec(BaseModel):
    """Base of every spec object: camelCase keys, unknown keys refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def _dns_label(value: str) -> str:
    if not re.fullmatch(DNS_LABEL_PATTERN, value):
        raise invalid(
            "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending "
            f"with a letter or digit (got {value!r})"
        )
    return value


#: A Kubernetes object name usable as a DNS label (also a Lambda function name).
DnsLabel = Annotated[
    str,
    Field(min_length=1, max_length=63, json_schema_extra={"pattern": DNS_LABEL_PATTERN}),
    AfterValidator(_dns_label),
]


class ObjectMeta(BaseModel):
    """The parts of Kubernetes metadata Kumo reads; anything else (uid, resourceVersion...) is ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    name: DnsLabel
    namespace: DnsLabel | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


def _limit_rules(kind: str, low: float | None, high: float | None, exclusive_low: bool) -> dict[str, Any]:
    return {"kind": kind, "minimum": low, "maximum": high, "exclusiveMinimum": exclusive_low}


def _seconds(value: float) -> str:
    return f"{value:g}s"


def duration_type(
    low: float | None = None,
    high: float | None = None,
    *,
    exclusive_low: bool = False,
    whole_seconds: bool = False,
) -> Any:
    """A duration field stored as float seconds, dumped as a Go-style string, with limits."""

    def check(seconds: float) -> float:
        if low is not None and exclusive_low and seconds <= low:
            raise invalid(f"must be greater than {_seconds(low)}")
        if low is not None and not exclusive_low and seconds < low:
            raise invalid(f"must be at least {_seconds(low)}")
        if high is not None and seconds > high:
            raise invalid(f"must be at most {_seconds(high)}")
        if whole_seconds and not float(seconds).is_integer():
            raise invalid("must be a whole number of seconds")
        return seconds

    rules = _limit_rules("duration", low, high, exclusive_low) | {"wholeSeconds": whole_seconds}
    schema = {
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": True,
        "pattern": DURATION_PATTERN,
        "maxLength": 64,
        "x-kumo-limits": rules,
    }
    return Annotated[
        float,
        BeforeValidator(_wrap(parse_duration)),
        AfterValidator(check),
        PlainSerializer(format_duration, return_type=str),
        WithJsonSchema(schema),
    ]


def size_type(low: int | None = None, high: int | None = None) -> Any:
    """A size field stored as int MiB, dumped as ``<n>Mi``, with limits."""

    def check(mib: int) -> int:
        if low is not None and mib < low:
            raise invalid(f"must be at least {low}Mi")
        if high is not None and mib > high:
            raise invalid(f"must be at most {high}Mi")
        return mib

    schema = {
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": True,
        "pattern": SIZE_PATTERN,
        "maxLength": 64,
        "x-kumo-limits": _limit_rules("size", low, high, False),
    }
    return Annotated[
        int,
        BeforeValidator(_wrap(parse_size_mib)),
        AfterValidator(check),
        PlainSerializer(format_size_mib, return_type=str),
        WithJsonSchema(schema),
    ]


def _wrap(parse: Any) -> Any:
    """Turn a parser's ``ValueError`` into a clean validation error (no "Value error, " prefix)."""

    def validate(value: object) -> object:
        try:
            return parse(value)
        except ValueError as exc:
            raise invalid(str(exc)) from None

    return validate
