"""The instance sandbox (``kumo up`` as root): a spy function tries to reach other functions' code and
logs, the table files, the state directory and the gateway's environment, and every attempt fails,
while it reads its own code and writes its own TMPDIR normally. (The suite runs as root, as this
machine and CI do; as an ordinary user ``kumo up`` runs functions unsandboxed, see docs/security.md.)"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from kumo_up import KumoUp, function_manifest

VICTIM = """
import os

def handler(event, context):
    return {"victim": "original", "pid": os.getpid()}
"""

SPY = """
import os

def attempt(action):
    try:
        action()
        return "ok"
    except OSError as exc:
        return type(exc).__name__

def read(path):
    with open(path, "rb") as f:
        f.read(1)

def write(path):
    with open(path, "w") as f:
        f.write("def handler(event, context):\\n    return {'victim': 'owned'}\\n")

def handler(event, context):
    own = os.environ["LAMBDA_TASK_ROOT"]
    victim_copy = os.path.join(os.path.dirname(os.path.dirname(own)), "victim")
    tmp_file = os.path.join(os.environ["TMPDIR"], "scratch")
    with open(tmp_file, "w") as f:
        f.write("mine")
    results = {
        "own_code": attempt(lambda: read(os.path.join(own, "app.py"))),
        "own_code_write": attempt(lambda: write(os.path.join(own, "app.py"))),
        "own_code_new_file": attempt(lambda: write(os.path.join(own, "extra.py"))),
        "own_tmp": open(tmp_file).read(),
        "victim_copy_list": attempt(lambda: os.listdir(victim_copy)),
        "victim_copy_write": attempt(lambda: write(os.path.join(victim_copy, "x", "app.py"))),
        "sandbox_code_list": attempt(lambda: os.listdir(os.path.dirname(os.path.dirname(own)))),
        "parent_environ": attempt(lambda: read(f"/proc/{os.getppid()}/environ")),
        "gateway_environ": attempt(lambda: read(f"/proc/{event['gateway_pid']}/environ")),
        "gateway_mem": attempt(lambda: read(f"/proc/{event['gateway_pid']}/mem")),
        "state_list": attempt(lambda: os.listdir(event["state_dir"])),
        "uid": os.getuid(),
        "env_keys": sorted(os.environ),
        "access_key_id": os.environ.get("AWS_ACCESS_KEY_ID"),
        "no_new_privs": open("/proc/self/status").read().split("NoNewPrivs:")[1].split()[0],
        "cap_eff": open("/proc/self/status").read().split("CapEff:")[1].split()[0],
        "cap_prm": open("/proc/self/status").read().split("CapPrm:")[1].split()[0],
    }
    for name, path in event["paths"].items():
        results["read_" + name] = attempt(lambda: read(path))
    for name, path in event["writes"].items():
        results["write_" + name] = attempt(lambda: write(path))
    return results
