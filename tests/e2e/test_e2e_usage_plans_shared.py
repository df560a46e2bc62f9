"""Two ``kumo up`` gateways (real processes, own ports and state dirs, same manifests) sharing one
Redis enforce one limit; Redis stopped mid-test gives the documented answers, never a 500."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from kumo_up import KUMO, KumoUp, function_manifest
from redis_process import RedisProcess

RATE, BURST = 20, 5
FUNCTION = function_manifest(
    "pets", "def handler(event, context):\n    return {'statusCode': 200, 'body': 'pets'}\n", timeout="3s"
)
API = {
    "apiVersion": "kumo.dev/v1alpha1",
    "kind": "Api",
    "metadata": {"name": "pets"},
    "spec": {
        "routes": [
            {"method": "GET", "path": "/pets", "function": "pets", "apiKeyRequired": True},
            {"method": "GET", "path": "/open", "function": "pets", "throttle": {"rate": 1000, "burst": 1000}},
        ],
        "stages": [{"name": "prod"}],
        "usagePlans": [{"name": "basic", "stages": ["prod"], "throttle": {"rate": RATE, "burst": BURST}}],
    },
}


@pytest.fixture
def shared(tmp_path: Path):
    redis = RedisProcess(tmp_path / "redis")
    (tmp_path / "redis").mkdir()
    redis.start()
    gateways: list[KumoUp] = []
    try:
        for name in ("a", "b"):
            gateways.append(KumoUp([FUNCTION, API], tmp_path / name, args=["--redis-url", redis.url]))
        yield redis, gateways
    finally:
        for gateway in gateways:
            gateway.stop()
        redis.stop()


def create_key(up: KumoUp) -> str:
    created = subprocess.run(
        [*KUMO, "api-keys", "create", "--api", "pets", "--plan", "basic", "--url", up.url],
        env={**os.environ, "KUMO_ADMIN_TOKEN": up.admin_token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    return created.stdout.splitlines()[1]


async def hammer(urls: list[str], key: str, seconds: float, workers: int = 6) -> tuple[int, int, float]:
    """Concurrent requests to every gateway for ``seconds``: ``(accepted, refused, window s)``."""
    accepted = refused = 0
    started = time.monotonic()

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal accepted, refused
        while time.monotonic() - started < seconds:
            response = await http.get("/pets/prod/pets")
            assert response.status_code in (200, 429), response.text
            if response.status_code == 200:
                accepted += 1
            else:
                assert response.json() == {"message": "Too Many Requests"}
                refused += 1

    clients = [httpx.AsyncClient(base_url=url, timeout=30, headers={"x-api-key": key}) for url in urls]
    try:
        await asyncio.gather(*(worker(http) for http in clients for _ in range(workers)))
    finally:
        for http in clients:
            await http.aclose()
    return accepted, refused, time.monotonic() - started


def test_two_gateways_share_one_key_and_one_limit(shared) -> None:
    _, (a, b) = shared
    key = create_key(a)
    for gateway in (a, b):  # a key made through one gateway works on both (and warms the function)
        assert httpx.get(f"{gateway.url}/pets/prod/pets", headers={"x-api-key": key}, timeout=30).text == "pets"
    time.sleep(BURST / RATE + 0.1)  # let the bucket fill again
    accepted, refused, window = asyncio.run(hammer([a.url, b.url], key, 4.0))
    expected = BURST + RATE * window
    print(f"two gateways: accepted {accepted}, refused {refused} in {window:.2f} s (limit {expected:.0f})")
    assert refused > accepted  # both gateways were pushed well past the limit
    assert abs(accepted - expected) <= 0.1 * expected, (accepted, expected)


def test_redis_down_fails_closed_for_keys_open_for_throttles_and_recovers(shared) -> None:
    redis, (a, b) = shared
    key = create_key(b)
    assert httpx.get(f"{a.url}/pets/prod/pets", headers={"x-api-key": key}, timeout=30).status_code == 200
    redis.stop()
    for gateway in (a, b):
        down = httpx.get(f"{gateway.url}/pets/prod/pets", headers={"x-api-key": key}, timeout=30)
        assert (down.status_code, down.json()) == (503, {"message": "Service Unavailable"})
        assert httpx.get(f"{gateway.url}/pets/prod/open", timeout=30).status_code == 200
        missing = httpx.get(f"{gateway.url}/pets/prod/pets", timeout=30)
        assert (missing.status_code, missing.json()) == (403, {"message": "Forbidden"})
    redis.start()  # same port, same append-only file: the key is still there
    deadline = time.monotonic() + 15
    for gateway in (a, b):
        while httpx.get(f"{gateway.url}/pets/prod/pets", headers={"x-api-key": key}, timeout=30).status_code != 200:
            assert time.monotonic() < deadline, "service did not resume after Redis came back"
            time.sleep(0.2)
    assert '"status":500' not in a.output() + b.output()  # the access log: no 500 at any point
