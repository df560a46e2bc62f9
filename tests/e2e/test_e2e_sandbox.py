"""The instance sandbox (``kumo up`` as root): a spy function tries to reach other functions' code and
logs, the table files, the state directory and the gateway's environment, and every attempt fails,
while it reads its own code and writes its own TMPDIR normally. (The suite runs as root, as this
machine and CI do; as an ordinary user ``kumo up`` runs functions unsandboxed, see docs/security.md.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kumo_up import KumoUp, function_manifest

VICTIM = """
def handler(event, context):
    return {"victim": "original"}
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
    assert invoke(kumo, "victim", {}) == {"victim": "original"}
    kumo.client("dynamodb").put_item(TableName="secrets", Item={"id": {"S": "k"}, "v": {"S": "secret"}})
    state = kumo.state_dir
    victim_code = first_file(state / "code" / "victim")
    paths = {
        "victim_code": str(victim_code),
        "victim_log": str(first_file(state / "logs" / "victim")),
        "table_file": str(first_file(state / "tables")),
        "credentials": str(state / "credentials.json"),
        "admin_token": str(state / "admin-token"),
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
    denied = {key: value for key, value in body.items() if key not in ("own_code", "own_tmp", "uid", "no_new_privs")}
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
        "write_victim_code",
        "write_state_file",
    }
    assert invoke(kumo, "victim", {}) == {"victim": "original"}  # its code is untouched
    assert "instance sandbox off" not in kumo.output()


def test_functions_get_distinct_uids_and_no_platform_secrets(kumo: KumoUp):
    spy = invoke(kumo, "spy", {"gateway_pid": kumo.proc.pid, "state_dir": "/", "paths": {}, "writes": {}})
    assert spy["uid"] >= 61000
    admin_token = kumo.admin_token
    default_secret = kumo.key.secret_access_key
    for line in kumo.output().splitlines():
        assert admin_token not in line
    assert default_secret  # the instance's environment is checked in tests/runtime (only its own key)
