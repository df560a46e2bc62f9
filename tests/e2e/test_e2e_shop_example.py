"""``examples/shop`` end to end, as its README tells it: the first ``make run`` on a fresh state dir (a
real ``make``, its seeding step and ``kumo up examples``) serves two published versions, the aliases,
the 1.0 Api on dev and prod, prod's canary, CORS and the alias's 90/10 split over real HTTP and boto3,
with no warning; ``kumo api promote`` works; a second ``make run`` seeds nothing and publishes nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from kumo_up import KUMO, KumoUp
from support import wait_until

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "https://shop.example.com"
CALLS = 400  # 10 % ± 6 pp over 400 draws is four standard deviations either side
BIN = Path(sys.executable).parent  # the venv whose kumo the suite runs


def make_run(port: int, state_dir: Path) -> list[str]:
    """``make run`` as a newcomer types it (``-o install``: this venv is already installed)."""
    return ["make", "-C", str(ROOT), "-o", "install", "run", f"BIN={BIN}", f"PORT={port}", f"STATE_DIR={state_dir}"]


def started(up: KumoUp) -> str:
    return wait_until(lambda: "Press Ctrl-C" in up.output() and up.output(), what="the banner")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("kumo-shop")
    up = KumoUp([], workdir, command=make_run)
    try:
        started(up)
        yield up
    finally:
        up.stop()


def test_first_make_run_seeds_version_1_and_starts_without_warnings(shop):
    output = shop.output()
    assert "kumo publish shop --state-dir" in output and "function shop: version 1 in" in output
    assert "function shop: published version 2" in output
    assert "WARNING" not in output and "skipped" not in output and "ERROR" not in output


def test_two_versions_and_both_aliases(shop):
    lam = shop.lambda_client()
    versions = lam.list_versions_by_function(FunctionName="shop")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    assert [v["Environment"]["Variables"]["RELEASE"] for v in versions] == ["2", "1", "2"]
    live = lam.get_alias(FunctionName="shop", Name="live")
    assert live["FunctionVersion"] == "1"
    assert live["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.1}
    assert lam.get_alias(FunctionName="shop", Name="next")["FunctionVersion"] == "2"


def test_dev_stage_runs_latest_through_payload_format_1(shop):
    response = httpx.get(f"{shop.url}/shop/dev/items", timeout=30)
    assert response.status_code == 200
    assert "x-kumo-canary" not in response.headers  # dev has no canary
    body = response.json()
    # "stage" is only there when the event had httpMethod and requestContext.stage: a 1.0 event
    assert body == {
        "items": [{"id": "tea", "price": 4}, {"id": "cake", "price": 6}],
        "release": "2",
        "version": "$LATEST",
        "stage": "dev",
        "alias": "$LATEST",
    }


def test_prod_stage_serves_alias_live_and_its_canary_alias_next(shop):
    seen = {"true": 0, "false": 0}
    versions_on_live = {"1": 0, "2": 0}
    with httpx.Client(timeout=30) as client:
        for _ in range(CALLS):
            response = client.get(f"{shop.url}/shop/prod/items")
            assert response.status_code == 200, response.text
            canary = response.headers["x-kumo-canary"]
            body = response.json()
            assert body["stage"] == "prod"
            seen[canary] += 1
            if canary == "true":
                assert (body["alias"], body["version"], body["release"]) == ("next", "2", "2")
            else:
                assert body["alias"] == "live" and body["release"] == body["version"]
                versions_on_live[body["version"]] += 1
    assert 0.04 <= seen["true"] / CALLS <= 0.16, seen
    assert versions_on_live["1"] > versions_on_live["2"] > 0, versions_on_live


def test_cors_for_the_one_configured_origin(shop):
    url = f"{shop.url}/shop/prod/items"
    preflight = httpx.options(url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}, timeout=30)
    assert preflight.status_code == 204 and preflight.content == b""
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert preflight.headers["access-control-allow-methods"] == "GET"
    assert preflight.headers["access-control-allow-headers"] == "content-type"
    assert preflight.headers["access-control-max-age"] == "300"
    other = httpx.options(
        url, headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"}, timeout=30
    )
    assert other.status_code == 204
    assert not [name for name in other.headers if name.startswith("access-control-")]
    get = httpx.get(f"{shop.url}/shop/dev/items", headers={"Origin": ORIGIN}, timeout=30)
    assert get.status_code == 200 and get.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in get.headers["vary"]


def test_alias_live_splits_90_10_over_boto3(shop):
    lam = shop.lambda_client()
    counts = {"1": 0, "2": 0}
    for _ in range(CALLS):
        response = lam.invoke(FunctionName="shop", Qualifier="live", Payload=b"{}")
        body = json.loads(response["Payload"].read())
        assert "FunctionError" not in response, body
        assert response["ExecutedVersion"] == body["version"] == body["release"]
        counts[response["ExecutedVersion"]] += 1
    assert counts["1"] + counts["2"] == CALLS
    assert 0.04 <= counts["2"] / CALLS <= 0.16, counts
    assert counts["1"] > counts["2"] > 0, counts


def test_invoke_api_through_the_alias_as_the_readme_curls_it(shop):
    executed = set()
    with httpx.Client(timeout=30) as client:
        for _ in range(60):
            response = client.post(
                f"{shop.url}/2015-03-31/functions/shop:live/invocations", content=b"{}", auth=shop.auth("lambda")
            )
            assert response.status_code == 200, response.text
            executed.add(response.headers["x-amz-executed-version"])
    assert "1" in executed and executed <= {"1", "2"}


def test_promote_makes_the_canary_the_stage(shop):
    done = subprocess.run(
        [*KUMO, "api", "promote", "shop", "prod", "--url", shop.url, "--state-dir", str(shop.state_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    with httpx.Client(timeout=30) as client:
        for _ in range(20):
            response = client.get(f"{shop.url}/shop/prod/items")
            assert response.status_code == 200 and response.headers["x-kumo-canary"] == "false"
            assert response.json()["alias"] == "next" and response.json()["version"] == "2"


def test_second_make_run_seeds_nothing_and_keeps_the_versions(tmp_path):
    first = KumoUp([], tmp_path, command=make_run)
    try:
        started(first)
    finally:
        first.stop()
    again = KumoUp([], tmp_path, command=make_run)
    try:
        output = started(again)
        assert "kumo publish shop" not in output  # the state dir has shop's versions: make skips the seed
        assert "published version" not in output and "WARNING" not in output
        lam = again.lambda_client()
        versions = lam.list_versions_by_function(FunctionName="shop")["Versions"]
        assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
        banner = output
        assert f"shop stage dev: {again.url}/shop/dev" in banner
        assert f"shop stage prod: {again.url}/shop/prod" in banner
        assert f"curl '{again.url}/shop/dev/items'" in banner
        assert f"curl '{again.url}/hello/dev/hello'" in banner and f"curl '{again.url}/todo/dev/items'" in banner
        response = httpx.get(f"{again.url}/shop/prod/items", timeout=30)
        assert response.status_code == 200 and response.json()["stage"] == "prod"
        assert "Traceback" not in again.output() and "ERROR" not in again.output()
    finally:
        again.stop()
