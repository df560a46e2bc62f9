"""``kumo gateway --kubernetes`` takes its admin token from ``KUMO_ADMIN_TOKEN`` (the chart's Secret):
``/metrics`` needs it."""

from __future__ import annotations

import httpx
from k8s_gateway_support import GatewayProcess

from kumo_gateway.kubernetes.serve import admin_token_from_env

TOKEN = "chart-generated-admin-token-0123456789abcdef"


def test_metrics_need_the_admin_token_from_the_environment(gateway: GatewayProcess) -> None:
    gateway.start(env={"KUMO_ADMIN_TOKEN": TOKEN})
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        served = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert served.status_code == 200
        assert "kumo_" in served.text


def test_admin_token_setting() -> None:
    assert admin_token_from_env({"KUMO_ADMIN_TOKEN": f" {TOKEN}\n"}) == TOKEN
    assert admin_token_from_env({"KUMO_ADMIN_TOKEN": "  "}) is None
    assert admin_token_from_env({}) is None
