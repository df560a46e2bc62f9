"""Parse the ``FunctionName`` of a Lambda API call: a name, ``name:qualifier``, a full or partial ARN."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Lambda's documented FunctionName pattern (Invoke API reference), with named groups.
_FUNCTION_NAME = re.compile(
    r"(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d):)?"
    r"(?:(?P<account>\d{12}):)?"
    r"(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_-]+)"
    r"(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?"
)
_QUALIFIER = re.compile(r"\$LATEST|[a-zA-Z0-9_-]{1,128}")
_MAX_NAME = 64
_MAX_FUNCTION_NAME = 170


class InvalidFunctionName(ValueError):
    """The value does not satisfy Lambda's FunctionName or Qualifier constraints.

    ``error_type`` is the Lambda error name to answer with.
    """

    def __init__(self, message: str, error_type: str = "ValidationException") -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type


@dataclass(frozen=True)
class FunctionRef:
    name: str
    #: The qualifier the caller gave (in the name or as ``?Qualifier=``), or None.
    qualifier: str | None
    region: str | None = None
    account: str | None = None


def parse_function_name(value: str, qualifier: str | None = None) -> FunctionRef:
    """Split ``value`` into name and qualifier; ``qualifier`` is the ``?Qualifier=`` parameter.

    Raises :class:`InvalidFunctionName` for a malformed value, or when the qualifier in the name and
    the parameter disagree (Lambda rejects that too).
    """
    if not value or len(value) > _MAX_FUNCTION_NAME:
        raise InvalidFunctionName(
            f"1 validation error detected: Value '{value}' at 'functionName' failed to satisfy constraint: "
            f"Member must have length between 1 and {_MAX_FUNCTION_NAME}"
        )
    match = _FUNCTION_NAME.fullmatch(value)
    if match is None or len(match["name"]) > _MAX_NAME:
        raise InvalidFunctionName(
            f"1 validation error detected: Value '{value}' at 'functionName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: "
            r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?"
            r"([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
        )
    if qualifier is not None and not _QUALIFIER.fullmatch(qualifier):
        raise InvalidFunctionName(
            f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed to satisfy constraint: "
            r"Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"
        )
    derived = match["qualifier"]
    if derived is not None and qualifier is not None and derived != qualifier:
        raise InvalidFunctionName(
            "The derived qualifier from the function name does not match the specified qualifier.",
            "InvalidParameterValueException",
        )
    return FunctionRef(
        name=match["name"],
        qualifier=derived if derived is not None else qualifier,
        region=match["region"],
        account=match["account"],
    )
