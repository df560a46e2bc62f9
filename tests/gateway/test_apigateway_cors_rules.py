"""CORS rules (pure): preflight answers, origin matching, headers added to responses, Vary."""

from __future__ import annotations

import pytest

from kumo.models.cors import Cors
from kumo_gateway.apigateway import cors
from kumo_gateway.apigateway.cors import CorsRules
from kumo_gateway.apigateway.gateway_responses import HttpResponse

SITE = "https://app.example.com"


def rules(**config: object) -> CorsRules:
    """Rules built from the model, as the gateway builds them (camelCase keys, model validation)."""
    built = cors.rules_from(Cors.model_validate(config))
    assert built is not None
    return built


def preflight_headers(origin: str = SITE, method: str = "PUT", **extra: str) -> dict[str, str]:
    return {"origin": origin, "access-control-request-method": method, **extra}


def as_dict(response: HttpResponse) -> dict[str, str]:
    assert len({name for name, _ in response.headers}) == len(response.headers), response.headers
    return dict(response.headers)


FULL = {
    "allowOrigins": [SITE],
    "allowMethods": ["GET", "put"],
    "allowHeaders": ["Content-Type", "x-api-key"],
    "exposeHeaders": ["x-request-id"],
    "maxAge": 300,
}


def test_rules_from_model_normalise() -> None:
    built = rules(allowOrigins=["HTTPS://App.Example.com"], allowMethods=["get"], allowHeaders=["X-Api-Key"])
    assert built == CorsRules(
        allow_origins=("https://app.example.com",), allow_methods=("GET",), allow_headers=("x-api-key",)
    )
    assert cors.rules_from(None) is None


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        ("OPTIONS", {"origin": SITE, "access-control-request-method": "PUT"}, True),
        ("OPTIONS", {"origin": SITE}, False),
        ("OPTIONS", {"access-control-request-method": "PUT"}, False),
        ("OPTIONS", {"origin": "", "access-control-request-method": "PUT"}, False),
        ("GET", {"origin": SITE, "access-control-request-method": "PUT"}, False),
    ],
)
def test_is_preflight(method: str, headers: dict[str, str], expected: bool) -> None:
    assert cors.is_preflight(method, headers) is expected


def test_preflight_allowed_origin() -> None:
    response = cors.preflight_response(
        rules(**FULL), preflight_headers(**{"access-control-request-headers": "x-api-key"})
    )
    assert (response.status, response.body) == (204, b"")
    assert as_dict(response) == {
        "access-control-allow-origin": SITE,
        "access-control-allow-methods": "GET,PUT",
        "access-control-allow-headers": "content-type,x-api-key",
        "access-control-max-age": "300",
        "vary": "Origin",
    }


def test_preflight_disallowed_origin_gets_no_cors_headers() -> None:
    response = cors.preflight_response(rules(**FULL), preflight_headers(origin="https://evil.example"))
    assert (response.status, response.body) == (204, b"")
    assert as_dict(response) == {"vary": "Origin"}


def test_preflight_lists_configured_methods_and_headers_whatever_is_asked() -> None:
    """The browser compares its method and headers with the lists; the answer does not depend on them."""
    asked = preflight_headers(method="DELETE", **{"access-control-request-headers": "x-other"})
    headers = as_dict(cors.preflight_response(rules(**FULL), asked))
    assert headers["access-control-allow-methods"] == "GET,PUT"
    assert headers["access-control-allow-headers"] == "content-type,x-api-key"


def test_preflight_minimal_configuration() -> None:
    """Only allowOrigins: no methods/headers/max-age headers (browsers then allow the simple ones)."""
    headers = as_dict(cors.preflight_response(rules(allowOrigins=[SITE]), preflight_headers()))
    assert headers == {"access-control-allow-origin": SITE, "vary": "Origin"}


@pytest.mark.parametrize("max_age", [0, -1, 86400])
def test_preflight_max_age_edges(max_age: int) -> None:
    headers = as_dict(cors.preflight_response(rules(allowOrigins=[SITE], maxAge=max_age), preflight_headers()))
    assert headers["access-control-max-age"] == str(max_age)


def test_any_origin_answers_star_without_vary() -> None:
    built = rules(allowOrigins=["*"], allowMethods=["*"], allowHeaders=["*"])
    headers = as_dict(cors.preflight_response(built, preflight_headers(origin="http://localhost:3000")))
    assert headers == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "*",
        "access-control-allow-headers": "*",
    }
    applied = cors.apply(
        built, "http://localhost:3000", HttpResponse(200, b"{}", [("content-type", "application/json")])
    )
    assert as_dict(applied) == {"content-type": "application/json", "access-control-allow-origin": "*"}


