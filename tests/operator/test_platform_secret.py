"""The platform credential in runtime and partition pods: builders put a secretKeyRef in, never the value."""

from __future__ import annotations

import base64
import dataclasses

from test_function_resources import function
from test_table_and_api_builders import table_body

from kumo.models import Table
from kumo.runtime.environment import HOST_PASSTHROUGH
from kumo_operator.config import OperatorConfig, config_from_env
from kumo_operator.function_resources import build_function_version
from kumo_operator.platform_secret import SECRET_NAME, build_platform_secret, platform_credential_env
from kumo_operator.table_resources import build_table

REF = {"secretKeyRef": {"name": SECRET_NAME, "key": "credential"}}
CONFIG = OperatorConfig(gateway_internal_url="http://gw.kumo-system.svc:8080", platform_credential="s3cret")


def _env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container["env"]}


def test_runtime_pods_read_the_credential_from_the_namespace_secret() -> None:
    body, fn = function()
    built = build_function_version(body, fn.spec, CONFIG)
    env = _env(built.deployment["spec"]["template"]["spec"]["containers"][0])
    assert env["KUMO_PLATFORM_CREDENTIAL"] == {"name": "KUMO_PLATFORM_CREDENTIAL", "valueFrom": REF}
    assert "s3cret" not in str(built.deployment)  # the value itself never lands in a pod spec
    # the runtime host takes nothing but a few basics from its environment into the function's
    assert "KUMO_PLATFORM_CREDENTIAL" not in HOST_PASSTHROUGH


def test_partition_pods_read_the_credential_from_the_namespace_secret() -> None:
    body = table_body()
    built = build_table(body, Table.model_validate(body).spec, CONFIG)
    env = _env(built.stateful_set["spec"]["template"]["spec"]["containers"][0])
    assert env["KUMO_PLATFORM_CREDENTIAL"]["valueFrom"] == REF
    assert "POD_NAME" in env


def test_without_a_credential_pods_get_none() -> None:
    config = dataclasses.replace(CONFIG, platform_credential=None)
    body, fn = function()
    env = _env(build_function_version(body, fn.spec, config).deployment["spec"]["template"]["spec"]["containers"][0])
    assert "KUMO_PLATFORM_CREDENTIAL" not in env
    assert platform_credential_env(None) == []


def test_namespace_copy_and_operator_config() -> None:
    secret = build_platform_secret("team", "s3cret")
    meta = secret["metadata"]
    assert (secret["kind"], meta["name"], meta["namespace"]) == ("Secret", SECRET_NAME, "team")
    assert base64.b64decode(secret["data"]["credential"]) == b"s3cret"
    assert config_from_env({"KUMO_PLATFORM_CREDENTIAL": " abc "}).platform_credential == "abc"
    assert config_from_env({}).platform_credential is None
