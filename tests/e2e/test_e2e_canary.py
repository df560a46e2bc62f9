"""Stages and canaries through ``kumo up``: stage variables choose the function, a canary takes its share,
``kumo api promote`` (the real CLI) moves every request to the canary's variables, missing targets are 500."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from kumo_up import KUMO, KumoUp, function_manifest
from support import wait_until

ORDERS = """
import json

def handler(event, context):
    body = {"function": context.function_name, "stageVariables": event.get("stageVariables")}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
"""

TARGET = "${stageVariables.fn}:${stageVariables.alias}"
PRIMARY = {"fn": "orders", "alias": "$LATEST"}
CANARY = {"percent": 10, "variables": {"fn": "orders-beta"}}


def manifests() -> list[dict]:
    return [
        function_manifest("orders", ORDERS),
        function_manifest("orders-beta", ORDERS),
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Api",
            "metadata": {"name": "shop"},
            "spec": {
                "routes": [
                    {"method": "GET", "path": "/orders", "function": TARGET},
                    {"method": "GET", "path": "/items/{id}", "function": "orders"},
                ],
                "stages": [
                    {"name": "dev", "variables": PRIMARY},
                    {"name": "prod", "variables": PRIMARY, "canary": CANARY},
                    {"name": "beta", "variables": PRIMARY, "canary": CANARY},
                    {"name": "aliased", "variables": {"fn": "orders", "alias": "live"}},
                    {"name": "bare"},
                ],
            },
        },
    ]


@pytest.fixture(scope="module")
def kumo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KumoUp]:
    up = KumoUp(manifests(), tmp_path_factory.mktemp("kumo-canary"))
    try:
        yield up
    finally:
        up.stop()


def promote(kumo: KumoUp, *args: str, url: bool = True) -> subprocess.CompletedProcess[str]:
    command = [
        *KUMO,
        "api",
        "promote",
        *args,
        "--state-dir",
        str(kumo.state_dir),
        *(["--url", kumo.url] if url else []),
    ]
    env = {**os.environ, "KUMO_URL": kumo.url}
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)


def test_stage_variables_reach_the_event(kumo: KumoUp) -> None:
    response = httpx.get(f"{kumo.url}/shop/dev/items/7", timeout=30)
    assert response.status_code == 200
    assert "x-kumo-canary" not in response.headers
    assert response.json() == {"function": "orders", "stageVariables": PRIMARY}


def test_canary_takes_its_share(kumo: KumoUp) -> None:
    served = {True: 0, False: 0}
    with httpx.Client(base_url=kumo.url, timeout=30) as http:
        for _ in range(2000):
            response = http.get("/shop/prod/orders")
            assert response.status_code == 200
            canary = response.headers["x-kumo-canary"] == "true"
            served[canary] += 1
            body = response.json()
            if canary:
                assert body == {"function": "orders-beta", "stageVariables": {**PRIMARY, "fn": "orders-beta"}}
            else:
                assert body == {"function": "orders", "stageVariables": PRIMARY}
    # unseeded draws in the kumo up process: 3 percentage points is 4.5 standard deviations at n=2000
    assert abs(served[True] / 2000 - 0.10) <= 0.03, served

    # the access log says which side served each request
    def access_lines() -> list[dict]:
        found = []
        for line in kumo.output().splitlines():
            if "kumo.gateway.access" in line:
                record = json.loads(line[line.index("{") :])
                if (record["path"], record["status"]) == ("/shop/prod/orders", 200):
                    found.append(record)
        return found

    wait_until(lambda: len(access_lines()) >= 2000, timeout=10, what="2000 access lines")
    lines = access_lines()
    assert sum(line["canary"] is True for line in lines) == served[True]
    assert sum(line["canary"] is False for line in lines) == served[False]


def test_promote_with_the_cli(kumo: KumoUp) -> None:
    with httpx.Client(base_url=kumo.url, timeout=30) as http:
        before = {http.get("/shop/beta/orders").json()["function"] for _ in range(200)}
        assert before == {"orders", "orders-beta"}  # both sides serve before the promotion

        done = promote(kumo, "shop", "beta")
        assert done.returncode == 0, done.stderr
        assert "promoted the canary of shop/beta" in done.stdout and "fn=orders-beta" in done.stdout

        for _ in range(300):
            response = http.get("/shop/beta/orders")
            assert response.headers["x-kumo-canary"] == "false"
            assert response.json() == {"function": "orders-beta", "stageVariables": {**PRIMARY, "fn": "orders-beta"}}
        # the other stages keep their own variables
        assert http.get("/shop/dev/orders").json()["function"] == "orders"
        stage = http.get("/_kumo/apis/shop/stages/beta", headers=kumo.admin_headers).json()["stage"]
        assert stage["canary"] == {"percent": 0.0, "variables": {"fn": "orders-beta"}}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("shop", "dev"), "stage 'dev' has no canary to promote"),
        (("shop", "nope"), "Api 'shop' has no stage 'nope'"),
        (("nope", "prod"), "Api 'nope' not found"),
    ],
)
def test_promote_errors(kumo: KumoUp, args: tuple[str, str], message: str) -> None:
    done = promote(kumo, *args, url=False)  # the URL from KUMO_URL this time
    assert done.returncode == 1
    assert f"kumo api promote: {message}" in done.stderr


def test_promote_needs_a_reachable_gateway(kumo: KumoUp) -> None:
    command = [*KUMO, "api", "promote", "shop", "prod", "--url", "http://127.0.0.1:9"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "cannot reach http://127.0.0.1:9" in done.stderr


@pytest.mark.parametrize(
    ("stage", "logged"),
    [
        ("aliased", "Api shop stage aliased route GET /orders: function orders:live not found"),
        ("bare", "Api shop stage bare route GET /orders: target " + TARGET + ": stage variable 'fn' is not defined"),
    ],
)
def test_missing_target_is_500(kumo: KumoUp, stage: str, logged: str) -> None:
    response = httpx.get(f"{kumo.url}/shop/{stage}/orders", timeout=30)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    wait_until(lambda: logged in kumo.output(), timeout=10, what=f"log line {logged!r}")
