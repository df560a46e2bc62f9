"""binaryMediaTypes: the media-range matcher and the body encoding it selects (both payload formats)."""

from __future__ import annotations

import base64

import pytest

from kumo_gateway.apigateway import event_v2
from kumo_gateway.apigateway.binary_media import encode_listed, matches, media_type
from kumo_gateway.apigateway.event_v2 import HttpRequest, RequestContext


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("image/png", "image/png"),
        ("Image/PNG; charset=binary", "image/png"),
        ("  text/plain  ", "text/plain"),
        ("", None),
        (None, None),
        (";x=1", None),
    ],
)
def test_media_type(content_type: str | None, expected: str | None) -> None:
    assert media_type(content_type) == expected


@pytest.mark.parametrize(
    ("content_type", "patterns", "expected"),
    [
        ("image/png", ["image/png"], True),
        ("IMAGE/PNG; q=1", ["image/png"], True),
        ("image/png", ["Image/PNG"], True),
        ("image/jpeg", ["image/png"], False),
        ("image/jpeg", ["image/*"], True),
        ("imagex/jpeg", ["image/*"], False),
        ("application/pdf", ["image/*", "application/pdf"], True),
        ("text/plain", ["*/*"], True),
        (None, ["*/*"], True),
        (None, ["image/*", "application/octet-stream"], False),
        ("image/png", [], False),
    ],
)
def test_matches(content_type: str | None, patterns: list[str], expected: bool) -> None:
    assert matches(content_type, patterns) is expected


def test_encode_listed() -> None:
    assert encode_listed(b"\x00\x01", "image/png", ["image/*"]) == (base64.b64encode(b"\x00\x01").decode(), True)
    assert encode_listed(b"hello", "image/png", ["image/*"]) == ("aGVsbG8=", True)
    assert encode_listed(b"hello", "application/octet-stream", ["image/*"]) == ("hello", False)
    # Not listed but not UTF-8 either: base64 all the same, never a lossy decode.
    assert encode_listed(b"\xff\xfe", "application/octet-stream", ["image/*"]) == ("//4=", True)


def test_payload_2_0_uses_the_list_when_given() -> None:
    ctx = RequestContext("0", "shop", "$default", "$default", "r", 0.0, binary_media_types=("application/json",))
    req = HttpRequest("POST", "/", headers=[("content-type", "application/json")], body=b'{"a": 1}')
    event = event_v2.build_event(req, ctx)
    assert (event["isBase64Encoded"], base64.b64decode(event["body"])) == (True, b'{"a": 1}')
    # The default (empty list) keeps 2.0's text-type rule.
    default = RequestContext("0", "shop", "$default", "$default", "r", 0.0)
    event = event_v2.build_event(req, default)
    assert (event["isBase64Encoded"], event["body"]) == (False, '{"a": 1}')
