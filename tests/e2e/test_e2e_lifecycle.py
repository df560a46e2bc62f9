"""Starting and stopping ``kumo up``: refused manifests, the banner, and no orphaned processes."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import yaml
from kumo_up import KUMO, KumoUp, function_manifest
from support import wait_until

HELLO = "import os\n\ndef handler(event, context):\n    return {'pid': os.getpid()}\n"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_invalid_manifest_is_refused_with_file_object_and_field(tmp_path):
    bad = function_manifest("bad", HELLO, timeout="901s")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    done = subprocess.run([*KUMO, "up", str(path), "--port", "1"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "bad.yaml" in done.stderr
    assert "Function 'bad'" in done.stderr
    assert "spec.timeout" in done.stderr
    assert "Traceback" not in done.stderr


def test_banner_and_no_processes_left_after_sigterm(tmp_path):
    up = KumoUp([function_manifest("hello", HELLO, scaling={"maxInstances": 3})], tmp_path)
    try:
        pids = set()
        for _ in range(3):
            response = httpx.post(
                f"{up.url}/2015-03-31/functions/hello/invocations", json={}, timeout=30, auth=up.auth()
            )
            pids.add(response.json()["pid"])
        assert pids and all(_alive(pid) for pid in pids)
        assert "Kumo is up" in up.output()
        assert f"curl -X POST {up.url}/2015-03-31/functions/hello/invocations" in up.output()
        assert f"export AWS_ACCESS_KEY_ID={up.key.access_key_id}" in up.output()
        assert f"export AWS_ENDPOINT_URL={up.url}" in up.output()
    finally:
        code = up.stop()
    assert code == 0, up.output()
    wait_until(lambda: not [p for p in pids if _alive(p)], timeout=5, what="the instances to exit")
    assert "Traceback" not in up.output()


def test_hello_example_answers_over_curl_and_boto3(tmp_path):
    import json
    from pathlib import Path

    up = KumoUp([], tmp_path, paths=[Path(__file__).parents[2] / "examples" / "hello"])
    try:
        response = httpx.get(f"{up.url}/hello/dev/hello", params={"name": "kumo"}, timeout=30)
        assert response.status_code == 200
        assert response.json() == {"message": "Hello, kumo!"}
        result = up.lambda_client().invoke(FunctionName="hello", Payload=b'{"name": "boto3"}')
        assert json.loads(result["Payload"].read()) == {"message": "Hello, boto3!"}
        assert "curl 'http://127.0.0.1:" in up.output()
    finally:
        assert up.stop() == 0


def test_kumo_version():
    done = subprocess.run([sys.executable, "-m", "kumo_cli", "version"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.startswith("kumo ")
