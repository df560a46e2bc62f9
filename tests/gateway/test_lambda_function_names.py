"""FunctionName / ARN parsing for the Lambda API."""

from __future__ import annotations

import pytest

from kumo_gateway.lambda_.function_names import InvalidFunctionName, parse_function_name


@pytest.mark.parametrize(
    ("value", "qualifier", "name", "expected_qualifier", "region", "account"),
    [
        ("my-function", None, "my-function", None, None, None),
        ("my_function:$LATEST", None, "my_function", "$LATEST", None, None),
        ("my-function:prod", None, "my-function", "prod", None, None),
        ("my-function", "7", "my-function", "7", None, None),
        ("arn:aws:lambda:us-west-2:123456789012:function:fn", None, "fn", None, "us-west-2", "123456789012"),
        ("arn:aws:lambda:us-west-2:123456789012:function:fn:live", "live", "fn", "live", "us-west-2", "123456789012"),
        ("123456789012:function:fn", None, "fn", None, None, "123456789012"),
        (
            "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:fn",
            None,
            "fn",
            None,
            "us-gov-west-1",
            "123456789012",
        ),
    ],
)
def test_valid(value, qualifier, name, expected_qualifier, region, account) -> None:
    ref = parse_function_name(value, qualifier)
    assert ref.name == name
    assert ref.qualifier == expected_qualifier
    assert ref.region == region
    assert ref.account == account


@pytest.mark.parametrize(
    "value", ["", "bad name", "a" * 65, "x" * 171, "arn:aws:lambda:nowhere:1:function:fn", "fn:", "fn:a:b"]
)
def test_invalid_names(value: str) -> None:
    with pytest.raises(InvalidFunctionName) as info:
        parse_function_name(value)
    assert info.value.error_type == "ValidationException"


def test_invalid_qualifier() -> None:
    with pytest.raises(InvalidFunctionName) as info:
        parse_function_name("fn", "not valid!")
    assert "qualifier" in info.value.message


def test_conflicting_qualifiers() -> None:
    with pytest.raises(InvalidFunctionName) as info:
        parse_function_name("fn:one", "two")
    assert info.value.error_type == "InvalidParameterValueException"
    assert parse_function_name("fn:one", "one").qualifier == "one"
