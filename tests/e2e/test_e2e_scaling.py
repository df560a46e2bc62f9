"""Cold starts, concurrency limits and scale to zero in local mode."""

from __future__ import annotations

import os
import stat
import tempfile
from concurrent.futures import ThreadPoolExecutor

import httpx
from support import wait_until


def _invoke_http(kumo, name: str, payload: dict) -> httpx.Response:
    return httpx.post(f"{kumo.url}/2015-03-31/functions/{name}/invocations", json=payload, timeout=60, auth=kumo.auth())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_concurrent_requests_start_more_instances_up_to_the_limit(kumo):
    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(lambda _: _invoke_http(kumo, "wide", {"sleep": 1.0}), range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert len({r.json()["pid"] for r in responses}) == 3


def test_never_more_than_max_instances_and_excess_requests_wait(kumo):
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: _invoke_http(kumo, "sleepy", {"sleep": 0.3}), range(8)))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    pids = {r.json()["pid"] for r in responses}
    assert len(pids) == 2


def test_scale_to_zero_after_idle_timeout_and_cold_start_again(kumo):
    first = _invoke_http(kumo, "idle", {}).json()
    second = _invoke_http(kumo, "idle", {}).json()
    assert second["pid"] == first["pid"] and second["count"] == 2
    wait_until(lambda: not _alive(first["pid"]), timeout=10, interval=0.1, what="the idle instance to be stopped")
    third = _invoke_http(kumo, "idle", {}).json()
    assert third["pid"] != first["pid"]
    assert third["count"] == 1  # a fresh instance ran its init code again


def test_instance_tmpdir_is_private_to_its_sandbox_uid(kumo):
    """As root (this suite), TMPDIRs live in the sandbox's directory, owned by the function's uid, 0700;
    without the sandbox they are under the state directory (tests/e2e/test_e2e_sandbox.py)."""
    body = _invoke_http(kumo, "echo", {}).json()
    assert body["tmpdir"].startswith(tempfile.gettempdir() + "/kumo-sandbox-")
    info = os.stat(body["tmpdir"])
    assert info.st_uid >= 61000 and stat.S_IMODE(info.st_mode) == 0o700
