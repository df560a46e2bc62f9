"""``examples/shop`` end to end, as its README tells it: ``kumo up`` (a real process) on a copy of the
example, first start (version 1), change ``RELEASE``, second start (version 2 and the aliases), then
the 1.0 Api on dev and prod, prod's canary, CORS and the alias's 90/10 split over real HTTP and boto3.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from kumo_up import KumoUp
from support import wait_until

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "shop"
ORIGIN = "https://shop.example.com"
CALLS = 400  # 10 % ± 6 pp over 400 draws is four standard deviations either side


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("kumo-shop")
    example = workdir / "shop"
    shutil.copytree(EXAMPLE, example)
    first = KumoUp([], workdir, paths=[example])
    try:
        first_dev = httpx.get(f"{first.url}/shop/dev/items", timeout=30)
        first_prod = httpx.get(f"{first.url}/shop/prod/items", timeout=30)
    finally:
        assert first.stop() == 0
    first_output = first.output()
    # The README's edit: sed -i 's/RELEASE: "1"/RELEASE: "2"/' function.yaml
    manifest = example / "function.yaml"
    text = manifest.read_text()
    assert text.count('RELEASE: "1"') == 1
    manifest.write_text(text.replace('RELEASE: "1"', 'RELEASE: "2"'))
    up = KumoUp([], workdir, paths=[example])
    try:
        yield SimpleNamespace(up=up, first_dev=first_dev, first_prod=first_prod, first_output=first_output)
    finally:
        up.stop()


def test_first_start_publishes_version_1_and_skips_the_aliases(shop):
    assert shop.first_dev.status_code == 200
    assert shop.first_dev.json()["version"] == "$LATEST" and shop.first_dev.json()["release"] == "1"
    assert shop.first_prod.status_code == 500  # live and next need version 2
    assert "function shop: published version 1" in shop.first_output
    assert "spec.aliases.live skipped: Version 2 of the function does not exist" in shop.first_output
    assert "spec.aliases.next skipped" in shop.first_output


def test_second_start_has_two_versions_and_both_aliases(shop):
    lam = shop.up.lambda_client()
    versions = lam.list_versions_by_function(FunctionName="shop")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    assert [v["Environment"]["Variables"]["RELEASE"] for v in versions] == ["2", "1", "2"]
    live = lam.get_alias(FunctionName="shop", Name="live")
    assert live["FunctionVersion"] == "1"
    assert live["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.1}
    assert lam.get_alias(FunctionName="shop", Name="next")["FunctionVersion"] == "2"
    assert "function shop: published version 2" in shop.up.output()
    assert "skipped" not in shop.up.output()


def test_dev_stage_runs_latest_through_payload_format_1(shop):
    response = httpx.get(f"{shop.up.url}/shop/dev/items", timeout=30)
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
            response = client.get(f"{shop.up.url}/shop/prod/items")
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
    url = f"{shop.up.url}/shop/prod/items"
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
    get = httpx.get(f"{shop.up.url}/shop/dev/items", headers={"Origin": ORIGIN}, timeout=30)
    assert get.status_code == 200 and get.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in get.headers["vary"]


def test_alias_live_splits_90_10_over_boto3(shop):
    lam = shop.up.lambda_client()
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


def test_kumo_up_examples_lists_the_shop_and_its_curl_line_works(tmp_path):
    up = KumoUp([], tmp_path, paths=[ROOT / "examples"])
    try:
        banner = wait_until(lambda: "Press Ctrl-C" in up.output() and up.output(), what="the banner")
        assert f"shop stage dev: {up.url}/shop/dev" in banner
        assert f"shop stage prod: {up.url}/shop/prod" in banner
        assert f"curl '{up.url}/shop/dev/items'" in banner
        assert f"curl '{up.url}/hello/dev/hello'" in banner and f"curl '{up.url}/todo/dev/items'" in banner
        response = httpx.get(f"{up.url}/shop/dev/items", timeout=30)
        assert response.status_code == 200 and response.json()["version"] == "$LATEST"
        assert "Traceback" not in up.output() and "ERROR" not in up.output()
    finally:
        assert up.stop() == 0
