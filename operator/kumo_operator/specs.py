"""Validate a resource as the API server returned it, with the models' own error lines (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from kumo.models import Api, Function, Table, format_validation_error

MODELS: dict[str, type[Function] | type[Table] | type[Api]] = {"Function": Function, "Table": Table, "Api": Api}


class InvalidSpec(ValueError):
    """The spec breaks the model's rules (e.g. a CEL rule the API server did not evaluate)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("; ".join(lines))


def parse_body(body: Mapping[str, Any]) -> Any:
    """The model of ``body`` (Function, Table or Api); raises :class:`InvalidSpec` with one line per problem."""
    kind = body.get("kind", "")
    model = MODELS.get(kind)
    if model is None:
        raise InvalidSpec([f"unsupported kind {kind!r}"])
    meta = body.get("metadata") or {}
    obj = {
        "apiVersion": body.get("apiVersion"),
        "kind": kind,
        "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
        "spec": dict(body.get("spec") or {}),
    }
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise InvalidSpec(format_validation_error(exc)) from None
