"""Typed AttributeValue helpers: numbers, ordering, equality, sizes, validation, paths."""

from __future__ import annotations

import base64
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kumo_tablestore.errors import (
    ConditionalCheckFailedException,
    InternalServerError,
    TransactionCanceledException,
    ValidationException,
)
from kumo_tablestore.numbers import (
    add_numbers,
    format_number,
    normalize_number,
    parse_number,
    subtract_numbers,
)
from kumo_tablestore.values import (
    attribute_size,
    begins_with,
    compare_values,
    contains_value,
    get_path,
    item_size,
    remove_path,
    set_path,
    size_of,
    validate_item,
    validate_value,
    value_size,
    values_equal,
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("0.1", "0.1"),
        ("100", "100"),
        ("1E2", "100"),
        ("-1.50", "-1.5"),
        ("+7", "7"),
        ("0.000", "0"),
        ("-0", "0"),
        ("1e-130", "0." + "0" * 129 + "1"),
        ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
        ("9.9999999999999999999999999999999999999E+125", "99999999999999999999999999999999999999" + "0" * 88),
    ],
)
def test_number_canonical_form(text: str, canonical: str) -> None:
    assert normalize_number(text) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e-131", "Number underflow"),
        ("1E126", "Number overflow"),
        ("-1E126", "Number overflow"),
        ("1" * 39, "more than 38 significant digits"),
        ("NaN", "cannot be converted into a number"),
        ("Infinity", "cannot be converted into a number"),
        ("1_000", "cannot be converted into a number"),
        (" 1", "cannot be converted into a number"),
        ("", "cannot be converted into a number"),
        ("1.2.3", "cannot be converted into a number"),
        ("1e999999999999", "Number overflow"),
    ],
)
def test_number_errors(text: str, message: str) -> None:
    with pytest.raises(ValidationException, match=message):
        normalize_number(text)


def test_arithmetic_is_exact() -> None:
    assert add_numbers("0.1", "0.2") == "0.3"
    assert subtract_numbers("1", "1.5") == "-0.5"
    big = "1234567890123456789012345678901234567.8"
    assert add_numbers(big, "0") == big
    assert subtract_numbers(big, big) == "0"


def test_arithmetic_overflow_and_precision_errors() -> None:
    top = "9.9999999999999999999999999999999999999E+125"
    with pytest.raises(ValidationException, match="Number overflow"):
        add_numbers(top, "1E+125")
    with pytest.raises(ValidationException, match="38 significant digits"):
        add_numbers("1E+37", "0.1")


def test_equality_rules() -> None:
    assert values_equal({"N": "1.0"}, {"N": "1"})
    assert not values_equal({"N": "1"}, {"S": "1"})
    assert values_equal({"NS": ["1", "2.0"]}, {"NS": ["2", "1"]})
    assert values_equal({"SS": ["a", "b"]}, {"SS": ["b", "a"]})
    assert values_equal({"BS": [b64(b"x")]}, {"BS": [b64(b"x")]})
    assert values_equal({"L": [{"N": "1"}, {"M": {"a": {"S": "x"}}}]}, {"L": [{"N": "1.00"}, {"M": {"a": {"S": "x"}}}]})
    assert not values_equal({"L": [{"N": "1"}, {"N": "2"}]}, {"L": [{"N": "2"}, {"N": "1"}]})
    assert not values_equal({"M": {"a": {"N": "1"}}}, {"M": {"b": {"N": "1"}}})
    assert values_equal({"BOOL": True}, {"BOOL": True})
    assert not values_equal({"BOOL": True}, {"BOOL": False})
    assert not values_equal(None, None)


def test_ordering_rules() -> None:
    assert compare_values({"N": "10"}, {"N": "9"}) == 1
    assert compare_values({"N": "-1.5"}, {"N": "-1.50"}) == 0
    assert compare_values({"S": "B"}, {"S": "a"}) == -1  # byte order: uppercase first
    assert compare_values({"S": "z"}, {"S": "é"}) == -1  # UTF-8 byte order
    assert compare_values({"B": b64(b"\x01")}, {"B": b64(b"\xff")}) == -1
    assert compare_values({"N": "1"}, {"S": "1"}) is None
    assert compare_values({"BOOL": True}, {"BOOL": False}) is None
    assert compare_values(None, {"N": "1"}) is None


def test_contains_and_begins_with() -> None:
    assert contains_value({"S": "hello"}, {"S": "ell"})
    assert contains_value({"SS": ["a", "b"]}, {"S": "b"})
    assert contains_value({"NS": ["1", "2"]}, {"N": "2.0"})
    assert not contains_value({"NS": ["1", "2"]}, {"S": "2"})
    assert contains_value({"L": [{"S": "x"}, {"N": "1"}]}, {"N": "1"})
    assert contains_value({"B": b64(b"abc")}, {"B": b64(b"bc")})
    assert not contains_value({"N": "12"}, {"N": "1"})
    assert begins_with({"S": "hello"}, {"S": "he"})
    assert not begins_with({"S": "hello"}, {"S": "lo"})
    assert begins_with({"B": b64(b"abc")}, {"B": b64(b"ab")})
    assert not begins_with({"N": "12"}, {"N": "1"})


def test_size_function() -> None:
    assert size_of({"S": "abc"}) == 3
    assert size_of({"S": "é𝄞"}) == 3  # UTF-16 code units, as DynamoDB counts
    assert size_of({"B": b64(b"12345")}) == 5
    assert size_of({"SS": ["a", "b"]}) == 2
    assert size_of({"L": [{"N": "1"}]}) == 1
    assert size_of({"M": {"a": {"N": "1"}, "b": {"N": "2"}}}) == 2
    assert size_of({"N": "1"}) is None
    assert size_of(None) is None