"""

TABLE = {
    "apiVersion": "kumo.dev/v1alpha1",
    "kind": "Table",
    "metadata": {"name": "secrets"},
    "spec": {"partitionKey": {"name": "id", "type": "S"}},
}


@pytest.fixture(scope="module")
def kumo(tmp_path_factory: pytest.TempPathFactory):
    up = KumoUp(
        [function_manifest("victim", VICTIM), function_manifest("spy", SPY), TABLE],
        tmp_path_factory.mktemp("sandbox"),
    )
    try:
        yield up
    finally:
        up.stop()


def invoke(kumo: KumoUp, name: str, event: dict) -> dict:
    answer = kumo.lambda_client().invoke(FunctionName=name, Payload=json.dumps(event).encode())
    body = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, body
    return body


def first_file(root: Path) -> Path:
    return next(p for p in sorted(root.rglob("*")) if p.is_file())


def test_spy_function_reaches_nothing_but_its_own(kumo: KumoUp):
    victim = invoke(kumo, "victim", {})
    assert victim["victim"] == "original"
    kumo.client("dynamodb").put_item(TableName="secrets", Item={"id": {"S": "k"}, "v": {"S": "secret"}})
    state = kumo.state_dir
    victim_code = first_file(state / "code" / "victim")
    paths = {
        "victim_code": str(victim_code),
        "victim_log": str(first_file(state / "logs" / "victim")),
        "table_file": str(first_file(state / "tables")),
        "credentials": str(state / "credentials.json"),
        "admin_token": str(state / "admin-token"),
        "victim_environ": f"/proc/{victim['pid']}/environ",
        "victim_process_mem": f"/proc/{victim['pid']}/mem",
    }
    writes = {"victim_code": str(victim_code), "state_file": str(state / "planted")}
    event = {"gateway_pid": kumo.proc.pid, "state_dir": str(state), "paths": paths, "writes": writes}
    body = invoke(kumo, "spy", event)

    assert body["own_code"] == "ok"
    assert body["own_tmp"] == "mine"
    assert body["own_code_write"] == "PermissionError"
    assert body["own_code_new_file"] == "PermissionError"
    assert body["uid"] >= 61000
    assert body["no_new_privs"] == "1"
    assert int(body["cap_eff"], 16) == 0 and int(body["cap_prm"], 16) == 0
    denied = {
        key: value
        for key, value in body.items()
        if key not in ("own_code", "own_tmp", "uid", "no_new_privs", "env_keys", "access_key_id")
    }
    denied = {k: v for k, v in denied.items() if not k.startswith("cap_") and not k.startswith("own_code_")}
    assert denied == dict.fromkeys(denied, "PermissionError"), body
    assert set(denied) >= {
        "victim_copy_list",
        "victim_copy_write",
        "sandbox_code_list",
        "parent_environ",
        "gateway_environ",
        "gateway_mem",
        "state_list",
        "read_victim_code",
        "read_victim_log",
        "read_table_file",
        "read_credentials",
        "read_admin_token",
        "read_victim_environ",
        "read_victim_process_mem",
        "write_victim_code",
        "write_state_file",
    }
    assert invoke(kumo, "victim", {}) == victim  # its code is untouched, the same instance still serves
    assert "instance sandbox off" not in kumo.output()


WHOAMI = """
import os
def handler(event, context):
    return {"uid": os.getuid(), "env_keys": sorted(os.environ), "access_key_id": os.environ.get("AWS_ACCESS_KEY_ID")}
"""

#: Everything an instance's environment may hold: Lambda's variables, the endpoint, its own key.
ALLOWED_ENV = {
    "PATH", "HOME", "LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR", "TZ", "LANG", "TMPDIR", "TEMP", "TMP",
    "PYTHONPATH", "_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL_DYNAMODB", "_X_AMZN_TRACE_ID",
    "LC_CTYPE",  # set by Python itself (PEP 538 locale coercion)
}  # fmt: skip


def allowed(key: str) -> bool:
    return key in ALLOWED_ENV or key.startswith("AWS_LAMBDA_")


def test_functions_get_their_own_uid_and_key_and_no_platform_secrets(kumo: KumoUp):
    spy = invoke(kumo, "spy", {"gateway_pid": kumo.proc.pid, "state_dir": "/", "paths": {}, "writes": {}})
    assert [key for key in spy["env_keys"] if not allowed(key)] == []
    assert spy["access_key_id"] != kumo.key.access_key_id  # its own key, not the default one
    victim_uid = invoke(kumo, "spy", {"gateway_pid": 1, "state_dir": "/", "paths": {}, "writes": {}})["uid"]
    assert victim_uid == spy["uid"]  # one uid per function, every instance


def test_sandbox_off_says_so_once_and_still_keeps_code_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KUMO_SANDBOX", "off")
    up = KumoUp([function_manifest("whoami", WHOAMI)], tmp_path)
    try:
        body = invoke(up, "whoami", {})
        assert body["uid"] == os.getuid()
        assert [key for key in body["env_keys"] if not allowed(key)] == []
        warnings = [line for line in up.output().splitlines() if "instance sandbox off" in line]
        assert len(warnings) == 1 and "WARNING" in warnings[0]
        code = next((up.state_dir / "code" / "whoami").glob("*/app.py"))
        assert stat.S_IMODE(code.stat().st_mode) == 0o444
        assert stat.S_IMODE(up.state_dir.stat().st_mode) == 0o700
    finally:
        up.stop()


def test_a_malformed_uid_range_stops_kumo_up_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KUMO_SANDBOX_UIDS", "0-10")
    with pytest.raises(RuntimeError, match="KUMO_SANDBOX_UIDS='0-10'") as info:
        KumoUp([function_manifest("whoami", WHOAMI)], tmp_path)
    assert "Traceback" not in str(info.value)
