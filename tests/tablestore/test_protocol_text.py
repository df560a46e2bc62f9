"""The wire JSON codec refuses text that is not valid Unicode and round-trips everything else (pure)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kumo_tablestore import wire_json


@pytest.mark.parametrize(
    "raw",
    [rb'{"S":"\ud800"}', rb'{"S":"x\uDC00"}', rb'{"\udbff":1}', rb'{"S":"\ud800\u0041"}', b'{"S":"\xed\xa0\x80"}'],
)
def test_unpaired_surrogates_and_invalid_utf8_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        wire_json.loads(raw)


def test_surrogate_pairs_and_non_ascii_are_fine() -> None:
    assert wire_json.loads(rb'{"S":"\ud83d\ude00"}') == {"S": "\U0001f600"}
    assert wire_json.loads('{"S":"\u00e9"}'.encode()) == {"S": "\u00e9"}


def test_nan_and_infinity_are_not_json() -> None:
    for raw in (b'{"N":NaN}', b'{"N":1e400}', b'{"N":Infinity}'):
        with pytest.raises(ValueError):
            wire_json.loads(raw)


@given(st.text())
def test_any_valid_text_round_trips(text: str) -> None:
    """Escaped or not, valid text is never refused, and dumps is the compact UTF-8 form."""
    for raw in (json.dumps({"S": text}).encode(), json.dumps({"S": text}, ensure_ascii=False).encode("utf-8")):
        assert wire_json.loads(raw) == {"S": text}
    expected = json.dumps({"S": text}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert wire_json.dumps({"S": text}) == expected
