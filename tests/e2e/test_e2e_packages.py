"""Deployment packages through a real `kumo up`: requirements (real pip), the cache, zips, failures."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from kumo_up import KUMO, KumoUp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "local"))
from test_package_build import make_wheel

APP = """
import os, six, kumotiny

def handler(event, context):
    return {"six": six.__version__, "six_file": six.__file__, "tiny": kumotiny.VALUE,
            "task_root": os.environ["LAMBDA_TASK_ROOT"], "cwd": os.getcwd()}
"""


def manifest(name: str, code: dict[str, object]) -> dict[str, object]:
    spec = {"runtime": "python3.11", "handler": "app.handler", "code": code}
    return {"apiVersion": "kumo.dev/v1alpha1", "kind": "Function", "metadata": {"name": name}, "spec": spec}


def invoke(kumo: KumoUp, name: str) -> tuple[dict[str, object], object]:
    result = kumo.lambda_client().invoke(FunctionName=name, Payload=b"{}")
    return result, json.loads(result["Payload"].read())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Manifest folder content: src/ + requirements.txt (six from PyPI + a local wheel), zips."""
    manifests = tmp_path / "manifests"
    (manifests / "src").mkdir(parents=True)
    (manifests / "src" / "app.py").write_text(APP)
    wheel = make_wheel(tmp_path)
    (manifests / "requirements.txt").write_text(f"six==1.16.0\n{wheel}\n")
    with zipfile.ZipFile(manifests / "pkg.zip", "w") as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return {'zipped': True}\n")
    with zipfile.ZipFile(manifests / "evil.zip", "w") as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return 1\n")
        archive.writestr("../../escape.py", "X = 1\n")
    return tmp_path


def test_packages_built_once_shared_and_reused_across_restart(project: Path) -> None:
    functions = [
        manifest("withdeps", {"path": "src", "requirements": "requirements.txt"}),
        manifest("twin", {"path": "src", "requirements": "requirements.txt"}),
        manifest(
            "broken", {"inline": {"app.py": APP}, "requirements": [str(project / "nosuchpkg_kumo-1-py3-none-any.whl")]}
        ),
        manifest("zipped", {"zip": "pkg.zip"}),
        manifest("evil", {"zip": "evil.zip"}),
    ]
    kumo = KumoUp(functions, project)
    try:
        result, body = invoke(kumo, "withdeps")
        assert "FunctionError" not in result, body
        packages = kumo.state_dir.resolve() / "packages"
        assert isinstance(body, dict)
        assert body["six"] == "1.16.0" and body["tiny"] == "1.0"
        root = Path(str(body["task_root"]))
        # the package dir as is, or the sandbox's copy of it for the function's uid (local/sandbox.py)
        (address,) = [p.name for p in packages.iterdir() if p.name in str(root) and (p / "six.py").is_file()]
        assert str(body["six_file"]).startswith(str(root))
        assert body["cwd"] == str(root)
        _, twin = invoke(kumo, "twin")
        assert isinstance(twin, dict) and address in str(twin["task_root"])  # the same package, one build

        _, zipped = invoke(kumo, "zipped")
        assert zipped == {"zipped": True}
        for name, words in [
            ("broken", ["function 'broken'", "nosuchpkg_kumo", "No such file or directory"]),
            ("evil", ["function 'evil'", "evil.zip", "'..'"]),
        ]:
            with pytest.raises(Exception) as caught:  # any refusal: the log says why
                invoke(kumo, name)
            line = next(line for line in kumo.output().splitlines() if f"package not built: function '{name}'" in line)
            assert all(word in line for word in words), line
            # Lambda's answer for a function whose creation failed: 409, State Failed
            assert "ResourceConflictException" in str(caught.value), caught.value
            assert "in the following state: Failed" in str(caught.value), caught.value
        assert not list(packages.glob(".staging-*"))  # nothing half-built
        output = kumo.output()
        assert output.count("installing six==1.16.0") == 1  # twin reused withdeps' package
    finally:
        kumo.stop()

    again = KumoUp(functions, project)  # a restart on the same state dir: the cache is reused
    try:
        _, body = invoke(again, "withdeps")
        assert isinstance(body, dict) and address in str(body["task_root"])
        assert "installing six" not in again.output()  # no second pip run for it
    finally:
        again.stop()


BOOTSTRAP = """#!/usr/bin/env python3
# A custom runtime: the Lambda Runtime API loop, standard library only.
import json, os, urllib.request

api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as response:
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(response.read() or b"null")
    body = json.dumps({"event": event, "handler": os.environ["_HANDLER"],
                       "task_root": os.environ["LAMBDA_TASK_ROOT"], "cwd": os.getcwd()}).encode()
    urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=body, method="POST")).read()
"""


