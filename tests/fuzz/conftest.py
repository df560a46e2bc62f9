"""One ``kumo up`` (real gateway, partition processes, runtime hosts) that every fuzzer aims at, and a
signed raw-request helper: fuzz requests carry a valid SigV4 signature so they reach validation."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))  # kumo_up
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kumo_up import KumoUp, function_manifest

ECHO = "def handler(event, context):\n    return {'ok': True, 'type': type(event).__name__}\n"
ROUTE = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"


def table(name: str, pk: tuple[str, str], sk: tuple[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"partitionKey": {"name": pk[0], "type": pk[1]}, **spec}
    if sk is not None:
        body["sortKey"] = {"name": sk[0], "type": sk[1]}
    return {"apiVersion": "kumo.dev/v1alpha1", "kind": "Table", "metadata": {"name": name}, "spec": body}


def manifests() -> list[dict[str, Any]]:
    return [
        function_manifest("fuzzfn", ECHO),
        function_manifest("fuzzroute", ROUTE),
        table("fuzz-items", ("id", "S"), partitions=2),
        table("fuzz-events", ("pk", "S"), ("sk", "N"), partitions=2, ttlAttribute="expires"),
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Api",
            "metadata": {"name": "fuzzapi"},
            "spec": {
                "routes": [
                    {"method": "ANY", "path": "/items/{id}", "function": "fuzzroute"},
                    {"method": "POST", "path": "/items", "function": "fuzzroute"},
                    {"method": "ANY", "path": "/files/{proxy+}", "function": "fuzzroute"},
                ],
                "stages": [{"name": "dev", "variables": {"tier": "gold"}}],
            },
        },
    ]


class Target:
    """Sends raw requests to the fuzzed ``kumo up``: signed for a service, or with the admin token."""

    def __init__(self, up: KumoUp) -> None:
        self.up = up
        self.http = httpx.Client(base_url=up.url, timeout=60)

    def send(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        service: str | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        auth = self.up.auth(service) if service else None
        return self.http.request(method, path, content=body, headers=headers, params=params, auth=auth)

    def healthy(self) -> bool:
        return self.http.get("/healthz").status_code == 200


@pytest.fixture(scope="package")
def fuzz_kumo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KumoUp]:
    up = KumoUp(manifests(), tmp_path_factory.mktemp("kumo-fuzz"))
    try:
        yield up
    finally:
        up.stop()


@pytest.fixture(scope="package")
def target(fuzz_kumo: KumoUp) -> Iterator[Target]:
    t = Target(fuzz_kumo)
    try:
        yield t
    finally:
        t.http.close()