def test_storage_sizes() -> None:
    assert attribute_size("name", {"S": "héllo"}) == 4 + 6
    assert value_size({"N": "12345"}) == 4  # 3 bytes of digit pairs + 1
    assert value_size({"N": "1"}) == 2
    assert value_size({"B": b64(b"\x00" * 10)}) == 10
    assert value_size({"BOOL": False}) == 1
    assert value_size({"NULL": True}) == 1
    assert value_size({"L": []}) == 3
    assert value_size({"L": [{"S": "ab"}]}) == 3 + 1 + 2
    assert value_size({"M": {"k": {"S": "ab"}}}) == 3 + 1 + 1 + 2
    assert value_size({"SS": ["ab", "c"]}) == 3
    assert item_size({"a": {"S": "x"}, "bb": {"BOOL": True}}) == 2 + 3


def test_validate_value_normalises_numbers() -> None:
    assert validate_value({"N": "1.50"}) == {"N": "1.5"}
    assert validate_value({"NS": ["1.0", "2"]}) == {"NS": ["1", "2"]}
    assert validate_value({"L": [{"M": {"a": {"N": "01"}}}]}) == {"L": [{"M": {"a": {"N": "1"}}}]}
    assert validate_item({"a": {"S": "x"}, "n": {"N": "2e0"}}) == {"a": {"S": "x"}, "n": {"N": "2"}}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({}, "Supplied AttributeValue is empty"),
        ({"S": "a", "N": "1"}, "more than one datatypes"),
        ({"SS": []}, "An string set  may not be empty"),
        ({"NS": []}, "An number set  may not be empty"),
        ({"BS": []}, "Binary sets should not be empty"),
        ({"SS": ["a", "a"]}, r"Input collection \[a, a\] contains duplicates"),
        ({"NS": ["1", "1.0"]}, "contains duplicates"),
        ({"NULL": False}, "Null attribute value types must have the value of true"),
        ({"B": "not base64!"}, "base64"),
        ({"N": "abc"}, "cannot be converted into a number"),
        ({"X": "1"}, "unsupported datatype"),
        ({"S": 1}, "String value must be a string"),
        ({"L": [{}]}, "Supplied AttributeValue is empty"),
    ],
)
def test_validate_value_errors(value: dict, message: str) -> None:
    with pytest.raises(ValidationException, match=message):
        validate_value(value)


def test_paths_get_set_remove() -> None:
    item = {"a": {"M": {"b": {"L": [{"N": "1"}, {"M": {"c": {"S": "x"}}}]}}}}
    assert get_path(item, ("a", "b", 1, "c")) == {"S": "x"}
    assert get_path(item, ("a", "b", 5)) is None
    assert get_path(item, ("a", "zz", 0)) is None
    assert get_path(item, ("a", 0)) is None
    set_path(item, ("a", "b", 0), {"N": "2"})
    set_path(item, ("a", "b", 9), {"N": "3"})  # past the end appends
    assert get_path(item, ("a", "b")) == {"L": [{"N": "2"}, {"M": {"c": {"S": "x"}}}, {"N": "3"}]}
    remove_path(item, ("a", "b", 1, "c"))
    assert get_path(item, ("a", "b", 1)) == {"M": {}}
    remove_path(item, ("a", "b", 7))  # absent index: no-op
    with pytest.raises(ValidationException, match="invalid for update"):
        set_path(item, ("missing", "x"), {"N": "1"})
    with pytest.raises(ValidationException, match="invalid for update"):
        set_path(item, ("a", "b", "x"), {"N": "1"})  # a map key on a list


def test_error_types_carry_aws_shape() -> None:
    err = ValidationException("bad")
    assert err.to_dict() == {"__type": "com.amazonaws.dynamodb.v20120810#ValidationException", "message": "bad"}
    assert err.status == 400
    assert InternalServerError().status == 500
    failed = ConditionalCheckFailedException(item={"pk": {"S": "a"}})
    assert failed.to_dict()["Item"] == {"pk": {"S": "a"}}
    assert failed.message == "The conditional request failed"
    cancelled = TransactionCanceledException([{"Code": "None"}, {"Code": "ConditionalCheckFailed"}])
    assert "[None, ConditionalCheckFailed]" in cancelled.message
    assert cancelled.to_dict()["CancellationReasons"][1]["Code"] == "ConditionalCheckFailed"


def test_decimal_comparison_is_exact_beyond_default_precision() -> None:
    a = "1234567890123456789012345678901234567.1"
    b = "1234567890123456789012345678901234567.2"
    assert compare_values({"N": a}, {"N": b}) == -1
    assert Decimal(a) < Decimal(b)


@given(st.integers(min_value=-(10**40), max_value=10**40))
def test_integer_fast_path_matches_decimal(number: int) -> None:
    """Canonical integers skip Decimal; the result (canonical form, size, errors) must be the same."""
    from kumo_tablestore.numbers import EXACT, number_size

    text = str(number)
    digits = Decimal(text).normalize(EXACT).as_tuple().digits  # the general path's own arithmetic
    assert number_size(text) == (len(digits) + 1) // 2 + 1
    try:
        expected = format_number(parse_number(text))
    except ValidationException as exc:
        with pytest.raises(ValidationException, match=re.escape(exc.message)):
            normalize_number(text)
    else:
        assert normalize_number(text) == expected


@pytest.mark.parametrize("text", ["-0", "007", "+5", "1e3", "\uff11\uff12", "", "-", "\u0663"])
def test_number_texts_off_the_fast_path(text: str) -> None:
    """Not canonical integers: the general path decides (canonical form or DynamoDB's error)."""
    try:
        expected = format_number(parse_number(text))
    except ValidationException:
        with pytest.raises(ValidationException):
            normalize_number(text)
    else:
        assert normalize_number(text) == expected
