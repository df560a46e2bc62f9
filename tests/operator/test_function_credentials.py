"""Each Function's credentials Secret and how its pods read it (pure builders, no API server)."""

from __future__ import annotations

import base64
from typing import Any

from test_function_resources import CONFIG, container, function

from kumo.access_keys import ACCESS_KEY_LABEL, from_secret
from kumo.policy import ALLOW_ALL
from kumo_operator.apply import drift_patch
from kumo_operator.function_credentials import build_credentials_secret, credentials_secret_name
from kumo_operator.function_resources import build_function_version


def as_stored(secret: dict[str, Any]) -> dict[str, Any]:
    """What the API server returns of the Secret (plus what it adds)."""
    return {**secret, "metadata": {**secret["metadata"], "uid": "s-1", "resourceVersion": "4"}}


def key_id(secret: dict[str, Any]) -> str:
    return base64.b64decode(secret["data"]["AWS_ACCESS_KEY_ID"]).decode()


def test_secret_has_the_shape_the_gateway_reads() -> None:
    body, _ = function()
    secret = build_credentials_secret(body)
    meta = secret["metadata"]
    assert meta["name"] == "hello-credentials" == credentials_secret_name("hello")
    assert meta["namespace"] == "team"
    assert meta["labels"][ACCESS_KEY_LABEL] == "true"
    assert meta["labels"]["kumo.dev/function"] == "hello"
    assert meta["ownerReferences"][0]["uid"] == "uid-1" and meta["ownerReferences"][0]["kind"] == "Function"
    key = from_secret(as_stored(secret))
    assert key is not None
    assert key.name == "function:hello" and key.policy == ALLOW_ALL
    assert key.access_key_id.startswith("KUMO") and len(key.access_key_id) == 20
    assert len(key.secret_access_key) == 40


def test_each_build_generates_a_new_key_so_only_creation_may_use_it() -> None:
    body, _ = function()
    first, second = build_credentials_secret(body), build_credentials_secret(body)
    assert key_id(first) != key_id(second)
    # an existing Secret is never rewritten: the data is create-only, so no drift is seen ...
    assert drift_patch(second, as_stored(first)) is None
    # ... but lost labels are put back, without touching the data
    stripped = as_stored(first)
    stripped["metadata"] = {**stripped["metadata"], "labels": {}}
    patch = drift_patch(second, stripped)
    assert patch is not None and patch["metadata"]["labels"][ACCESS_KEY_LABEL] == "true"
    assert "data" not in patch


def test_every_deployment_reads_the_key_from_the_secret() -> None:
    body, fn = function(publish=True)
    for built in (
        build_function_version(body, fn.spec, CONFIG),
        build_function_version(body, fn.spec, CONFIG, published="3"),
    ):
        env = container(built)["env"]
        refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in env if "valueFrom" in e}
        assert refs == {
            "AWS_ACCESS_KEY_ID": {"name": "hello-credentials", "key": "AWS_ACCESS_KEY_ID"},
            "AWS_SECRET_ACCESS_KEY": {"name": "hello-credentials", "key": "AWS_SECRET_ACCESS_KEY"},
        }
        values = {e["name"]: e["value"] for e in env if "value" in e}
        assert values["AWS_ENDPOINT_URL"] == values["AWS_ENDPOINT_URL_LAMBDA"] == CONFIG.gateway_internal_url
        assert values["AWS_ENDPOINT_URL_DYNAMODB"] == CONFIG.gateway_internal_url
        assert "AWS_ACCESS_KEY_ID" not in values
