"""Versions and aliases end to end: ``kumo up`` (restarted over one state dir), real boto3, the real CLI."""

from __future__ import annotations

import collections
import json
import os
import subprocess

import botocore.exceptions
import httpx
import pytest
from kumo_up import KUMO, KumoUp, function_manifest
from support import wait_until

SOURCE = """
import os
CODE = {code!r}

def handler(event, context):
    return {{
        "code": CODE,
        "version": context.function_version,
        "arn": context.invoked_function_arn,
        "env_version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
        "greeting": os.environ.get("GREETING"),
        "pid": os.getpid(),
    }}
"""
ARN = "arn:aws:lambda:us-east-1:000000000000:function"


def manifests(code: str, *, aliases: dict | None = None) -> list[dict]:
    extra = {"aliases": aliases} if aliases else {}
    return [
        function_manifest(
            "ver", SOURCE.format(code=code), environment={"GREETING": code}, timeout="10s", publish=True, **extra
        ),
        function_manifest("veridle", SOURCE.format(code="idle"), publish=True, scaling={"idleTimeout": "1s"}),
        function_manifest("plain", SOURCE.format(code="plain")),
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Api",
            "metadata": {"name": "vshop"},
            "spec": {
                "routes": [
                    {"method": "GET", "path": "/stable", "function": "ver", "qualifier": "stable"},
                    {"method": "GET", "path": "/v2", "function": "ver", "qualifier": "2"},
                ]
            },
        },
    ]


ALIASES = {"live": {"version": 1, "routing": {"2": 0.3}}, "stable": {"version": 1}, "broken": {"version": 9}}


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    """Three starts over one state dir: v1 (publishes 1), v2 + aliases (publishes 2), v2 again (publishes nothing)."""
    workdir = tmp_path_factory.mktemp("kumo-versions")
    outputs = []
    for code, aliases in [("v1", None), ("v2", ALIASES)]:
        first = KumoUp(manifests(code, aliases=aliases), workdir)
        first.stop()
        outputs.append(first.output())
    final = KumoUp(manifests("v2", aliases=ALIASES), workdir)
    final.earlier_outputs = outputs
    try:
        yield final
    finally:
        final.stop()


def call(client, name: str, **kwargs) -> tuple[str, dict]:
    response = client.invoke(FunctionName=name, **kwargs)
    assert "FunctionError" not in response, response["Payload"].read()
    return response["ExecutedVersion"], json.loads(response["Payload"].read())


def test_spec_publish_numbers_versions_across_restarts(up):
    client = up.lambda_client()
    versions = client.list_versions_by_function(FunctionName="ver")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    assert [v["FunctionArn"] for v in versions] == [f"{ARN}:ver:$LATEST", f"{ARN}:ver:1", f"{ARN}:ver:2"]
    assert versions[0]["CodeSha256"] == versions[2]["CodeSha256"] != versions[1]["CodeSha256"]
    assert versions[1]["Environment"] == {"Variables": {"GREETING": "v1"}}
    assert "published version 1" in up.earlier_outputs[0] and "published version 2" in up.earlier_outputs[1]
    assert "published version" not in up.output()  # third start: nothing changed
    # a manifest alias to a version that does not exist is skipped with a warning, the others are set
    assert "spec.aliases.broken skipped" in up.output()
    aliases = {a["Name"]: a for a in client.list_aliases(FunctionName="ver")["Aliases"]}
    assert set(aliases) == {"live", "stable"}
    assert aliases["live"]["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.3}}


def test_publish_version_api_unchanged_returns_same_version(up):
    client = up.lambda_client()
    first = client.publish_version(FunctionName="plain", Description="first")
    assert (first["Version"], first["Description"], first["State"]) == ("1", "first", "Active")
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 201
    again = client.publish_version(FunctionName="plain")
    assert (again["Version"], again["CodeSha256"]) == ("1", first["CodeSha256"])
    assert client.publish_version(FunctionName="ver")["Version"] == "2"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.publish_version(FunctionName="missing")
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="CodeSHA256"):
        client.publish_version(FunctionName="plain", CodeSha256="bm90IHRoZSBoYXNo")


