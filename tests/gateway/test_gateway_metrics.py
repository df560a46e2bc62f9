"""``GET /metrics``: Prometheus text with requests and latency by Api/stage/route/status, and instances."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from gateway_fakes import InProcessProvider, Stage, api, function, returns
from gateway_server import ThreadedServer
from prometheus_client.parser import text_string_to_metric_families
from signing import make_authenticator

from kumo.aws_signing import SigV4Auth
from kumo.catalog import Catalog
from kumo_gateway.apigateway.route_matching import RouteSpec
from kumo_gateway.app import create_app
from kumo_gateway.auth.authenticator import NO_AUTH
from kumo_gateway.metrics import GatewayMetrics, InstanceCount

TOKEN = "metrics-test-token"


class CountingProvider(InProcessProvider):
    def instance_counts(self) -> list[InstanceCount]:
        return [InstanceCount("items", "$LATEST", 2, 5), InstanceCount("items", "3", 0, 1)]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.fixture
def gateway() -> Iterator[httpx.Client]:
    catalog = Catalog()
    catalog.set_function(function("items"))
    catalog.set_api(api("shop", [RouteSpec("GET", "/items/{id}", "items")], [Stage("prod")]))
    provider = CountingProvider({"items": returns(b'{"statusCode": 201}')})
    server = ThreadedServer(create_app(catalog, provider, auth=make_authenticator(), admin_token=TOKEN))
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            yield http
    finally:
        server.stop()


def test_api_requests_are_counted_by_route_and_status(gateway: httpx.Client) -> None:
    for item in ("a", "b", "c"):
        assert gateway.get(f"/shop/prod/items/{item}").status_code == 201
    assert gateway.get("/shop/prod/nothing").status_code == 404
    assert gateway.get("/unknown-api/prod/x").status_code == 404

    response = gateway.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(response.text)
    route = (("api", "shop"), ("route", "GET /items/{id}"), ("stage", "prod"))
    assert found[("kumo_requests_total", (*route[:2], ("stage", "prod"), ("status", "201"), ("surface", "api")))] == 3
    assert found[("kumo_request_duration_seconds_count", (*route, ("surface", "api")))] == 3
    # A known Api with no matching route counts without a route; an unknown Api makes no series.
    unmatched = (("api", "shop"), ("route", ""), ("stage", "prod"), ("status", "404"), ("surface", "api"))
    assert found[("kumo_requests_total", unmatched)] == 1
    assert not any(dict(labels).get("api") == "unknown-api" for _, labels in found)


def test_instances_and_cold_starts_come_from_the_provider(gateway: httpx.Client) -> None:
    found = samples(gateway.get("/metrics").text)
    latest = (("function", "items"), ("version", "$LATEST"))
    assert found[("kumo_instances", latest)] == 2
    assert found[("kumo_cold_starts_total", latest)] == 5
    assert found[("kumo_instances", (("function", "items"), ("version", "3")))] == 0


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = GatewayMetrics(), GatewayMetrics()
    first.throttled.labels("shop", "prod", "rate").inc()
    assert b'kumo_throttled_total{api="shop",reason="rate",stage="prod"} 1.0' in first.exposition()
    assert b"kumo_throttled_total{" not in second.exposition()


def test_metrics_need_the_admin_token_unless_auth_is_off(gateway: httpx.Client) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        refused = gateway.get("/metrics", headers=headers)
        assert refused.status_code == 401 and "kumo_" not in refused.text
    catalog = Catalog()
    without_token = ThreadedServer(create_app(catalog, CountingProvider({}), auth=make_authenticator()))
    insecure = ThreadedServer(create_app(catalog, CountingProvider({}), auth=NO_AUTH))
    for server in (without_token, insecure):
        server.start()
    try:
        assert httpx.get(f"{without_token.base_url}/metrics", timeout=30).status_code == 401
        assert httpx.get(f"{insecure.base_url}/metrics", timeout=30).status_code == 200
    finally:
        without_token.stop()
        insecure.stop()


def test_refused_credentials_are_counted_by_surface_and_code(gateway: httpx.Client) -> None:
    unsigned = httpx.post(
        str(gateway.base_url.join("/2015-03-31/functions/items/invocations")), content=b"{}", timeout=30
    )
    assert unsigned.status_code == 403
    wrong_key = gateway.post(
        "/2015-03-31/functions/items/invocations", content=b"{}", auth=SigV4Auth("AKIDUNKNOWN0000000000", "x" * 40)
    )
    assert wrong_key.status_code == 403
    found = samples(gateway.get("/metrics").text)
    missing = (("reason", "MissingAuthenticationTokenException"), ("surface", "lambda"))
    unknown = (("reason", "UnrecognizedClientException"), ("surface", "lambda"))
    assert found[("kumo_auth_failures_total", missing)] == 1
    assert found[("kumo_auth_failures_total", unknown)] == 1
