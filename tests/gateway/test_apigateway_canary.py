"""Stage variables in route targets, canaries and the admin API over real HTTP (real Api models)."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from gateway_fakes import InProcessProvider, function
from gateway_server import ThreadedServer
from signing import make_authenticator

from kumo.catalog import Catalog
from kumo.models import Api
from kumo.runtime.invocation import Invocation, InvocationResult
from kumo_gateway.app import create_app

ADMIN_TOKEN = "admin-token-for-tests"

ROUTES = [
    {"method": "GET", "path": "/orders", "function": "${stageVariables.fn}:${stageVariables.alias}"},
    {"method": "GET", "path": "/legacy", "function": "orders", "qualifier": "${stageVariables.alias}"},
]
STAGES = [
    {"name": "dev", "variables": {"fn": "orders", "alias": "$LATEST"}},
    {
        "name": "prod",
        "variables": {"fn": "orders", "alias": "$LATEST", "table": "t-prod"},
        "canary": {"percent": 10, "variables": {"fn": "orders-beta"}},
    },
    {"name": "aliased", "variables": {"fn": "orders", "alias": "live"}},
    {"name": "gone", "variables": {"fn": "ghost", "alias": "$LATEST"}},
    {"name": "bare"},
    {"name": "risky", "variables": {"fn": "orders", "alias": "$LATEST"}, "canary": {"percent": 100}},
]


def api_model(name: str, stages: list[dict[str, Any]], routes: list[dict[str, Any]] = ROUTES) -> Api:
    return Api.model_validate(
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Api",
            "metadata": {"name": name},
            "spec": {"routes": routes, "stages": stages},
        }
    )


def answering(name: str):
    def handler(invocation: Invocation) -> InvocationResult:
        event = json.loads(invocation.payload)
        body = {"served_by": name, "arn": invocation.invoked_function_arn, "stageVariables": event["stageVariables"]}
        return InvocationResult(json.dumps(body).encode())

    return handler


@dataclass
class Gateway:
    catalog: Catalog
    http: httpx.Client


@pytest.fixture(scope="module")
def gw() -> Iterator[Gateway]:
    catalog = Catalog()
    for name in ("orders", "orders-beta"):
        catalog.set_function(function(name))
    provider = InProcessProvider({"orders": answering("orders"), "orders-beta": answering("orders-beta")})
    catalog.set_api(api_model("shop", STAGES))
    server = ThreadedServer(
        create_app(
            catalog, provider, admin=True, admin_token=ADMIN_TOKEN, rng=random.Random(42), auth=make_authenticator()
        )
    )
    server.start()
    try:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        with httpx.Client(base_url=server.base_url, timeout=30, headers=headers) as http:
            yield Gateway(catalog, http)
    finally:
        server.stop()


def test_stage_variables_choose_the_target(gw: Gateway) -> None:
    response = gw.http.get("/shop/dev/orders")
    assert response.status_code == 200
    assert "x-kumo-canary" not in response.headers  # dev has no canary
    body = response.json()
    assert body["served_by"] == "orders"
    assert body["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:orders:$LATEST"
    assert body["stageVariables"] == {"fn": "orders", "alias": "$LATEST"}
    legacy = gw.http.get("/shop/dev/legacy").json()
    assert (legacy["served_by"], legacy["arn"].rsplit(":", 1)[1]) == ("orders", "$LATEST")


@pytest.mark.parametrize(
    ("stage", "path", "logged"),
    [
        ("aliased", "/orders", "Api shop stage aliased route GET /orders: function orders:live not found"),
        ("aliased", "/legacy", "function orders:live not found"),
        ("gone", "/orders", "Api shop stage gone route GET /orders: function ghost:$LATEST not found"),
        ("bare", "/orders", "stage variable 'fn' is not defined"),
        ("bare", "/legacy", "target orders:${stageVariables.alias}: stage variable 'alias' is not defined"),
    ],
)
def test_missing_target_is_500_and_logged(
    gw: Gateway, caplog: pytest.LogCaptureFixture, stage: str, path: str, logged: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="kumo.gateway"):
        response = gw.http.get(f"/shop/{stage}{path}")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert response.headers["apigw-requestid"]
    assert any(logged in record.getMessage() for record in caplog.records), [r.getMessage() for r in caplog.records]


def test_canary_share_and_variables(gw: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    # The alias-weights bar: >= 2,000 requests at 10 % land within 3 percentage points (seeded draws).
    sides = {"true": 0, "false": 0}
    with caplog.at_level(logging.INFO, logger="kumo.gateway.access"):
        for _ in range(2000):
            response = gw.http.get("/shop/prod/orders")
            assert response.status_code == 200
            side = response.headers["x-kumo-canary"]
            sides[side] += 1
            body = response.json()
            if side == "true":
                assert body["served_by"] == "orders-beta"
                assert body["stageVariables"] == {"fn": "orders-beta", "alias": "$LATEST", "table": "t-prod"}
            else:
                assert body["served_by"] == "orders"
                assert body["stageVariables"] == {"fn": "orders", "alias": "$LATEST", "table": "t-prod"}
    share = sides["true"] / 2000
    assert abs(share - 0.10) <= 0.03, sides
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "kumo.gateway.access"]
    assert len(lines) == 2000
    assert sum(line["canary"] is True for line in lines) == sides["true"]
    assert all((line["path"], line["status"], line["stage"]) == ("/shop/prod/orders", 200, "prod") for line in lines)


def test_canary_header_on_every_response_of_the_stage(gw: Gateway) -> None:
    # a 404 inside a stage with a canary still says which side it was
    response = gw.http.get("/shop/risky/unrouted")
    assert (response.status_code, response.headers["x-kumo-canary"]) == (404, "true")
    assert response.json() == {"message": "Not Found"}
    # no such stage: no side, no header
    assert "x-kumo-canary" not in gw.http.get("/shop/nostage/orders").headers


def test_admin_reads_a_stage(gw: Gateway) -> None:
    response = gw.http.get("/_kumo/apis/shop/stages/prod")
    assert response.status_code == 200
    assert response.json()["stage"]["canary"] == {"percent": 10.0, "variables": {"fn": "orders-beta"}}


@pytest.mark.parametrize(
    ("method", "path", "status", "error", "message"),
    [
        ("POST", "/_kumo/apis/nope/stages/prod/promote", 404, "NotFound", "Api 'nope' not found"),
        ("POST", "/_kumo/apis/shop/stages/nope/promote", 404, "NotFound", "Api 'shop' has no stage 'nope'"),
        ("POST", "/_kumo/apis/shop/stages/dev/promote", 409, "Conflict", "stage 'dev' has no canary to promote"),
        ("GET", "/_kumo/apis/shop/stages/prod/promote", 405, "MethodNotAllowed", "use POST"),
        ("POST", "/_kumo/apis/shop/stages/prod", 405, "MethodNotAllowed", "use GET"),
        ("GET", "/_kumo/apis/shop/stages/nope", 404, "NotFound", "Api 'shop' has no stage 'nope'"),
        ("GET", "/_kumo/apis/shop", 404, "NotFound", "no admin operation at /_kumo/apis/shop"),
        ("POST", "/_kumo/apis/shop/stages/prod/demote", 404, "NotFound", "no admin operation"),
        ("GET", "/_kumo", 404, "NotFound", "no admin operation"),
    ],
)
def test_admin_errors(gw: Gateway, method: str, path: str, status: int, error: str, message: str) -> None:
    response = gw.http.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == error and message in body["message"], body


def test_promotion_moves_every_request_to_the_canary_variables(gw: Gateway) -> None:
    gw.catalog.set_api(api_model("promo", STAGES))
    try:
        before = gw.catalog.api("promo")
        response = gw.http.post("/_kumo/apis/promo/stages/prod/promote")
        assert response.status_code == 200
        stage = response.json()["stage"]
        assert stage["variables"] == {"fn": "orders-beta", "alias": "$LATEST", "table": "t-prod"}
        assert stage["canary"] == {"percent": 0.0, "variables": {"fn": "orders-beta"}}
        after = gw.catalog.api("promo")
        assert after is not before and after.spec.stages[1].variables["fn"] == "orders-beta"
        for _ in range(200):
            served = gw.http.get("/promo/prod/orders")
            assert served.headers["x-kumo-canary"] == "false"  # the canary stays, at 0 %
            assert served.json()["served_by"] == "orders-beta"
        # other stages are untouched; promoting again is harmless
        assert gw.http.get("/promo/dev/orders").json()["served_by"] == "orders"
        assert gw.http.post("/_kumo/apis/promo/stages/prod/promote").json()["stage"] == stage
    finally:
        gw.catalog.remove_api("promo")


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {ADMIN_TOKEN}", "Bearer"])
def test_the_admin_api_refuses_without_the_token_and_changes_nothing(gw: Gateway, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    before = gw.catalog.api("shop")
    response = httpx.post(f"{gw.http.base_url}/_kumo/apis/shop/stages/prod/promote", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert gw.catalog.api("shop") is before
    assert httpx.get(f"{gw.http.base_url}/_kumo/credentials", headers=headers).status_code == 401


def test_no_admin_api_unless_asked(run_server) -> None:
    catalog = Catalog()
    catalog.set_api(api_model("shop", STAGES))
    server = run_server(create_app(catalog, InProcessProvider({}), auth=make_authenticator()))
    response = httpx.post(f"{server.base_url}/_kumo/apis/shop/stages/prod/promote")
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}  # just an Api path that names no Api
    assert catalog.api("shop").spec.stages[1].canary.percent == 10
