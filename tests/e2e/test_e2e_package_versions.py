"""Versions of deployment-package functions through a real ``kumo up`` and boto3: a published version
freezes the content-addressed package and the exact layer versions, survives edits, reloads and restarts."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from kumo_up import KUMO, KumoUp
from support import wait_until

APP = """
import greeting

CODE = {code!r}

def handler(event, context):
    return {{"code": CODE, "layer": greeting.WORD, "version": context.function_version}}
"""
ZIPPED = "def handler(event, context):\n    return {'zipped': %r}\n"


def function(name: str, code: dict[str, Any], layers: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"runtime": "python3.11", "handler": "app.handler", "code": code}
    if layers:
        spec["layers"] = layers
    return {"apiVersion": "kumo.dev/v1alpha1", "kind": "Function", "metadata": {"name": name}, "spec": spec}


MANIFESTS = [function("pathfn", {"path": "src"}, ["words"]), function("zipfn", {"zip": "pkg.zip"})]


def publish_layer(state: Path, source: Path, expected: int) -> None:
    done = subprocess.run(
        [*KUMO, "layer", "publish", "words", str(source), "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == f"layer words: version {expected} in {state}"


def write_layer(root: Path, word: str) -> Path:
    (root / "python").mkdir(parents=True, exist_ok=True)
    (root / "python" / "greeting.py").write_text(f"WORD = {word!r}\n")
    return root


def call(kumo: KumoUp, name: str) -> dict[str, Any]:
    response = kumo.lambda_client().invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


def test_versions_freeze_package_and_layers_across_edits_reloads_and_restarts(tmp_path: Path) -> None:
    state, manifests = tmp_path / "state", tmp_path / "manifests"
    (manifests / "src").mkdir(parents=True)
    (manifests / "src" / "app.py").write_text(APP.format(code="one"))
    zip_path = manifests / "pkg.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("app.py", ZIPPED % "first")
    zip_sha = base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()
    publish_layer(state, write_layer(tmp_path / "layer-1", "hello"), 1)

    kumo = KumoUp(MANIFESTS, tmp_path, args=["--watch-interval", "0.1"])
    try:
        client = kumo.lambda_client()
        assert call(kumo, "pathfn") == {"code": "one", "layer": "hello", "version": "$LATEST"}
        latest_sha = client.get_function_configuration(FunctionName="pathfn")["CodeSha256"]
        one = client.publish_version(FunctionName="pathfn", CodeSha256=latest_sha, Description="first")
        assert (one["Version"], one["CodeSha256"]) == ("1", latest_sha)
        assert client.publish_version(FunctionName="pathfn")["Version"] == "1"  # nothing changed: same version
        zipped = client.publish_version(FunctionName="zipfn")
        assert (zipped["Version"], zipped["CodeSha256"], zipped["CodeSize"]) == ("1", zip_sha, zip_path.stat().st_size)

        # Edit the code dir, publish a new layer version, replace the zip; a manifest save reloads.
        (manifests / "src" / "app.py").write_text(APP.format(code="two"))
        publish_layer(state, write_layer(tmp_path / "layer-2", "bonjour"), 2)
        with zipfile.ZipFile(zip_path, "w") as archive:
            archive.writestr("app.py", ZIPPED % "second")
        kumo.write_manifests(MANIFESTS)
        wait_until(
            lambda: call(kumo, "pathfn")["code"] == "two", timeout=60, what="$LATEST rebuilt", ignore=(Exception,)
        )
        assert call(kumo, "pathfn") == {"code": "two", "layer": "bonjour", "version": "$LATEST"}
        assert call(kumo, "pathfn:1") == {"code": "one", "layer": "hello", "version": "1"}
        assert call(kumo, "zipfn") == {"zipped": "second"} and call(kumo, "zipfn:1") == {"zipped": "first"}
        listed = {v["Version"]: v for v in client.list_versions_by_function(FunctionName="pathfn")["Versions"]}
        assert listed["1"]["CodeSha256"] == latest_sha != listed["$LATEST"]["CodeSha256"]
        assert listed["1"]["Description"] == "first"
        two = client.publish_version(FunctionName="pathfn")
        assert two["Version"] == "2" and two["CodeSha256"] == listed["$LATEST"]["CodeSha256"]
        assert "package or layers changed ($LATEST rolled)" in kumo.output()
    finally:
        kumo.stop()

    record = json.loads((state / "versions" / "pathfn" / "versions.json").read_text())
    frozen = {item["version"]: item for item in record["versions"]}
    assert frozen["1"]["spec"]["layers"] == ["words:1"] and frozen["2"]["spec"]["layers"] == ["words:2"]
    assert base64.b64encode(bytes.fromhex(frozen["1"]["package"])).decode() == latest_sha
    assert (state / "packages" / frozen["1"]["package"] / "app.py").is_file()
    assert not (state / "versions" / "pathfn" / "1").exists()  # the package is kept by address, not copied

    kumo = KumoUp(MANIFESTS, tmp_path)  # a restart over the same state dir keeps every version runnable
    try:
        assert call(kumo, "pathfn:1") == {"code": "one", "layer": "hello", "version": "1"}
        assert call(kumo, "pathfn:2") == {"code": "two", "layer": "bonjour", "version": "2"}
        assert call(kumo, "zipfn:1") == {"zipped": "first"}
    finally:
        kumo.stop()