def test_get_function_and_configuration_shapes(up):
    client = up.lambda_client()
    latest = client.get_function(FunctionName="ver")
    config = latest["Configuration"]
    assert config["FunctionArn"] == f"{ARN}:ver"
    assert (config["Version"], config["State"], config["LastUpdateStatus"], config["Runtime"]) == (
        "$LATEST",
        "Active",
        "Successful",
        "python3.11",
    )
    assert (config["Timeout"], config["MemorySize"], config["Handler"]) == (10, 128, "app.handler")
    assert config["LastModified"].endswith("+0000") and len(config["CodeSha256"]) == 44
    assert latest["Code"]["RepositoryType"] == "S3"
    one = client.get_function_configuration(FunctionName="ver", Qualifier="1")
    assert (one["Version"], one["FunctionArn"], one["Environment"]) == (
        "1",
        f"{ARN}:ver:1",
        {"Variables": {"GREETING": "v1"}},
    )
    by_alias = client.get_function_configuration(FunctionName=f"{ARN}:ver:stable")
    assert (by_alias["Version"], by_alias["FunctionArn"]) == ("1", f"{ARN}:ver:stable")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function(FunctionName="ver", Qualifier="7")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function_configuration(FunctionName="nope")
    # the waiters the AWS CLI uses poll GetFunction
    client.get_waiter("function_active_v2").wait(FunctionName="ver", WaiterConfig={"Delay": 1, "MaxAttempts": 2})


def test_list_functions_and_pagination(up):
    client = up.lambda_client()
    names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
    assert names == ["plain", "ver", "veridle"]
    page = client.list_functions(MaxItems=2)
    assert len(page["Functions"]) == 2 and page["NextMarker"]
    rest = client.list_functions(Marker=page["NextMarker"], MaxItems=2)
    assert [f["FunctionName"] for f in rest["Functions"]] == ["veridle"] and "NextMarker" not in rest
    everything = client.get_paginator("list_functions").paginate(
        FunctionVersion="ALL", PaginationConfig={"PageSize": 1}
    )
    versions = [(f["FunctionName"], f["Version"]) for p in everything for f in p["Functions"]]
    assert ("ver", "2") in versions and ("veridle", "1") in versions and ("ver", "$LATEST") in versions
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.list_functions(Marker="garbage")


@pytest.mark.parametrize(
    ("name", "qualifier", "executed", "code", "arn"),
    [
        ("ver", None, "$LATEST", "v2", f"{ARN}:ver"),
        ("ver", "$LATEST", "$LATEST", "v2", f"{ARN}:ver:$LATEST"),
        ("ver", "1", "1", "v1", f"{ARN}:ver:1"),
        ("ver:2", None, "2", "v2", f"{ARN}:ver:2"),
        (f"{ARN}:ver:1", None, "1", "v1", f"{ARN}:ver:1"),
        ("ver:stable", None, "1", "v1", f"{ARN}:ver:stable"),
        ("ver", "stable", "1", "v1", f"{ARN}:ver:stable"),
    ],
)
def test_invoke_qualified(up, name, qualifier, executed, code, arn):
    kwargs = {"Qualifier": qualifier} if qualifier else {}
    version, body = call(up.lambda_client(), name, **kwargs)
    assert (version, body["code"], body["version"], body["env_version"], body["arn"]) == (
        executed,
        code,
        executed,
        executed,
        arn,
    )
    assert body["greeting"] == code  # the version's frozen environment


def test_unknown_qualifier_is_resource_not_found(up):
    client = up.lambda_client()
    for kwargs in [{"Qualifier": "9"}, {"Qualifier": "nope"}, {"FunctionName": "ver:broken"}]:
        with pytest.raises(client.exceptions.ResourceNotFoundException) as info:
            client.invoke(**{"FunctionName": "ver", **kwargs})
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert "Function not found: arn:aws:lambda:us-east-1:000000000000:function:ver:" in str(info.value)


def test_weighted_alias_routes_both_versions(up):
    client = up.lambda_client()
    seen = collections.Counter()
    for _ in range(300):
        version, body = call(client, "ver", Qualifier="live")
        assert body["version"] == version and body["arn"] == f"{ARN}:ver:live"
        assert body["code"] == {"1": "v1", "2": "v2"}[version]
        seen[version] += 1
    assert set(seen) == {"1", "2"}
    assert 0.15 <= seen["2"] / 300 <= 0.45, seen  # weight 0.3 (the precise statistics are unit-tested)


