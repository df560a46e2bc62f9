"""Helpers of the async end-to-end tests: functions that record what they saw, Redis of a ``kumo up``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path

import redis

#: Appends ``request_id time event`` to $OUT_DIR/<function>.log; fails while $OUT_DIR/fail-<tag> exists.
RECORDER = """
import json, os, time

def handler(event, context):
    out = os.environ["OUT_DIR"]
    with open(os.path.join(out, context.function_name + ".log"), "a") as f:
        f.write(json.dumps({"id": context.aws_request_id, "t": time.time(), "event": event}) + "\\n")
    if isinstance(event, dict) and event.get("sleep"):
        time.sleep(event["sleep"])
    tag = event.get("tag") if isinstance(event, dict) else None
    if tag and os.path.exists(os.path.join(out, "fail-" + tag)):
        raise RuntimeError("failing on purpose: " + tag)
    return {"echo": event}
"""


def seen(out_dir: Path, function: str) -> list[dict]:
    path = out_dir / f"{function}.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def private_redis(state_dir: Path) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(state_dir / "redis" / "redis.sock"))


def worker_pids(kumo_pid: int) -> list[int]:
    """The ``kumo worker`` processes a ``kumo up`` started (they carry ``--exit-with-parent <its pid>``)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = (Path("/proc") / entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"worker" in argv and b"--exit-with-parent" in argv and str(kumo_pid).encode() in argv:
            pids.append(int(entry))
    return pids


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
