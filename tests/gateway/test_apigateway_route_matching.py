"""Route matching: priorities, greedy variables, ANY, trailing slashes, decoding."""

from __future__ import annotations

import pytest

from kumo_gateway.apigateway.route_matching import InvalidRoute, RouteSpec, compile_routes, parse_route_path, split_path

# The example set from API Gateway's "Routing API requests" section, plus a few more.
ROUTES = [
    RouteSpec("ANY", "/{proxy+}", "any-proxy"),
    RouteSpec("GET", "/pets/{proxy+}", "pets-proxy"),
    RouteSpec("GET", "/pets/dog/{id}", "dog-id"),
    RouteSpec("GET", "/pets/dog/1", "dog-1"),
    RouteSpec("ANY", "/pets/dog/{id}", "any-dog-id"),
    RouteSpec("GET", "/", "root"),
    RouteSpec("POST", "/items", "items-post"),
    RouteSpec("ANY", "/items", "items-any"),
    RouteSpec("GET", "/files/{proxy+}", "files"),
    RouteSpec("GET", "/users/{user}/orders/{order}", "order"),
]


@pytest.fixture(scope="module")
def table():
    return compile_routes(ROUTES)


@pytest.mark.parametrize(
    ("method", "path", "function", "route_key", "params"),
    [
        ("GET", "/pets/dog/1", "dog-1", "GET /pets/dog/1", {}),
        ("GET", "/pets/dog/2", "dog-id", "GET /pets/dog/{id}", {"id": "2"}),
        ("POST", "/pets/dog/2", "any-dog-id", "ANY /pets/dog/{id}", {"id": "2"}),
        ("POST", "/pets/dog/1", "any-dog-id", "ANY /pets/dog/{id}", {"id": "1"}),
        ("GET", "/pets/cat/1", "pets-proxy", "GET /pets/{proxy+}", {"proxy": "cat/1"}),
        ("POST", "/pets/cat/1", "any-proxy", "ANY /{proxy+}", {"proxy": "pets/cat/1"}),
        ("GET", "/pets", "any-proxy", "ANY /{proxy+}", {"proxy": "pets"}),
        ("GET", "/", "root", "GET /", {}),
        ("POST", "/items", "items-post", "POST /items", {}),
        ("DELETE", "/items", "items-any", "ANY /items", {}),
        ("GET", "/files/a/b/c.txt", "files", "GET /files/{proxy+}", {"proxy": "a/b/c.txt"}),
        ("GET", "/users/u1/orders/o%201", "order", "GET /users/{user}/orders/{order}", {"user": "u1", "order": "o 1"}),
    ],
)
def test_priorities(table, method, path, function, route_key, params) -> None:
    match = table.match(method, path)
    assert match is not None
    assert (match.route.function, match.route_key, match.path_parameters) == (function, route_key, params)


def test_trailing_slash_is_ignored(table) -> None:
    assert table.match("POST", "/items/").route.function == "items-post"
    assert table.match("GET", "/pets/dog/2/").path_parameters == {"id": "2"}


def test_param_segments_are_decoded_and_keep_encoded_slashes() -> None:
    table = compile_routes([RouteSpec("GET", "/items/{id}", "f")])
    match = table.match("GET", "/items/a%2Fb%20c")
    assert match.path_parameters == {"id": "a/b c"}
    assert table.match("GET", "/items/a/b") is None


def test_literal_segments_match_decoded() -> None:
    table = compile_routes([RouteSpec("GET", "/hello world", "f")])
    assert table.match("GET", "/hello%20world").route.function == "f"


def test_greedy_needs_at_least_one_segment() -> None:
    table = compile_routes([RouteSpec("GET", "/files/{proxy+}", "f")])
    assert table.match("GET", "/files") is None
    assert table.match("GET", "/files/") is None
    assert table.match("GET", "/files/x").path_parameters == {"proxy": "x"}


def test_no_match_and_default_route() -> None:
    routes = [RouteSpec("GET", "/a", "a")]
    assert compile_routes(routes).match("GET", "/b") is None
    assert compile_routes(routes).match("POST", "/a") is None
    with_default = compile_routes([*routes, RouteSpec("ANY", "$default", "fallback")])
    match = with_default.match("PUT", "/anything/at/all")
    assert (match.route.function, match.route_key, match.path_parameters) == ("fallback", "$default", {})
    assert with_default.match("GET", "/a").route.function == "a"


def test_method_is_case_insensitive_in_routes() -> None:
    table = compile_routes([RouteSpec("get", "/a", "a")])
    assert table.match("GET", "/a").route_key == "GET /a"


def test_leftmost_literal_wins() -> None:
    table = compile_routes([RouteSpec("GET", "/{x}/b", "param-first"), RouteSpec("GET", "/a/{y}", "literal-first")])
    assert table.match("GET", "/a/b").route.function == "literal-first"


def test_first_declared_wins_among_equals() -> None:
    table = compile_routes([RouteSpec("GET", "/a/{x}", "first"), RouteSpec("GET", "/a/{y}", "second")])
    assert table.match("GET", "/a/1").route.function == "first"


@pytest.mark.parametrize("path", ["items", "/items/{proxy+}/more", "/a{b}", "/a//b", "/{x}/{x}", "/{}"])
def test_invalid_routes(path: str) -> None:
    with pytest.raises(InvalidRoute):
        parse_route_path(path)
    table = compile_routes([RouteSpec("GET", path, "bad"), RouteSpec("GET", "/ok", "ok")])
    assert len(table.errors) == 1
    assert table.match("GET", "/ok").route.function == "ok"


def test_split_path() -> None:
    assert split_path("/") == []
    assert split_path("") == []
    assert split_path("/a/b/") == ["a", "b"]
    assert split_path("/a%2Fb") == ["a/b"]
