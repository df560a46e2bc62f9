"""Request text checks shared by the router and the partition server (pure)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from kumo_tablestore.protocol import has_lone_surrogate


def test_lone_surrogates_are_found_and_pairs_are_fine() -> None:
    for raw in (rb'{"S":"\ud800"}', rb'{"S":"x\uDC00"}', rb'{"\udbff":1}'):
        assert has_lone_surrogate(raw, json.loads(raw)), raw
    for raw in (rb'{"S":"\ud83d\ude00"}', rb'{"S":"\u00e9\\ud800"}', b'{"S":"plain"}'):
        assert not has_lone_surrogate(raw, json.loads(raw)), raw


@given(st.text())
def test_any_valid_text_passes(text: str) -> None:
    """Hypothesis text has no lone surrogates: escaped or not, it is never refused."""
    for raw in (json.dumps({"S": text}).encode(), json.dumps({"S": text}, ensure_ascii=False).encode("utf-8")):
        assert not has_lone_surrogate(raw, json.loads(raw))