def test_alias_lifecycle_through_boto3(up):
    client = up.lambda_client()
    created = client.create_alias(FunctionName="ver", Name="canary", FunctionVersion="2", Description="c")
    assert created["AliasArn"] == f"{ARN}:ver:canary" and created["ResponseMetadata"]["HTTPStatusCode"] == 201
    with pytest.raises(client.exceptions.ResourceConflictException):
        client.create_alias(FunctionName="ver", Name="canary", FunctionVersion="1")
    assert call(client, "ver:canary")[0] == "2"
    updated = client.update_alias(
        FunctionName="ver",
        Name="canary",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 1.0}},
        RevisionId=created["RevisionId"],
    )
    assert updated["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 1.0}} and updated["Description"] == "c"
    assert {call(client, "ver:canary")[0] for _ in range(5)} == {"2"}  # weight 1.0: always the extra version
    got = client.get_alias(FunctionName="ver", Name="canary")
    assert (got["FunctionVersion"], got["RevisionId"]) == ("1", updated["RevisionId"])
    assert [a["Name"] for a in client.list_aliases(FunctionName="ver", FunctionVersion="1")["Aliases"]] == [
        "live",
        "stable",
        "canary",
    ]
    with pytest.raises(botocore.exceptions.ClientError, match="PreconditionFailed"):
        client.update_alias(FunctionName="ver", Name="canary", Description="x", RevisionId=created["RevisionId"])
    client.delete_alias(FunctionName="ver", Name="canary")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_alias(FunctionName="ver", Name="canary")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="ver:canary")


@pytest.mark.parametrize(
    ("name", "version", "routing", "message"),
    [
        ("123", "1", None, "Alias name"),
        ("x", "1", {"$LATEST": 0.5}, "routing configuration"),
        ("x", "1", {"2": 0.5, "3": 0.1}, "at most one"),
        ("x", "1", {"2": 2.0}, "between 0.0 and 1.0"),
        ("x", "$LATEST", {"2": 0.5}, "more than 1 version"),
    ],
)
def test_bad_alias_refused(up, name, version, routing, message):
    client = up.lambda_client()
    kwargs = {"RoutingConfig": {"AdditionalVersionWeights": routing}} if routing else {}
    with pytest.raises(botocore.exceptions.ClientError, match=message) as info:
        client.create_alias(FunctionName="ver", Name=name, FunctionVersion=version, **kwargs)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 404)


def test_aliases_and_version_code_are_stored(up):
    created = up.lambda_client().create_alias(FunctionName="plain", Name="kept", FunctionVersion="$LATEST")
    assert created["FunctionVersion"] == "$LATEST"
    record = json.loads((up.state_dir / "versions" / "plain" / "versions.json").read_text())
    assert "kept" in [a["name"] for a in record["aliases"]]
    assert (up.state_dir / "versions" / "ver" / "1" / "app.py").read_text().count("'v1'") == 1


def test_api_route_runs_the_qualified_version(up):
    stable = httpx.get(f"{up.url}/vshop/$default/stable", timeout=30)
    assert stable.status_code == 200 and stable.json()["code"] == "v1"
    assert stable.json()["arn"] == f"{ARN}:ver:stable"
    assert httpx.get(f"{up.url}/vshop/$default/v2", timeout=30).json()["version"] == "2"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_each_version_has_its_own_instances_and_scales_to_zero(up):
    client = up.lambda_client()
    _, latest = call(client, "veridle")
    _, one = call(client, "veridle", Qualifier="1")
    _, one_again = call(client, "veridle", Qualifier="1")
    assert latest["pid"] != one["pid"] and one_again["pid"] == one["pid"]
    wait_until(lambda: not _alive(one["pid"]), timeout=10, interval=0.1, what="version 1's idle instance to stop")
    wait_until(lambda: not _alive(latest["pid"]), timeout=10, interval=0.1, what="$LATEST's idle instance to stop")


def test_kumo_publish_cli(up):
    env = {**os.environ, "KUMO_URL": up.url}
    first = subprocess.run(
        [*KUMO, "publish", "veridle", "--description", "cli", "--state-dir", str(up.state_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["Version"] == "1"  # unchanged since spec.publish published it
    missing = subprocess.run(
        [*KUMO, "publish", "missing", "--url", up.url, "--state-dir", str(up.state_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1
    assert "ResourceNotFoundException: Function not found" in missing.stderr
    unreachable = subprocess.run(
        [*KUMO, "publish", "ver"],
        capture_output=True,
        text=True,
        env={**env, "KUMO_URL": "http://127.0.0.1:9"},
        timeout=60,
    )
    assert unreachable.returncode == 1 and "cannot reach the platform" in unreachable.stderr


def test_unknown_management_operation(up):
    response = httpx.get(f"{up.url}/2015-03-31/functions/ver/code", timeout=10, auth=up.auth())
    assert response.status_code == 404
    assert response.headers["x-amzn-errortype"] == "UnknownOperationException"
