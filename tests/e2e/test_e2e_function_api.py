"""The Lambda management API against a real `kumo up` with boto3: CreateFunction from a zip built here,
the waiters, invoke, UpdateFunctionCode (RevisionId), GetFunction's Code.Location download, ListFunctions
with a manifest function beside, tags, UpdateFunctionConfiguration, DeleteFunction, refusals that leave
nothing behind, and functions surviving a restart (and failing cleanly when their stored zip is altered)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError, WaiterError
from kumo_up import KumoUp, function_manifest
from support import wait_until

ROLE = "arn:aws:iam::000000000000:role/kumo-test"
WAIT = {"Delay": 1, "MaxAttempts": 60}


def package(answer: str, extra: dict[str, bytes] | None = None) -> bytes:
    """A deployment package (handler + a vendored module); the same arguments give the same bytes."""
    files = {
        "app.py": "import os, helper\n"
        "def handler(event, context):\n"
        f"    return {{'answer': {answer!r}, 'helper': helper.NAME, 'env': os.environ.get('GREETING')}}\n",
        "helper.py": "NAME = 'vendored'\n",
        **(extra or {}),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def invoke(client, name: str) -> dict:
    response = client.invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


def test_create_update_get_list_tag_delete_with_boto3(tmp_path: Path) -> None:
    manifest = function_manifest("from-manifest", "def handler(e, c):\n    return 'manifest'\n")
    kumo = KumoUp([manifest], tmp_path)
    try:
        client = kumo.lambda_client()
        first = package("one")
        created = client.create_function(
            FunctionName="orders",
            Runtime="python3.12",
            Handler="app.handler",
            Role=ROLE,
            Code={"ZipFile": first},
            Description="the orders service",
            Environment={"Variables": {"GREETING": "hi"}},
            MemorySize=256,
            Timeout=10,
            Tags={"team": "shop"},
            Architectures=["x86_64"],
        )
        assert created["State"] == "Pending" and created["LastUpdateStatus"] == "InProgress"
        assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(first).digest()).decode()
        assert (created["CodeSize"], created["MemorySize"], created["Timeout"]) == (len(first), 256, 10)
        assert created["Role"] == ROLE and created["Description"] == "the orders service"
        client.get_waiter("function_active_v2").wait(FunctionName="orders", WaiterConfig=WAIT)
        assert invoke(client, "orders") == {"answer": "one", "helper": "vendored", "env": "hi"}

        with pytest.raises(ClientError) as exists:
            client.create_function(
                FunctionName="orders", Runtime="python3.12", Handler="app.handler", Role=ROLE, Code={"ZipFile": first}
            )
        assert error_code(exists) == "ResourceConflictException"

        # UpdateFunctionCode: a stale RevisionId is refused; the right one rolls the new code in.
        with pytest.raises(ClientError) as stale:
            client.update_function_code(FunctionName="orders", ZipFile=package("two"), RevisionId="not-the-revision")
        assert error_code(stale) == "PreconditionFailedException"
        revision = client.get_function_configuration(FunctionName="orders")["RevisionId"]
        second = package("two")
        updated = client.update_function_code(FunctionName="orders", ZipFile=second, RevisionId=revision)
        assert updated["LastUpdateStatus"] == "InProgress" and updated["RevisionId"] != revision
        client.get_waiter("function_updated_v2").wait(FunctionName="orders", WaiterConfig=WAIT)
        assert invoke(client, "orders")["answer"] == "two"

        got = client.get_function(FunctionName="orders")
        assert got["Configuration"]["State"] == "Active" and got["Tags"] == {"team": "shop"}
        downloaded = httpx.get(got["Code"]["Location"], timeout=30)
        assert downloaded.status_code == 200 and downloaded.content == second
        assert (
            base64.b64encode(hashlib.sha256(downloaded.content).digest()).decode() == got["Configuration"]["CodeSha256"]
        )
        tampered = got["Code"]["Location"].replace("signature=", "signature=0")
        assert httpx.get(tampered, timeout=30).status_code == 403

        # UpdateFunctionConfiguration
        client.update_function_configuration(FunctionName="orders", Environment={"Variables": {"GREETING": "hey"}})
        client.get_waiter("function_updated_v2").wait(FunctionName="orders", WaiterConfig=WAIT)
        assert invoke(client, "orders")["env"] == "hey"
        with pytest.raises(ClientError) as bad_memory:
            client.update_function_configuration(FunctionName="orders", Timeout=901)
        assert error_code(bad_memory) == "InvalidParameterValueException"
        assert "Timeout" in bad_memory.value.response["Error"]["Message"]

        # One catalog: the manifest function and the API function, paginated.
        names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
        assert names == ["from-manifest", "orders"]
        page = client.list_functions(MaxItems=1)
        assert [f["FunctionName"] for f in page["Functions"]] == ["from-manifest"] and page["NextMarker"]
        rest = client.list_functions(Marker=page["NextMarker"], MaxItems=1)
        assert [f["FunctionName"] for f in rest["Functions"]] == ["orders"] and "NextMarker" not in rest
        with pytest.raises(ClientError) as managed:
            client.update_function_code(FunctionName="from-manifest", ZipFile=second)
        assert error_code(managed) == "ResourceConflictException"
        assert "manifest" in managed.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as not_here:
            client.delete_function(FunctionName="from-manifest")
        assert error_code(not_here) == "InvalidParameterValueException"
        assert "manifest" in not_here.value.response["Error"]["Message"]

        # A manifest edit may not take over an API function's name: refused, the API function keeps serving.
        kumo.write_manifests([manifest, function_manifest("orders", "def handler(e, c):\n    return 'manifest'\n")])
        wait_until(lambda: "created through the Lambda API" in kumo.output(), timeout=30, what="edit refused")
        assert invoke(client, "orders")["answer"] == "two"
        kumo.write_manifests([manifest])

        # Tags
        arn = got["Configuration"]["FunctionArn"]
        client.tag_resource(Resource=arn, Tags={"stage": "dev"})
        assert client.list_tags(Resource=arn)["Tags"] == {"team": "shop", "stage": "dev"}
        client.untag_resource(Resource=arn, TagKeys=["team"])
        assert client.list_tags(Resource=arn)["Tags"] == {"stage": "dev"}

        # Refusals: nothing is stored, nothing listed.
        store = kumo.state_dir / "code-store"
        before = sorted(p.name for p in store.iterdir())
        packages_before = sorted(p.name for p in (kumo.state_dir / "packages").iterdir())
        for code, expected in (
            ({"ZipFile": b"this is not a zip"}, "InvalidParameterValueException"),
            ({"S3Bucket": "bucket", "S3Key": "key.zip"}, "InvalidParameterValueException"),
            ({"ImageUri": "example.com/image:1"}, "InvalidParameterValueException"),
            ({"ZipFile": package("x", {"../evil.py": b"X = 1\n"})}, "InvalidParameterValueException"),
        ):
            with pytest.raises(ClientError) as refused:
                client.create_function(
                    FunctionName="broken", Runtime="python3.12", Handler="app.handler", Role=ROLE, Code=code
                )
            assert error_code(refused) == expected, refused.value.response
        with pytest.raises(ClientError) as bad_name:
            client.create_function(
                FunctionName="Not_A_Kube_Name", Runtime="python3.12", Handler="a.b", Role=ROLE, Code={"ZipFile": first}
            )
        assert error_code(bad_name) == "InvalidParameterValueException"
        assert "broken" not in [f["FunctionName"] for f in client.list_functions()["Functions"]]
        assert sorted(p.name for p in store.iterdir()) == before
        assert sorted(p.name for p in (kumo.state_dir / "packages").iterdir()) == packages_before
        with pytest.raises(ClientError) as missing:
            client.get_function(FunctionName="broken")
        assert error_code(missing) == "ResourceNotFoundException"

        # DeleteFunction: gone from the catalog, the store and the state dir.
        client.delete_function(FunctionName="orders")
        assert [f["FunctionName"] for f in client.list_functions()["Functions"]] == ["from-manifest"]
        with pytest.raises(ClientError) as deleted:
            client.invoke(FunctionName="orders", Payload=b"{}")
        assert error_code(deleted) == "ResourceNotFoundException"
        assert not (kumo.state_dir / "api-functions" / "orders.json").exists()
        assert list(store.iterdir()) == []
    finally:
        kumo.stop()


def test_functions_survive_restart_and_an_altered_package_fails_cleanly(tmp_path: Path) -> None:
    kumo = KumoUp([], tmp_path)
    try:
        client = kumo.lambda_client()
        for name in ("keeper", "victim"):
            client.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Handler="app.handler",
                Role=ROLE,
                Code={"ZipFile": package(name)},
                Publish=name == "keeper",
            )
            client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=WAIT)
        versions = client.list_versions_by_function(FunctionName="keeper")["Versions"]
        assert [v["Version"] for v in versions] == ["$LATEST", "1"]
        again = client.publish_version(FunctionName="keeper")  # nothing changed: the same version
        assert again["Version"] == "1" and again["CodeSha256"] == versions[0]["CodeSha256"]
        # The version runs the built package by its content address (kumo.packages.freeze): no copy.
        assert not (kumo.state_dir / "versions" / "keeper" / "1").exists()
    finally:
        kumo.stop()
    address = hashlib.sha256(package("victim")).hexdigest()
    stored = tmp_path / "state" / "code-store" / f"{address}.zip"
    stored.chmod(0o644)
    stored.write_bytes(b"altered on disk")
    kumo = KumoUp([], tmp_path)
    try:
        client = kumo.lambda_client()
        assert invoke(client, "keeper")["answer"] == "keeper"
        one = client.invoke(FunctionName="keeper", Qualifier="1", Payload=b"{}")
        assert json.loads(one["Payload"].read())["answer"] == "keeper"
        failed = client.get_function_configuration(FunctionName="victim")
        assert failed["State"] == "Failed" and failed["StateReasonCode"] == "InvalidZipFileException"
        assert "SHA-256" in failed["StateReason"]
        with pytest.raises(WaiterError) as waited:
            client.get_waiter("function_active_v2").wait(FunctionName="victim", WaiterConfig=WAIT)
        assert "failure state" in str(waited.value)
        with pytest.raises(ClientError) as refused:
            client.invoke(FunctionName="victim", Payload=b"{}")
        assert error_code(refused) == "ResourceConflictException"
        assert "Failed" in refused.value.response["Error"]["Message"]
    finally:
        kumo.stop()