@pytest.mark.parametrize(
    ("allowed", "origin", "expected"),
    [
        (["https://*"], "https://anything.example", True),
        (["https://*"], "http://anything.example", False),
        (["https://*"], "https://", False),
        (["http://*"], "http://localhost:8080", True),
        (["http://*"], "https://localhost:8080", False),
        ([SITE], "HTTPS://APP.EXAMPLE.COM", True),
        ([SITE], "https://app.example.com:8443", False),
        ([SITE], "https://other.example.com", False),
        ([SITE], "https://evil.app.example.com", False),
        (["null"], "null", True),
        ([], SITE, False),
    ],
)
def test_origin_matching(allowed: list[str], origin: str, expected: bool) -> None:
    assert cors.origin_allowed(rules(allowOrigins=allowed), origin) is expected


def test_scheme_wildcard_echoes_the_origin() -> None:
    built = rules(allowOrigins=["https://*"])
    assert cors.allow_origin_value(built, "https://a.example") == "https://a.example"
    assert built.varies_by_origin
    assert cors.allow_origin_value(built, None) is None
    assert cors.allow_origin_value(built, "") is None


def test_credentials_echo_origin_and_wildcard_lists() -> None:
    """With credentials browsers read '*' literally: the gateway answers what was asked."""
    built = rules(allowOrigins=["https://*"], allowCredentials=True, allowMethods=["*"], allowHeaders=["*"], maxAge=60)
    asked = preflight_headers(method="PATCH", **{"access-control-request-headers": "authorization, x-trace"})
    assert as_dict(cors.preflight_response(built, asked)) == {
        "access-control-allow-origin": SITE,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "PATCH",
        "access-control-allow-headers": "authorization, x-trace",
        "access-control-max-age": "60",
        "vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    }


def test_credentials_with_any_origin_refused_by_the_model() -> None:
    with pytest.raises(ValueError, match="allowCredentials cannot be true when allowOrigins contains"):
        Cors.model_validate({"allowOrigins": ["https://a.example", "*"], "allowCredentials": True})


def test_apply_replaces_the_functions_cors_headers() -> None:
    response = HttpResponse(
        201,
        b"created",
        [
            ("content-type", "text/plain"),
            ("Access-Control-Allow-Origin", "*"),
            ("access-control-allow-methods", "DELETE"),
            ("x-request-id", "r1"),
        ],
    )
    applied = cors.apply(rules(**FULL), SITE, response)
    assert (applied.status, applied.body) == (201, b"created")
    assert applied.headers == [
        ("content-type", "text/plain"),
        ("x-request-id", "r1"),
        ("access-control-allow-origin", SITE),
        ("access-control-expose-headers", "x-request-id"),
        ("vary", "Origin"),
    ]
    assert response.headers[1] == ("Access-Control-Allow-Origin", "*"), "the original is left alone"


@pytest.mark.parametrize("origin", [None, "https://evil.example"])
def test_apply_without_allowed_origin_strips_and_adds_only_vary(origin: str | None) -> None:
    response = HttpResponse(200, b"", [("access-control-allow-origin", "*"), ("x-a", "1")])
    assert cors.apply(rules(**FULL), origin, response).headers == [("x-a", "1"), ("vary", "Origin")]


def test_apply_credentials_and_expose_star() -> None:
    built = rules(allowOrigins=[SITE], allowCredentials=True, exposeHeaders=["x-fixed", "*"])
    response = HttpResponse(
        200, b"{}", [("content-type", "application/json"), ("x-etag", "1"), ("set-cookie", "a=1"), ("x-fixed", "2")]
    )
    headers = as_dict(cors.apply(built, SITE, response))
    assert headers["access-control-allow-credentials"] == "true"
    assert headers["access-control-expose-headers"] == "x-fixed,content-type,x-etag"
    plain = rules(allowOrigins=[SITE], exposeHeaders=["*"])
    assert as_dict(cors.apply(plain, SITE, response))["access-control-expose-headers"] == "*"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ([], [("vary", "Origin")]),
        ([("vary", "Accept-Encoding")], [("vary", "Accept-Encoding, Origin")]),
        ([("Vary", "origin")], [("Vary", "origin")]),
        ([("vary", "*")], [("vary", "*")]),
        ([("vary", "")], [("vary", "Origin")]),
    ],
)
def test_add_vary_merges(before: list[tuple[str, str]], after: list[tuple[str, str]]) -> None:
    assert cors.add_vary(before, ["Origin"]) == after
    assert cors.add_vary(before, []) == before
