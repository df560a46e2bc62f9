"""Packages are rebuilt on manifest reload: new requirements take effect, a broken package is fixed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from kumo_up import KumoUp
from support import wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "local"))
from test_package_build import make_wheel

APP = """
import kumotiny

def handler(event, context):
    return {"tiny": kumotiny.VALUE}
"""


def manifest(name: str, requirement: str) -> dict[str, Any]:
    code = {"inline": {"app.py": APP}, "requirements": [requirement]}
    spec = {"runtime": "python3.11", "handler": "app.handler", "code": code}
    return {"apiVersion": "kumo.dev/v1alpha1", "kind": "Function", "metadata": {"name": name}, "spec": spec}


def tiny_value(kumo: KumoUp, name: str) -> object:
    response = kumo.lambda_client().invoke(FunctionName=name, Payload=b"{}")
    body = json.loads(response["Payload"].read())
    return None if "FunctionError" in response else body.get("tiny")


def test_reload_rebuilds_changed_packages_and_fixes_broken_ones(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    one, two = make_wheel(wheels, version="1.0"), make_wheel(wheels, version="2.0")
    missing = str(wheels / "kumotiny-9.0-py3-none-any.whl")
    (tmp_path / "manifests" / "src").mkdir(parents=True)
    (tmp_path / "manifests" / "src" / "app.py").write_text(APP)
    pathcode = manifest("pathcode", str(one))
    pathcode["spec"]["code"] = {"path": "src", "requirements": [str(one)]}
    functions = [manifest("upgraded", str(one)), manifest("fixed", missing), pathcode]
    kumo = KumoUp(functions, tmp_path, args=["--watch-interval", "0.1"])
    try:
        assert tiny_value(kumo, "upgraded") == "1.0"
        assert "package not built: function 'fixed'" in kumo.output()
        client = kumo.lambda_client()
        assert client.publish_version(FunctionName="upgraded")["Version"] == "1"  # freezes the 1.0 package
        with pytest.raises(ClientError) as refused:  # no package to freeze: refused with the build's reason
            client.publish_version(FunctionName="fixed")
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
        assert "installing requirement(s)" in refused.value.response["Error"]["Message"]
        assert client.get_function_configuration(FunctionName="pathcode")["Runtime"] == "python3.11"

        kumo.write_manifests([manifest("upgraded", str(two)), manifest("fixed", str(one)), pathcode])
        wait_until(
            lambda: tiny_value(kumo, "upgraded") == "2.0", timeout=60, what="upgraded package", ignore=(Exception,)
        )
        wait_until(lambda: tiny_value(kumo, "fixed") == "1.0", timeout=60, what="fixed package", ignore=(Exception,))
        assert tiny_value(kumo, "upgraded:1") == "1.0"  # the version keeps the package it was published with
        packages = kumo.state_dir / "packages"
        built = [p for p in packages.iterdir() if (p / "kumotiny").is_dir()]
        assert len(built) == 2  # 1.0 and 2.0: fixed now has upgraded's first code + requirements, so its package
        assert not list(packages.glob(".staging-*"))
    finally:
        kumo.stop()
