"""Hypothesis strategies for structurally plausible but wrong AWS requests, built from the botocore service
models that ship with boto3.

For an operation's input shape :func:`shape_values` draws a JSON value of the right shape almost everywhere
(structures with their members, lists, maps, enums, typed DynamoDB attribute values) and, at a random few
places, something wrong: a value of another JSON type, deep nesting, a huge number, an empty or missing
member, an unknown member. :func:`raw_mutations` then works on the encoded bytes: invalid UTF-8, duplicate
keys, truncation, byte flips. Pure: no I/O.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape
from hypothesis import strategies as st

#: Names the fuzzers aim at, so that some requests get past "not found" into deeper validation.
KNOWN_TABLES = ("fuzz-items", "fuzz-events")
KNOWN_FUNCTIONS = ("fuzzfn",)
KEY_NAMES = ("id", "pk", "sk", "n", "s")
#: Deeper than any parser's recursion limit.
DEEP = 100_000


@cache
def service_model(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


def operation(service: str, name: str) -> OperationModel:
    return service_model(service).operation_model(name)


# ---- wrong JSON ---------------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([10**400, -(10**400), 0, -1, 2**63, 2**64 + 1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["", "S", "N", "1e999999", "-0", "NaN", "null", "\u0000", "\ud7ff\uffff"]),
)

#: Any JSON value, small.
any_json: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8,
)


class Deep:
    """A marker for JSON nested ``depth`` levels deep (encoded by :func:`encode` without recursion)."""

    def __init__(self, depth: int, opener: str) -> None:
        self.depth, self.opener = depth, opener

    def __repr__(self) -> str:
        return f"Deep({self.depth}, {self.opener!r})"


deep_json = st.builds(Deep, st.sampled_from([200, 1_000, DEEP]), st.sampled_from(["[", '{"a":', '{"M":{"a":']))

#: What goes where a value of some shape belongs, when the fuzzer decides to be wrong there.
wrong_json = st.one_of(any_json, deep_json, st.just({}), st.just([]), st.just(None))


def _wrong_for(shape: Shape) -> st.SearchStrategy[Any]:
    """A value of another JSON type than ``shape`` wants (plus the generic wrong values)."""
    others: dict[str, st.SearchStrategy[Any]] = {
        "structure": st.one_of(st.text(max_size=5), st.lists(any_json, max_size=2), st.integers(), st.booleans()),
        "map": st.one_of(st.text(max_size=5), st.lists(any_json, max_size=2), st.integers()),
        "list": st.one_of(st.text(max_size=5), st.dictionaries(st.text(max_size=4), any_json, max_size=2)),
        "string": st.one_of(st.integers(), st.booleans(), st.lists(st.text(max_size=3), max_size=2), st.just({})),
        "integer": st.one_of(st.text(max_size=5), st.floats(allow_nan=False), st.just(10**400), st.just([])),
        "long": st.one_of(st.text(max_size=5), st.floats(allow_nan=False), st.just(10**400), st.just({})),
        "boolean": st.one_of(st.text(max_size=5), st.integers(), st.just([])),
        "blob": st.one_of(st.integers(), st.just("!!not base64!!"), st.just({})),
    }
    return st.one_of(others.get(shape.type_name, any_json), wrong_json)


# ---- plausible values ----------------------------------------------------------------------------


def _string(shape: Shape, name: str) -> st.SearchStrategy[Any]:
    if shape.enum:
        return st.one_of(st.sampled_from(list(shape.enum)), st.text(max_size=8))
    lowered = name.lower()
    if "table" in lowered:
        return st.sampled_from([*KNOWN_TABLES, "no_such_table", "x", "bad name!", "a" * 300])
    if "function" in lowered:
        return st.sampled_from([*KNOWN_FUNCTIONS, "nope", "a" * 200, "arn:aws:lambda:us-east-1:1:function:fuzzfn"])
    if "expression" in lowered:
        return st.one_of(
            st.sampled_from(
                ["#k = :v", "id = :v", "attribute_exists(id)", "SET #a = :v", "REMOVE x", "pk = :p AND sk > :s", "("]
            ),
            st.text(max_size=20),
        )
    if "attributenames" in lowered or "attributename" in lowered:
        return st.sampled_from(KEY_NAMES)
    return st.one_of(st.sampled_from(KEY_NAMES), st.text(max_size=10))


def _scalar(shape: Shape, name: str) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    if kind == "string":
        return _string(shape, name)
    if kind in ("integer", "long"):
        return st.integers(min_value=-5, max_value=2000)
    if kind in ("float", "double"):
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "blob":
        return st.binary(max_size=8).map(lambda b: base64.b64encode(b).decode())
    if kind == "timestamp":
        return st.integers(min_value=0, max_value=2**34)
    return any_json


def _attribute_value(depth: int, wrongness: int) -> st.SearchStrategy[Any]:
    """A DynamoDB typed value ``{"S": ...}`` etc., sometimes with the wrong type inside."""
    numbers = st.sampled_from(["1", "-1.5", "1e10", "0", "abc", "", "1" * 50, "1e200"])
    simple = st.one_of(
        st.builds(lambda s: {"S": s}, st.text(max_size=8)),
        st.builds(lambda n: {"N": n}, numbers),
        st.builds(lambda b: {"B": base64.b64encode(b).decode()}, st.binary(max_size=6)),
        st.builds(lambda v: {"BOOL": v}, st.booleans()),
        st.just({"NULL": True}),
        st.builds(lambda v: {"SS": v}, st.lists(st.text(max_size=4), max_size=3)),
        st.builds(lambda v: {"NS": v}, st.lists(numbers, max_size=3)),
        st.just({"BS": ["AQ==", "Ag=="]}),
        st.just({"S": "a", "N": "1"}),  # two types
        st.builds(lambda k, v: {k: v}, st.sampled_from(["S", "N", "B", "M", "L", "SS", "BOOL", "NULL", "X"]), any_json),
    )
    if depth <= 0:
        return simple
    inner = _attribute_value(depth - 1, wrongness)
    return st.one_of(
        simple,
        st.builds(lambda m: {"M": m}, st.dictionaries(st.sampled_from(KEY_NAMES), inner, max_size=2)),
        st.builds(lambda items: {"L": items}, st.lists(inner, max_size=2)),
    )


def shape_values(shape: Shape, name: str = "", depth: int = 0, wrongness: int = 12) -> st.SearchStrategy[Any]:
    """Values for ``shape``: of its kind except, about once in ``wrongness`` nodes, something wrong."""
    right = _right(shape, name, depth, wrongness)
    if wrongness <= 0:
        return right
    return st.integers(0, wrongness - 1).flatmap(lambda roll: _wrong_for(shape) if roll == 0 else right)


def _right(shape: Shape, name: str, depth: int, wrongness: int) -> st.SearchStrategy[Any]:
    if shape.name == "AttributeValue":
        return _attribute_value(1, wrongness)
    if depth > 5:
        return st.just({}) if shape.type_name in ("structure", "map") else _scalar(shape, name)
    kind = shape.type_name
    if kind == "structure":
        members = shape.members
        required = set(shape.required_members)
        parts = {
            member: shape_values(sub, member, depth + 1, wrongness)
            for member, sub in members.items()
            if not sub.serialization.get("location")
        }
        optional = [m for m in parts if m not in required]
        return st.builds(
            _structure,
            st.fixed_dictionaries({m: parts[m] for m in parts if m in required}),
            st.lists(st.sampled_from(optional), max_size=4, unique=True) if optional else st.just([]),
            st.fixed_dictionaries({m: parts[m] for m in optional}),
            st.dictionaries(st.sampled_from(["Unknown", "__type", "tablename", ""]), any_json, max_size=1),
            st.lists(st.sampled_from(sorted(required)), max_size=1, unique=True) if required else st.just([]),
        )
    if kind == "list":
        member = shape_values(shape.member, name, depth + 1, wrongness)
        return st.lists(member, max_size=3)
    if kind == "map":
        if "table" in shape.name.lower() or name == "RequestItems":
            keys = st.sampled_from([*KNOWN_TABLES, *KEY_NAMES, ""])
        else:
            keys = st.one_of(st.sampled_from(KEY_NAMES), st.text(max_size=6))
        return st.dictionaries(keys, shape_values(shape.value, name, depth + 1, wrongness), max_size=3)
    return _scalar(shape, name)


def _structure(
    required: dict[str, Any], chosen: list[str], optional: dict[str, Any], unknown: dict[str, Any], drop: list[str]
) -> dict[str, Any]:
    out = {**required, **{m: optional[m] for m in chosen}, **unknown}
    for member in drop:  # a missing required member
        out.pop(member, None)
    return out


#: How rarely a node is wrong: 0 = never (plausible requests that reach deep validation), 3 = often.
WRONGNESS = (0, 3, 10, 40)


def json_body(service: str, name: str, wrongness: int = 12) -> st.SearchStrategy[Any]:
    """A request body value for ``service``'s operation ``name`` (body members only)."""
    values = shape_values(operation(service, name).input_shape, name, wrongness=wrongness)
    if name == "DeleteTable":  # keep the fuzzed tables for the next examples
        return values.map(lambda v: {**v, "TableName": "fuzz-doomed"} if _names_known_table(v) else v)
    return values


