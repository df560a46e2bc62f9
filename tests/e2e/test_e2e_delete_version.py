"""DeleteFunction with a Qualifier (one published version) through ``kumo up`` and real boto3: Lambda's
refusals ($LATEST, an alias, an unknown version, a version an alias references) and a real delete
(the version stops answering, its number is never reused, a restart keeps the deletion)."""

from __future__ import annotations

import json
import subprocess

import botocore.exceptions
import pytest
from kumo_up import KUMO, KumoUp, function_manifest

SOURCE = """
import os

def handler(event, context):
    return {"version": context.function_version, "release": os.environ["RELEASE"]}
"""


def manifest(aliases: dict) -> list[dict]:
    return [function_manifest("gone", SOURCE, environment={"RELEASE": "2"}, publish=True, aliases=aliases)]


def error_code(call) -> tuple[str, int, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    error = caught.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Message"]


def seed_version_1(up_dir, state_dir) -> None:
    """Version 1 (RELEASE=1) published offline before ``kumo up`` publishes the manifest as version 2."""
    manifest_dir = up_dir / "manifests"
    args = ["publish", "gone", "--state-dir", str(state_dir), "--manifests", str(manifest_dir)]
    done = subprocess.run(
        [*KUMO, *args, "--environment", "RELEASE=1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_delete_one_version(tmp_path):
    manifest_dir = tmp_path / "manifests"
    manifest_dir.mkdir()
    (manifest_dir / "all.yaml").write_text(
        "\n---\n".join(json.dumps(m) for m in manifest({"live": {"version": 2, "routing": {"1": 0.5}}}))
    )
    seed_version_1(tmp_path, tmp_path / "state")
    up = KumoUp(manifest({"live": {"version": 2, "routing": {"1": 0.5}}}), tmp_path)
    try:
        lam = up.lambda_client()
        assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="gone")["Versions"]] == [
            "$LATEST",
            "1",
            "2",
        ]
        assert lam.invoke(FunctionName="gone", Qualifier="1")["ExecutedVersion"] == "1"  # an instance of 1 runs
        for qualifier in ("1", "2"):  # the alias routes to both: Lambda refuses
            code, status, message = error_code(
                lambda q=qualifier: lam.delete_function(FunctionName="gone", Qualifier=q)
            )
            assert (code, status) == ("ResourceConflictException", 409)
            assert message == "Unable to delete version because the following aliases reference it: [live]"
        assert error_code(lambda: lam.delete_function(FunctionName="gone", Qualifier="$LATEST"))[:2] == (
            "InvalidParameterValueException",
            400,
        )
        assert error_code(lambda: lam.delete_function(FunctionName="gone", Qualifier="live"))[:2] == (
            "InvalidParameterValueException",
            400,
        )
        assert error_code(lambda: lam.delete_function(FunctionName="gone", Qualifier="9"))[:2] == (
            "ResourceNotFoundException",
            404,
        )
        assert error_code(lambda: lam.delete_function(FunctionName="nope", Qualifier="1"))[:2] == (
            "ResourceNotFoundException",
            404,
        )
        assert error_code(lambda: lam.delete_function(FunctionName="gone"))[:2] == (
            "InvalidParameterValueException",
            400,
        )

        lam.update_alias(FunctionName="gone", Name="live", RoutingConfig={"AdditionalVersionWeights": {}})
        response = lam.delete_function(FunctionName="gone", Qualifier="1")
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
        assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="gone")["Versions"]] == [
            "$LATEST",
            "2",
        ]
        assert error_code(lambda: lam.invoke(FunctionName="gone", Qualifier="1"))[:2] == (
            "ResourceNotFoundException",
            404,
        )
        assert not (up.state_dir / "versions" / "gone" / "1").exists()
        assert "function gone: deleted version 1" in up.output()
        assert lam.invoke(FunctionName="gone", Qualifier="live")["ExecutedVersion"] == "2"

        lam.delete_alias(FunctionName="gone", Name="live")
        lam.delete_function(FunctionName="gone", Qualifier="2")
        published = lam.publish_version(FunctionName="gone")  # $LATEST again: a new number, 2 is not reused
        assert published["Version"] == "3"
    finally:
        assert up.stop() == 0
    again = KumoUp(manifest({}), tmp_path)
    try:
        versions = again.lambda_client().list_versions_by_function(FunctionName="gone")["Versions"]
        assert [v["Version"] for v in versions] == ["$LATEST", "3"]
    finally:
        assert again.stop() == 0
