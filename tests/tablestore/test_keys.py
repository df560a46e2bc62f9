"""Order-preserving key encodings: numbers, strings, binaries and composite table keys."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kumo_tablestore import keys
from kumo_tablestore.errors import ValidationException


def dynamo_decimals() -> st.SearchStrategy[Decimal]:
    """Numbers inside DynamoDB's range with up to 38 significant digits, both signs and zero."""
    digits = st.integers(min_value=1, max_value=10**38 - 1)
    exps = st.integers(min_value=-129 - 38, max_value=126 - 38)

    def build(d: int, e: int, neg: bool) -> Decimal:
        value = Decimal(d).scaleb(e)
        return -value if neg else value

    nonzero = st.builds(build, digits, exps, st.booleans()).filter(lambda v: -129 <= v.adjusted() + 1 <= 126)
    small = st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False, allow_infinity=False)
    return st.one_of(nonzero, small, st.just(Decimal(0)))


def enc_n(value: Decimal | str) -> bytes:
    return keys.encode_value({"N": str(value)})


@given(dynamo_decimals(), dynamo_decimals())
def test_number_order_matches_decimal_order(a: Decimal, b: Decimal) -> None:
    ea, eb = enc_n(a), enc_n(b)
    assert (ea < eb) == (a < b)
    assert (ea == eb) == (a == b)


@given(dynamo_decimals())
def test_number_round_trip(value: Decimal) -> None:
    wire = keys.decode_value(enc_n(value))
    assert Decimal(wire["N"]) == value
    assert keys.encode_value(wire) == enc_n(value)


def test_equal_numbers_encode_identically_and_decode_canonically() -> None:
    spellings = ["1", "1.0", "10E-1", "0.1e1", "+1.000", "001"]
    encodings = {enc_n(s) for s in spellings}
    assert len(encodings) == 1
    assert keys.decode_value(encodings.pop()) == {"N": "1"}
    assert keys.decode_value(enc_n("-0.0")) == {"N": "0"}
    assert keys.decode_value(enc_n("1E+2")) == {"N": "100"}
    assert keys.decode_value(enc_n("-12.50")) == {"N": "-12.5"}
    assert keys.decode_value(enc_n("1E+100")) == {"N": "1" + "0" * 100}


def test_number_extremes_are_ordered() -> None:
    ordered = [
        "-9.9999999999999999999999999999999999999E+125",
        "-1",
        "-1E-130",
        "0",
        "1E-130",
        "1",
        "9.9999999999999999999999999999999999999E+125",
    ]
    encs = [enc_n(s) for s in ordered]
    assert encs == sorted(encs)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1E+126", "overflow"),
        ("-1E+126", "overflow"),
        ("1E-131", "underflow"),
        ("1.23456789012345678901234567890123456789", "38 significant digits"),
        ("abc", "numeric"),
        ("NaN", "numeric"),
        ("1_000", "numeric"),
        ("", "numeric"),
    ],
)
def test_bad_numbers_raise_validation(text: str, fragment: str) -> None:
    with pytest.raises(ValidationException, match=fragment):
        enc_n(text)


def test_trailing_zeros_do_not_count_as_digits() -> None:
    assert keys.decode_value(enc_n("1" + "0" * 60)) == {"N": "1" + "0" * 60}
    assert keys.decode_value(enc_n("-1.5E-130")) == {"N": "-0." + "0" * 129 + "15"}


@given(st.text(min_size=1), st.text(min_size=1))
def test_string_order_is_utf8_byte_order(a: str, b: str) -> None:
    ea, eb = keys.encode_value({"S": a}), keys.encode_value({"S": b})
    assert (ea < eb) == (a.encode("utf-8", "surrogatepass") < b.encode("utf-8", "surrogatepass"))
    assert keys.decode_value(ea) == {"S": a}


