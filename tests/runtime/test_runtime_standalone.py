"""``python -m kumo.runtime.standalone`` as a real process: serves, replaces dead instances, exits on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from runtime_support import write_function

APP = """
import os
def handler(event, context):
    if event.get("crash"):
        os._exit(5)
    return {"pid": os.getpid(), "greeting": os.environ.get("GREETING")}
"""


def _listening_port(proc: subprocess.Popen, deadline_s: float = 20.0) -> int:
    assert proc.stderr is not None
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        line = proc.stderr.readline()
        if not line:
            break
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if match:
            return int(match.group(1))
    raise AssertionError(f"no listening line (exit code {proc.poll()})")


def test_standalone_serves_replaces_and_stops(tmp_path: Path):
    code_dir = write_function(tmp_path / "fn", {"app.py": APP})
    env = {
        "PATH": os.environ.get("PATH", ""),
        "KUMO_FUNCTION_NAME": "solo",
        "KUMO_HANDLER": "app.handler",
        "KUMO_RUNTIME": "python3.11",
        "KUMO_CODE_DIR": str(code_dir),
        "KUMO_ENVIRONMENT": json.dumps({"GREETING": "hej"}),
        "KUMO_HOST": "127.0.0.1",
        "KUMO_PORT": "0",
        "KUMO_LOG_DIR": str(tmp_path / "logs"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "kumo.runtime.standalone"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = _listening_port(proc)
        url = f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
        with httpx.Client(timeout=20) as client:
            first = client.post(url, content=b"{}")
            assert first.status_code == 200, first.text
            assert first.json()["greeting"] == "hej"
            pid1 = first.json()["pid"]
            crash = client.post(url, content=b'{"crash": true}')
            assert crash.headers["X-Amz-Function-Error"] == "Unhandled"
            assert crash.headers["X-Kumo-Instance-Reusable"] == "false"
            assert crash.json()["errorType"] == "Runtime.ExitError"
            after = client.post(url, content=b"{}")  # served by a fresh instance
            assert after.status_code == 200, after.text
            pid2 = after.json()["pid"]
            assert pid2 != pid1
            assert os.path.exists(f"/proc/{pid2}")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert not os.path.exists(f"/proc/{pid2}")
        logs = list((tmp_path / "logs" / "solo").glob("*.log"))
        assert len(logs) == 2
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def test_standalone_refuses_missing_configuration(tmp_path: Path):
    out = subprocess.run(
        [sys.executable, "-m", "kumo.runtime.standalone"],
        env={"PATH": os.environ.get("PATH", ""), "KUMO_HANDLER": "app.handler"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 2
    assert "KUMO_FUNCTION_NAME" in out.stderr and "Traceback" not in out.stderr
