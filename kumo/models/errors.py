"""Turn pydantic validation errors into one line per problem in the manifest's own words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from kumo.models.base import FIELD_CTX


def format_location(loc: Sequence[str | int]) -> str:
    """``("spec", "routes", 0, "path")`` -> ``spec.routes[0].path``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]":
            text += "[key]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _plural(count: Any, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _message(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    simple = {
        "missing": "is required",
        "extra_forbidden": "unknown field",
        "string_type": "must be a string",
        "int_type": "must be an integer",
        "int_parsing": "must be an integer",
        "int_from_float": "must be a whole number",
        "float_type": "must be a number",
        "float_parsing": "must be a number",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "list_type": "must be a list",
        "dict_type": "must be a mapping",
        "model_type": "must be a mapping",
        "model_attributes_type": "must be a mapping",
    }
    if kind in simple:
        return simple[kind]
    if kind == "union_tag_not_found":
        return f"{ctx.get('discriminator', 'type').strip(chr(39))} is required"
    if kind == "union_tag_invalid":
        return f"{ctx.get('discriminator', 'type').strip(chr(39))} must be one of {ctx.get('expected_tags')}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind == "enum":
        return f"must be one of {ctx.get('expected')}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        words = {
            "greater_than_equal": ("at least", "ge"),
            "less_than_equal": ("at most", "le"),
            "greater_than": ("greater than", "gt"),
            "less_than": ("less than", "lt"),
        }[kind]
        return f"must be {words[0]} {ctx.get(words[1])}"
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return "must not be empty"
        return f"must be at least {_plural(ctx.get('min_length'), 'character')} long"
    if kind == "string_too_long":
        return f"must be at most {_plural(ctx.get('max_length'), 'character')} long"
    if kind == "too_short":
        return f"must have at least {_plural(ctx.get('min_length'), 'item')}"
    if kind == "too_long":
        return f"must have at most {_plural(ctx.get('max_length'), 'item')}"
    if kind == "string_pattern_mismatch":
        return f"must match the pattern {ctx.get('pattern')}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def format_validation_error(exc: ValidationError) -> list[str]:
    """One ``location: message`` line per error, e.g. ``spec.timeout: must be at most 900s``."""
    lines = []
    for error in exc.errors(include_url=False):
        loc: list[str | int] = list(error["loc"])
        field = (error.get("ctx") or {}).get(FIELD_CTX)
        if field:
            loc.append(field)
        where = format_location(loc)
        message = _message(error)
        lines.append(f"{where}: {message}" if where else message)
    return lines