@given(st.binary(min_size=1), st.binary(min_size=1))
def test_binary_order_and_round_trip(a: bytes, b: bytes) -> None:
    wa = {"B": base64.b64encode(a).decode()}
    ea, eb = keys.encode_value(wa), keys.encode_value({"B": base64.b64encode(b).decode()})
    assert (ea < eb) == (a < b)
    assert keys.decode_value(ea) == wa


def test_bad_values_raise_validation() -> None:
    for bad in [{"S": ""}, {"B": "!!!"}, {"BOOL": True}, {"S": 1}, {}, {"S": "a", "N": "1"}]:
        with pytest.raises(ValidationException):
            keys.encode_value(bad)


key_values = st.one_of(
    st.binary(min_size=1).map(lambda b: {"B": base64.b64encode(b).decode()}),
    st.text(min_size=1).map(lambda s: {"S": s}),
)


@given(st.lists(st.tuples(key_values, dynamo_decimals()), min_size=1, max_size=30))
def test_composite_keys_group_by_partition_and_order_by_sort_key(pairs: list) -> None:
    encoded = [(keys.encode_value(pk), sk) for pk, sk in pairs]
    table_keys = sorted(keys.table_key(pk, enc_n(sk)) for pk, sk in encoded)
    # each partition-key value occupies one contiguous run
    runs = [keys.split_table_key(k)[0] for k in table_keys]
    seen: list[bytes] = []
    for pk in runs:
        if not seen or seen[-1] != pk:
            assert pk not in seen
            seen.append(pk)
    # within a run, sort keys are in numeric order, and every key starts with its partition prefix
    for k in table_keys:
        pk, sk = keys.split_table_key(k)
        assert k.startswith(keys.partition_prefix(pk))
        assert sk is not None
    for pk in seen:
        sks = [
            Decimal(keys.decode_value(keys.split_table_key(k)[1])["N"])
            for k in table_keys
            if keys.split_table_key(k)[0] == pk
        ]
        assert sks == sorted(sks)


def test_partition_prefixes_do_not_collide() -> None:
    a = keys.encode_value({"B": base64.b64encode(b"a").decode()})
    ab = keys.encode_value({"B": base64.b64encode(b"a\x00b").decode()})
    assert not keys.table_key(ab).startswith(keys.partition_prefix(a))
    assert not keys.table_key(a, enc_n(5)).startswith(keys.partition_prefix(ab))


def test_encode_and_decode_key_maps() -> None:
    item_key = {"id": {"S": "user#1"}, "ts": {"N": "10.50"}}
    k = keys.encode_key(item_key, "id", "ts")
    assert keys.decode_key(k, "id", "ts") == {"id": {"S": "user#1"}, "ts": {"N": "10.5"}}
    assert keys.decode_key(keys.encode_key({"id": {"N": "3"}}, "id"), "id") == {"id": {"N": "3"}}
    with pytest.raises(ValidationException, match="does not match the schema"):
        keys.encode_key({"id": {"S": "x"}}, "id", "ts")


def test_prefix_successor_bounds_begins_with() -> None:
    p = keys.encode_value({"S": "ab"})
    succ = keys.prefix_successor(p)
    assert succ is not None
    for s in ["ab", "abc", "ab\U0010ffff"]:
        assert p <= keys.encode_value({"S": s}) < succ
    for s in ["aa", "ac", "b"]:
        e = keys.encode_value({"S": s})
        assert not p <= e < succ
    assert keys.prefix_successor(b"\xff\xff") is None
    assert keys.prefix_successor(b"a\xff") == b"b"


@given(st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1))
def test_plain_int_fast_path_matches_the_general_encoding(n: int) -> None:
    assert keys.encode_plain_int(str(n)) == enc_n(n)


@pytest.mark.parametrize("text", ["01", "+1", "1.0", "1e3", "-0", "1" * 39, " 1", "", "\uff11", "1\n"])
def test_plain_int_fast_path_declines_other_spellings(text: str) -> None:
    assert keys.encode_plain_int(text) is None