def test_custom_runtime_bootstrap_from_manifest(tmp_path: Path) -> None:
    code = tmp_path / "manifests" / "custom"
    code.mkdir(parents=True)
    (code / "bootstrap").write_text(BOOTSTRAP)
    (code / "bootstrap").chmod(0o755)
    functions = [
        {
            **manifest("custom", {"path": "custom"}),
            "spec": {"runtime": "provided.al2023", "handler": "my.handler", "code": {"path": "custom"}},
        },
        {
            **manifest("custom-inline", {}),
            "spec": {"runtime": "provided", "handler": "my.handler", "code": {"inline": {"bootstrap": BOOTSTRAP}}},
        },
    ]
    kumo = KumoUp(functions, tmp_path)
    try:
        for name in ("custom", "custom-inline"):
            result, body = invoke(kumo, name)
            assert "FunctionError" not in result, body
            assert isinstance(body, dict) and body["event"] == {} and body["handler"] == "my.handler"
            assert body["cwd"] == body["task_root"]
    finally:
        kumo.stop()


LAYERED = """
import os, subprocess, sys
import shared, onlya, sitepkg

def handler(event, context):
    opt = os.environ["KUMO_OPT_DIR"]
    return {"shared": shared.WHO, "onlya": onlya.X, "sitepkg": sitepkg.Y,
            "path": [p for p in sys.path if p.startswith(opt) or p == os.environ["LAMBDA_TASK_ROOT"]],
            "opt": opt, "task_root": os.environ["LAMBDA_TASK_ROOT"],
            "hello": subprocess.run(["hello-a"], capture_output=True, text=True).stdout.strip()}
"""


def test_layers_shared_by_two_functions(tmp_path: Path) -> None:
    state = tmp_path / "state"
    layer_a = tmp_path / "layer-a"
    (layer_a / "python").mkdir(parents=True)
    (layer_a / "bin").mkdir()
    (layer_a / "python" / "shared.py").write_text("WHO = 'a'\n")
    (layer_a / "python" / "onlya.py").write_text("X = 1\n")
    (layer_a / "bin" / "hello-a").write_text("#!/bin/sh\necho hello from a\n")
    (layer_a / "bin" / "hello-a").chmod(0o755)
    layer_b = tmp_path / "layer-b.zip"
    with zipfile.ZipFile(layer_b, "w") as archive:
        archive.writestr("python/shared.py", "WHO = 'b'\n")
        archive.writestr("python/lib/python3.11/site-packages/sitepkg.py", "Y = 2\n")
    for name, path, expected in [("a", layer_a, 1), ("b", layer_b, 1), ("a", layer_a, 2)]:
        done = subprocess.run(
            [*KUMO, "layer", "publish", name, str(path), "--state-dir", str(state)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert done.stdout.strip() == f"layer {name}: version {expected} in {state}"
    refused = subprocess.run(
        [*KUMO, "layer", "publish", "c", str(tmp_path / "nope"), "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1 and "no such file or directory" in refused.stderr
    functions = [
        {
            **manifest("one", {}),
            "spec": {**manifest("one", {"inline": {"app.py": LAYERED}})["spec"], "layers": ["a", "b:1"]},
        },
        {
            **manifest("two", {}),
            "spec": {
                **manifest("two", {"inline": {"app.py": LAYERED, "shared.py": "WHO = 'own'\n"}})["spec"],
                "layers": ["a:2", "b"],
            },
        },
        {
            **manifest("missing", {}),
            "spec": {**manifest("missing", {"inline": {"app.py": LAYERED}})["spec"], "layers": ["zzz"]},
        },
    ]
    kumo = KumoUp(functions, tmp_path)
    try:
        _, one = invoke(kumo, "one")
        _, two = invoke(kumo, "two")
        assert isinstance(one, dict) and isinstance(two, dict), (one, two)
        assert (one["shared"], two["shared"]) == ("b", "own")  # later layer wins; the function's own code first
        assert one["onlya"] == two["onlya"] == 1 and one["sitepkg"] == two["sitepkg"] == 2
        opt = str(one["opt"])
        assert one["path"] == [one["task_root"], f"{opt}/python/lib/python3.11/site-packages", f"{opt}/python"]
        assert one["hello"] == two["hello"] == "hello from a"
        merged = list((state / "packages").glob("opt-*"))
        assert len(merged) == 1  # [a, b:1] and [a:2, b] name the same versions: one merged dir
        with pytest.raises(Exception, match=r"state: Failed\. StateReason: .*function 'missing': layer 'zzz' has no"):
            invoke(kumo, "missing")
        assert "layer 'zzz' has no published version" in kumo.output()
    finally:
        kumo.stop()
