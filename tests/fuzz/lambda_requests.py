"""Lambda REST-JSON requests from the botocore model: an operation's URI, query string, headers and body,
each drawn by :mod:`model_requests` (plausible but wrong). Pure."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st
from model_requests import KNOWN_FUNCTIONS, WRONGNESS, encode, operation, raw_mutations, shape_values

#: The Lambda operations Kumo serves (the rest answer UnknownOperationException: fuzzed too, fewer times).
SERVED = (
    "Invoke",
    "ListFunctions",
    "GetFunction",
    "GetFunctionConfiguration",
    "PublishVersion",
    "ListVersionsByFunction",
    "DeleteFunction",
    "CreateAlias",
    "GetAlias",
    "UpdateAlias",
    "DeleteAlias",
    "ListAliases",
)
OTHERS = ("CreateFunction", "UpdateFunctionCode", "PutFunctionConcurrency", "AddPermission", "TagResource")

_path_text = st.one_of(
    st.sampled_from([*KNOWN_FUNCTIONS, "fuzzfn:$LATEST", "fuzzfn:1", "nope", "%00", "..", "a" * 300, "%ff", "%2F"]),
    st.text(min_size=1, max_size=12).map(lambda t: quote(t, safe="")),
)
_header_text = st.one_of(
    st.sampled_from(["RequestResponse", "Event", "DryRun", "Tail", "None", "", "e30=", "!!!", "x" * 5000]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
)


@st.composite
def lambda_request(draw: st.DrawFn, name: str) -> tuple[str, str, dict[str, str], dict[str, str], bytes]:
    """``(method, path, query, headers, body)`` for the operation ``name``."""
    op = operation("lambda", name)
    shape = op.input_shape
    uri = op.http["requestUri"]
    path, _, fixed_query = uri.partition("?")
    path = re.sub(r"\{(\w+)\+?\}", lambda m: draw(_path_text), path)
    query: dict[str, str] = dict(
        part.split("=", 1) if "=" in part else (part, "") for part in fixed_query.split("&") if part
    )
    headers: dict[str, str] = {}
    for member, sub in shape.members.items() if shape is not None else ():
        location = sub.serialization.get("location")
        wire_name = sub.serialization.get("name", member)
        if location == "querystring" and draw(st.booleans()):
            value = draw(st.one_of(_header_text, st.integers(-5, 10**20).map(str)))
            query[wire_name] = value
        elif location == "header" and draw(st.booleans()):
            headers[wire_name] = draw(_header_text)
    body = b""
    if name == "Invoke":
        payload: Any = draw(st.sampled_from(WRONGNESS).flatmap(lambda w: shape_values(_any_shape(), "", wrongness=w)))
        body = encode(payload) if draw(st.integers(0, 5)) else b""
    elif shape is not None and any(not s.serialization.get("location") for s in shape.members.values()):
        body = encode(draw(st.sampled_from(WRONGNESS).flatmap(lambda w: shape_values(shape, name, wrongness=w))))
    body = draw(raw_mutations(body))
    if draw(st.integers(0, 3)) == 0:
        headers["Content-Type"] = draw(
            st.sampled_from(["application/json", "text/plain", "", "application/x-amz-json-1.1"])
        )
    return op.http["method"], path, query, headers, body


def _any_shape() -> Any:
    """An Invoke payload is any JSON: drawn as a structure of the CreateAlias input (plausible nesting)."""
    return operation("lambda", "CreateAlias").input_shape