def _names_known_table(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("TableName"), str) and value["TableName"] in KNOWN_TABLES


def fuzzed_body(service: str, name: str) -> st.SearchStrategy[bytes]:
    """Encoded request bodies for an operation, at a drawn wrongness, with raw byte mutations."""
    return (
        st.sampled_from(WRONGNESS)
        .flatmap(lambda wrongness: json_body(service, name, wrongness))
        .map(encode)
        .flatmap(raw_mutations)
    )


# ---- encoding and raw mutations ------------------------------------------------------------------


def encode(value: Any) -> bytes:
    """JSON bytes for ``value`` (:class:`Deep` markers expanded without recursion)."""
    markers: list[Deep] = []

    def default(obj: Any) -> Any:
        if isinstance(obj, Deep):
            markers.append(obj)
            return f"\x00deep{len(markers) - 1}\x00"
        raise TypeError(type(obj))

    text = json.dumps(value, default=default)
    for index, deep in enumerate(markers):
        closer = "]" if deep.opener == "[" else "}" * deep.opener.count("{")
        nested = deep.opener * deep.depth + "1" + closer * deep.depth
        text = text.replace(json.dumps(f"\x00deep{index}\x00"), nested)
    return text.encode("utf-8", "surrogatepass")


_MUTATIONS = ("none", "utf8", "dupkey", "truncate", "flip", "prefix", "wrap")


@st.composite
def raw_mutations(draw: st.DrawFn, body: bytes) -> bytes:
    """``body`` as sent, or with one byte-level mutation."""
    kind = draw(st.sampled_from(_MUTATIONS))
    if kind == "none" or not body:
        return body
    at = draw(st.integers(0, len(body)))
    if kind == "utf8":
        return body[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"])) + body[at:]
    if kind == "dupkey" and body.startswith(b"{") and len(body) > 2:
        key = draw(st.sampled_from([b"TableName", b"Key", b"Item", b"RequestItems", b"Name", b"FunctionVersion"]))
        return b'{"' + key + b'":' + draw(st.sampled_from([b"1", b"null", b'"fuzz-items"', b"{}"])) + b"," + body[1:]
    if kind == "truncate":
        return body[:at]
    if kind == "flip" and at < len(body):
        return body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1 :]
    if kind == "prefix":
        return draw(st.sampled_from([b"\xef\xbb\xbf", b" ", b"[", b"null", b"\x00"])) + body
    return b"[" + body + b"]"
