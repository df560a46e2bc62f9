"""HS256 authorizer secrets in a cluster: the gateway reads the Kubernetes Secret as its own service
account, which the chart's RBAC (enforced by the emulator) allows."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
from chart_rbac import assert_only_granted_calls, enforce_chart_rbac
from cluster import REPO, KubeApi
from kubernetes import config as kube_config
from kubernetes.client import Configuration

from kumo.kube.client import KubeClient
from kumo_gateway.kubernetes.secrets import KubeSecrets


@pytest.fixture
def kube_crds() -> Path:
    return REPO / "charts" / "kumo" / "crds"


def test_gateway_reads_secret_under_chart_rbac(kube_api: KubeApi) -> None:
    users = enforce_chart_rbac(kube_api)
    kube_api.create(
        "/api/v1/namespaces/default/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "partners-jwt"},
            "data": {"secret": base64.b64encode(b"s3cret-value").decode()},
        },
    )
    configuration = Configuration()
    kube_config.load_kube_config(
        config_file=kube_api.env_as(users["gateway"])["KUBECONFIG"], client_configuration=configuration
    )

    async def read() -> tuple[bytes | None, bytes | None, bytes | None, bytes | None]:
        kube = KubeClient(configuration)
        try:
            secrets = KubeSecrets("default", kube=kube)
            found = await secrets.get("partners-jwt", "secret")
            again = await secrets.get("partners-jwt", "secret")  # cached
            other_key = await secrets.get("partners-jwt", "nope")
            missing = await secrets.get("absent", "secret")
            return found, again, other_key, missing
        finally:
            await kube.aclose()

    found, again, other_key, missing = asyncio.run(read())
    assert (found, again, other_key, missing) == (b"s3cret-value", b"s3cret-value", None, None)
    assert_only_granted_calls(kube_api.emulator.access_control, users["gateway"])
