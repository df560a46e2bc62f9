"""The pure checks of CreateFunction/UpdateFunctionCode/UpdateFunctionConfiguration bodies, the signed
Code.Location links, and the local code store's content addressing."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from kumo.packages.store import LocalPackageStore, StoreError
from kumo_gateway.lambda_.function_requests import (
    FunctionSettings,
    RequestError,
    apply_configuration,
    function_spec,
    layer_ref,
    parse_create,
    parse_tags,
    parse_update_code,
)
from kumo_gateway.lambda_.function_writer import LOCATION_TTL_S, CodeLinks

ZIP = base64.b64encode(b"PK-bytes").decode()
LAYER = "arn:aws:lambda:us-east-1:000000000000:layer:helpers:3"


def body(**overrides: object) -> dict:
    return {
        "FunctionName": "orders",
        "Runtime": "python3.12",
        "Handler": "app.handler",
        "Role": "arn:aws:iam::000000000000:role/r",
        "Code": {"ZipFile": ZIP},
        **overrides,
    }


def test_create_request_carries_settings_code_tags_and_publish() -> None:
    request = parse_create(
        body(
            MemorySize=512,
            Timeout=30,
            Environment={"Variables": {"A": "1"}},
            Layers=[LAYER],
            Architectures=["arm64"],
            Tags={"team": "shop"},
            Publish=True,
            Description="d",
        )
    )
    assert request.zip_bytes == b"PK-bytes" and request.publish and request.tags == {"team": "shop"}
    settings = request.settings
    assert (settings.memory, settings.timeout, settings.architecture, settings.description) == (512, 30, "arm64", "d")
    spec = function_spec(settings, "/store/x.zip")
    assert spec.layers == ["helpers:3"] and spec.code.zip == "/store/x.zip" and spec.environment == {"A": "1"}
    assert FunctionSettings.from_record(settings.to_record()) == settings


@pytest.mark.parametrize(
    ("overrides", "error_type", "words"),
    [
        ({"Code": {"S3Bucket": "b", "S3Key": "k"}}, "InvalidParameterValueException", "S3"),
        ({"Code": {"ImageUri": "repo/image:1"}}, "InvalidParameterValueException", "ImageUri"),
        ({"Code": {"ZipFile": "***"}}, "InvalidParameterValueException", "base64"),
        ({"Code": {}}, "InvalidParameterValueException", "ZipFile is required"),
        ({"FunctionName": "Upper_Case"}, "InvalidParameterValueException", "Kubernetes names"),
        ({"Runtime": None}, "InvalidParameterValueException", "Runtime is required"),
        ({"Runtime": "nodejs22.x"}, "InvalidParameterValueException", "Runtime"),
        ({"MemorySize": 64}, "InvalidParameterValueException", "MemorySize"),
        ({"Timeout": 901}, "InvalidParameterValueException", "Timeout"),
        ({"Layers": ["helpers:1"]}, "InvalidParameterValueException", "layer version ARN"),
        ({"Architectures": ["x86_64", "arm64"]}, "InvalidParameterValueException", "exactly one"),
        ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "InvalidParameterValueException", "reserved"),
        ({"PackageType": "Image"}, "InvalidParameterValueException", "Image"),
        ({"Description": "x" * 257}, "InvalidParameterValueException", "Description"),
    ],
)
def test_create_refusals_name_the_problem(overrides: dict, error_type: str, words: str) -> None:
    with pytest.raises(RequestError) as refused:
        parse_create(body(**overrides))
    assert refused.value.error_type == error_type and words in refused.value.message


def test_a_zip_over_50_mb_is_request_entity_too_large() -> None:
    encoded = base64.b64encode(bytes(50 * 1024 * 1024 + 1)).decode()
    with pytest.raises(RequestError) as refused:
        parse_update_code({"ZipFile": encoded})
    assert (refused.value.error_type, refused.value.status) == ("RequestEntityTooLargeException", 413)


def test_update_code_and_configuration() -> None:
    assert parse_update_code({"ZipFile": ZIP, "Publish": True, "RevisionId": "r"}) == (b"PK-bytes", True, "r")
    with pytest.raises(RequestError, match="S3"):
        parse_update_code({"S3Bucket": "b", "S3Key": "k"})
    settings = parse_create(body()).settings
    changed = apply_configuration(settings, {"Timeout": 60, "Handler": "other.main"})
    assert (changed.timeout, changed.handler, changed.runtime) == (60, "other.main", "python3.12")


def test_layer_arns_and_tags() -> None:
    assert layer_ref(LAYER) == "helpers:3"
    with pytest.raises(RequestError):
        layer_ref("arn:aws:lambda:us-east-1:000000000000:layer:helpers")
    assert parse_tags({"a": "1"}) == {"a": "1"}
    with pytest.raises(RequestError, match="aws:"):
        parse_tags({"aws:reserved": "x"})
    with pytest.raises(RequestError, match="at most 50"):
        parse_tags({f"k{i}": "v" for i in range(51)})


def test_code_links_are_signed_bound_and_expire() -> None:
    now = [1000.0]
    links = CodeLinks(b"k" * 32, clock=lambda: now[0])
    url = links.location("http://127.0.0.1:8080/", "orders", "a" * 64)
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    assert url.startswith("http://127.0.0.1:8080/2015-03-31/kumo-code/" + "a" * 64 + "?")
    assert links.check("a" * 64, query) is None
    assert links.check("b" * 64, query) == "the signature does not match"
    assert links.check("a" * 64, {**query, "function": "other"}) == "the signature does not match"
    assert CodeLinks(b"x" * 32).check("a" * 64, query) == "the signature does not match"
    now[0] += LOCATION_TTL_S + 1
    assert "expired" in str(links.check("a" * 64, query))
    assert links.check("a" * 64, {}) == "the URL is not signed"


def test_local_store_addresses_by_content_and_verifies_reads(tmp_path: Path) -> None:
    store = LocalPackageStore(tmp_path / "store")
    address = store.put(b"zip bytes")
    assert address == hashlib.sha256(b"zip bytes").hexdigest() and store.put(b"zip bytes") == address
    assert store.open(address) == b"zip bytes" and store.total_bytes() == len(b"zip bytes")
    assert [p.name for p in (tmp_path / "store").iterdir()] == [f"{address}.zip"]  # no staging file left
    path = store.path(address)
    path.chmod(0o644)
    path.write_bytes(b"altered")
    with pytest.raises(StoreError, match="SHA-256"):
        store.open(address)
    store.delete(address)
    with pytest.raises(StoreError, match="not in the code store"):
        store.open(address)
    with pytest.raises(StoreError):
        store.path("../../etc/passwd")
    assert store.total_bytes() == 0
