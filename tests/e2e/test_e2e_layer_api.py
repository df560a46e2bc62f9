"""boto3's layer calls against `kumo up`: publish (ZipFile), list, get; the layer serves a function on reload."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from kumo_up import KUMO, KumoUp, function_manifest
from support import wait_until

USES_LAYER = """
import shared_helper

def handler(event, context):
    return {"helper": shared_helper.WHO}
"""


def layer_zip(who: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/shared_helper.py", f"WHO = {who!r}\n")
    return buffer.getvalue()


def test_publish_list_get_layer_versions_with_boto3(tmp_path: Path) -> None:
    plain = function_manifest("plain", "def handler(e, c):\n    return 1\n")
    kumo = KumoUp([plain], tmp_path, args=["--watch-interval", "0.1"])
    try:
        client = kumo.lambda_client()
        first = client.publish_layer_version(
            LayerName="helpers", Content={"ZipFile": layer_zip("one")}, Description="first"
        )
        second = client.publish_layer_version(LayerName="helpers", Content={"ZipFile": layer_zip("two")})
        assert (first["Version"], second["Version"]) == (1, 2)
        assert first["LayerVersionArn"].endswith(":layer:helpers:1") and first["Description"] == "first"
        assert first["Content"]["CodeSize"] == len(layer_zip("one"))

        layers = client.list_layers()["Layers"]
        assert [(layer["LayerName"], layer["LatestMatchingVersion"]["Version"]) for layer in layers] == [("helpers", 2)]
        got = client.get_layer_version(LayerName="helpers", VersionNumber=1)
        assert got["Description"] == "first" and got["Version"] == 1
        listed = client.list_layer_versions(LayerName="helpers")["LayerVersions"]
        assert [v["Version"] for v in listed] == [2, 1]
        assert client.get_layer_version_by_arn(Arn=first["LayerVersionArn"])["Description"] == "first"
        with pytest.raises(ClientError) as not_arn:
            client.get_layer_version_by_arn(Arn="arn:aws:lambda:us-east-1:000000000000:layer:helpers")
        assert not_arn.value.response["Error"]["Code"] == "InvalidParameterValueException"

        with pytest.raises(ClientError) as missing:
            client.get_layer_version(LayerName="helpers", VersionNumber=7)
        assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
        with pytest.raises(ClientError) as bad:  # a `..` entry: refused, no version taken
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("../evil.py", "X = 1\n")
            client.publish_layer_version(LayerName="helpers", Content={"ZipFile": buffer.getvalue()})
        assert bad.value.response["Error"]["Code"] == "InvalidParameterValueException"
        assert "'..'" in bad.value.response["Error"]["Message"]
        assert [v["Version"] for v in client.list_layer_versions(LayerName="helpers")["LayerVersions"]] == [2, 1]

        tools = tmp_path / "tools"
        (tools / "bin").mkdir(parents=True)
        (tools / "bin" / "hello-tool").write_text("#!/bin/sh\necho hi\n")
        (tools / "bin" / "hello-tool").chmod(0o755)
        cli = [*KUMO, "layer", "publish", "tools", str(tools), "--url", kumo.url, "--state-dir", str(kumo.state_dir)]
        done = subprocess.run(cli, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0 and "layer tools: version 1" in done.stdout, done.stderr
        stored = kumo.state_dir / "layers" / "tools" / "1" / "bin" / "hello-tool"
        assert stored.stat().st_mode & 0o111  # the mode survived the zip
        assert client.get_layer_version(LayerName="tools", VersionNumber=1)["Version"] == 1
        refused = subprocess.run(
            [*cli[:-4], "--url", kumo.url, "--state-dir", str(tmp_path / "nokeys")],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert refused.returncode == 1 and "kumo layer publish:" in refused.stderr  # unsigned: refused, said so

        def uses(ref: str) -> dict[str, Any]:
            return {
                **function_manifest("layered", USES_LAYER),
                "spec": {**function_manifest("layered", USES_LAYER)["spec"], "layers": [ref]},
            }

        kumo.write_manifests([plain, uses("helpers:1")])

        def helper() -> object:
            response = client.invoke(FunctionName="layered", Payload=b"{}")
            return None if "FunctionError" in response else json.loads(response["Payload"].read()).get("helper")

        wait_until(lambda: helper() == "one", timeout=60, what="layer version 1 served", ignore=(Exception,))

        client.delete_layer_version(LayerName="helpers", VersionNumber=2)  # the latest: its number stays taken
        assert [v["Version"] for v in client.list_layer_versions(LayerName="helpers")["LayerVersions"]] == [1]
        third = client.publish_layer_version(LayerName="helpers", Content={"ZipFile": layer_zip("three")})
        assert third["Version"] == 3
    finally:
        kumo.stop()


def function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", USES_LAYER)
    return buffer.getvalue()


def test_a_published_version_keeps_the_layer_versions_it_was_published_with(tmp_path: Path) -> None:
    kumo = KumoUp([], tmp_path)
    try:
        client = kumo.lambda_client()
        v1 = client.publish_layer_version(LayerName="helpers", Content={"ZipFile": layer_zip("one")})
        created = client.create_function(
            FunctionName="layered",
            Runtime="python3.12",
            Handler="app.handler",
            Role="arn:aws:iam::000000000000:role/layered",
            Code={"ZipFile": function_zip()},
            Layers=[v1["LayerVersionArn"]],
            Publish=True,
        )
        assert created["Version"] == "1"
        v2 = client.publish_layer_version(LayerName="helpers", Content={"ZipFile": layer_zip("two")})
        client.update_function_configuration(FunctionName="layered", Layers=[v2["LayerVersionArn"]])
        client.get_waiter("function_updated_v2").wait(
            FunctionName="layered", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )

        def helper(qualifier: str) -> object:
            response = client.invoke(FunctionName="layered", Qualifier=qualifier, Payload=b"{}")
            assert "FunctionError" not in response, response["Payload"].read()
            return json.loads(response["Payload"].read())["helper"]

        assert helper("1") == "one"  # the version runs the layer version it froze
        assert helper("$LATEST") == "two"
        shown = client.get_function_configuration(FunctionName="layered", Qualifier="1")["Layers"]
        assert shown == [{"Arn": v1["LayerVersionArn"], "CodeSize": v1["Content"]["CodeSize"]}]
        latest = client.get_function(FunctionName="layered")["Configuration"]["Layers"]
        assert latest == [{"Arn": v2["LayerVersionArn"], "CodeSize": v2["Content"]["CodeSize"]}]

        second = client.publish_version(FunctionName="layered")  # only the layer changed: a new version
        assert second["Version"] == "2" and second["Layers"] == latest
        assert client.publish_version(FunctionName="layered")["Version"] == "2"  # nothing changed since
        assert helper("2") == "two"
        client.delete_layer_version(LayerName="helpers", VersionNumber=1)  # functions using it keep it
    finally:
        kumo.stop()
    kumo = KumoUp([], tmp_path)  # the same state dir: versions and their layers survive a restart
    try:
        client = kumo.lambda_client()
        response = client.invoke(FunctionName="layered", Qualifier="1", Payload=b"{}")
        assert json.loads(response["Payload"].read()) == {"helper": "one"}
        shown = client.get_function(FunctionName="layered", Qualifier="1")["Configuration"]["Layers"]
        assert [layer["Arn"] for layer in shown] == [v1["LayerVersionArn"]]
    finally:
        kumo.stop()
