"""The one reading of an Api request's event parts from the ASGI scope (endpoint and authorizer gate)."""

from __future__ import annotations

from types import SimpleNamespace

from kumo_gateway.apigateway import request_parts

SCOPE = {
    "method": "POST",
    "headers": [(b"X-Token", b"a"), (b"x-token", b"b")],
    "query_string": b"q=%20x&q=y",
    "client": ("10.0.0.7", 5000),
    "http_version": "1.1",
}


def test_a_named_stage_keeps_its_prefix_and_the_default_stage_has_none() -> None:
    named = request_parts.http_request(SCOPE, "prod", "/pets/%7Bid%7D", body=b"{}")
    assert (named.raw_path, named.raw_query, named.body) == ("/prod/pets/%7Bid%7D", "q=%20x&q=y", b"{}")
    assert named.headers == [("X-Token", "a"), ("x-token", "b")]  # as received: case and repeats kept
    assert (named.source_ip, named.protocol, named.method) == ("10.0.0.7", "HTTP/1.1", "POST")
    root = request_parts.http_request(SCOPE, "$default", "")
    assert root.raw_path == "/" and root.body == b""


def test_the_context_carries_the_match_and_the_authorizer() -> None:
    match = SimpleNamespace(route_key="GET /pets/{id}", path_parameters={"id": "7"})
    context = request_parts.request_context(
        "123456789012", "pets", "prod", match, "rid", {"v": "1"}, authorizer={"lambda": {"user": "u"}}
    )
    assert (context.route_key, context.path_parameters, context.stage_variables) == (
        "GET /pets/{id}",
        {"id": "7"},
        {"v": "1"},
    )
    assert context.authorizer == {"lambda": {"user": "u"}} and context.time_epoch_s > 0
