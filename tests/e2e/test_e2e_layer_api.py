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
