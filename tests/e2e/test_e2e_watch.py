"""``kumo up`` follows edits of its manifests: a real ``kumo up`` on a temp manifest file that the tests edit."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from kumo_up import KumoUp, function_manifest, shared_dir
from support import wait_until

#: Answers what the manifest says it answers; with ``marker`` in the event, touches that file first
#: (so a test knows the invocation is running), then sleeps ``sleep`` seconds.
SOURCE = """
import os, pathlib, time
ANSWER = {answer!r}

def handler(event, context):
    if event.get("marker"):
        pathlib.Path(event["marker"]).write_text("running")
    time.sleep(event.get("sleep", 0))
    return {{"answer": ANSWER, "pid": os.getpid()}}
"""


def edited(answer: str, **spec: Any) -> dict[str, Any]:
    return function_manifest("edited", SOURCE.format(answer=answer), timeout="30s", **spec)


def keeper() -> dict[str, Any]:
    return function_manifest("keeper", SOURCE.format(answer="kept"))


@pytest.fixture
def up(tmp_path):
    kumo = KumoUp([edited("one"), keeper()], tmp_path, args=["--watch-interval", "0.1"])
    try:
        yield kumo
    finally:
        kumo.stop()


def invoke(up: KumoUp, name: str, event: dict[str, Any] | None = None) -> dict[str, Any]:
    response = up.lambda_client().invoke(FunctionName=name, Payload=json.dumps(event or {}).encode())
    assert "FunctionError" not in response, response
    return json.loads(response["Payload"].read())


def pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_code_edit_rolls_latest_and_in_flight_invocation_finishes_on_old_code(up, tmp_path):
    first = invoke(up, "edited")
    assert first["answer"] == "one"
    marker = shared_dir(tmp_path) / "in-flight"
    slow: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: slow.update(invoke(up, "edited", {"sleep": 3, "marker": str(marker)})))
    thread.start()
    try:
        wait_until(marker.exists, timeout=10, what="the slow invocation to be running")
        up.write_manifests([edited("two"), keeper()])
        seen_old_pids = {first["pid"]}

        def new_answer() -> bool:
            result = invoke(up, "edited")
            if result["answer"] == "one":
                seen_old_pids.add(result["pid"])
            return result["answer"] == "two" and result

        second = wait_until(new_answer, timeout=10, interval=0.1, what="the edited code to answer")
        assert second["pid"] not in seen_old_pids
        assert not slow  # still running on the old instance
    finally:
        thread.join(timeout=30)
    assert slow["answer"] == "one"  # the in-flight invocation finished on the old code
    assert slow["pid"] == first["pid"]
    for pid in seen_old_pids:
        wait_until(lambda pid=pid: pid_gone(pid), timeout=10, what=f"old instance {pid} to stop after draining")
    assert not pid_gone(second["pid"])  # the new instance keeps serving
    assert invoke(up, "edited")["pid"] == second["pid"]
    assert "manifests reloaded: Function edited changed ($LATEST rolled)" in up.output()


def test_invalid_edit_is_refused_naming_file_and_field_then_a_fixed_edit_applies(up):
    assert invoke(up, "edited")["answer"] == "one"
    bad = edited("bad", memory="1Ki")
    up.write_manifests([bad, keeper()])
    path = str(up.manifest_path)

    def refused_line() -> str | None:
        lines = [line for line in up.output().splitlines() if " ERROR " in line and "edit refused" in line]
        return lines[-1] if lines else None

    line = wait_until(refused_line, timeout=10, what="the ERROR line refusing the edit")
    assert path in line and "Function 'edited'" in line and "spec.memory" in line
    for _ in range(5):  # the previous $LATEST keeps serving
        assert invoke(up, "edited")["answer"] == "one"
    up.write_manifests([edited("fixed"), keeper()])
    wait_until(lambda: invoke(up, "edited")["answer"] == "fixed", timeout=10, interval=0.1, what="the fixed edit")


def test_removed_function_answers_404_added_function_and_api_are_served(up):
    assert invoke(up, "keeper")["answer"] == "kept"
    shop = {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Api",
        "metadata": {"name": "shop"},
        "spec": {"routes": [{"method": "GET", "path": "/hi", "function": "added"}], "stages": [{"name": "dev"}]},
    }
    assert httpx.get(f"{up.url}/shop/dev/hi").status_code == 404  # no such Api yet
    up.write_manifests([keeper(), function_manifest("added", SOURCE.format(answer="new")), shop])
    client = up.lambda_client()

    def removed() -> bool:
        try:
            client.invoke(FunctionName="edited", Payload=b"{}")
        except client.exceptions.ResourceNotFoundException:
            return True
        return False

    wait_until(removed, timeout=10, interval=0.1, what="the removed function to answer 404")
    assert invoke(up, "added")["answer"] == "new"
    assert invoke(up, "keeper")["answer"] == "kept"
    routed = httpx.get(f"{up.url}/shop/dev/hi", timeout=10)
    assert routed.status_code == 200 and routed.json()["answer"] == "new"


def test_watch_interval_zero_does_not_follow_edits(tmp_path):
    kumo = KumoUp([edited("one")], tmp_path, args=["--watch-interval", "0"])
    try:
        assert invoke(kumo, "edited")["answer"] == "one"
        kumo.write_manifests([edited("two")])
        Path(kumo.manifest_path).touch()
        time.sleep(1.0)  # ten default poll intervals: a watcher would have applied the edit by now
        for _ in range(10):
            assert invoke(kumo, "edited")["answer"] == "one"
        assert "watching" not in kumo.output()
    finally:
        kumo.stop()
