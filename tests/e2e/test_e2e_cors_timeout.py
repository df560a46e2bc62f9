"""CORS, the 10 MB request limit and route timeouts through ``kumo up`` (real processes, real HTTP).

The function leaves a ``<tag>.start`` and a ``<tag>.end`` file (holding its pid) in ``MARKER_DIR`` per
invocation, so the tests see whether, when and where it ran even when the client got a 504.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kumo_up import KumoUp, function_manifest, shared_dir
from support import wait_until

SITE = "https://app.example.com"
MARKER = """
import json, os, time
from pathlib import Path

def handler(event, context):
    query = event.get("queryStringParameters") or {}
    tag = query.get("tag", context.aws_request_id)
    marks = Path(os.environ["MARKER_DIR"])
    (marks / f"{tag}.start").write_text(str(os.getpid()))
    time.sleep(float(query.get("sleep", 0)))
    (marks / f"{tag}.end").write_text(str(os.getpid()))
    headers = {"content-type": "application/json", "access-control-allow-origin": "*"}
    return {"statusCode": 200, "headers": headers, "body": json.dumps({"pid": os.getpid()})}
"""


def manifests(marker_dir: Path) -> list[dict[str, Any]]:
    return [
        function_manifest(
            "marker",
            MARKER,
            environment={"MARKER_DIR": str(marker_dir)},
            timeout="30s",
            scaling={"maxInstances": 2, "idleTimeout": "60s"},
        ),
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Api",
            "metadata": {"name": "web"},
            "spec": {
                "routes": [
                    {"method": "GET", "path": "/work", "function": "marker", "timeout": "1s"},
                    {"method": "GET", "path": "/fast", "function": "marker"},
                    {"method": "POST", "path": "/upload", "function": "marker"},
                ],
                "cors": {
                    "allowOrigins": [SITE],
                    "allowMethods": ["GET", "POST"],
                    "allowHeaders": ["content-type", "x-api-key"],
                    "maxAge": 300,
                },
            },
        },
    ]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def starts(marker_dir: Path) -> int:
    return len(list(marker_dir.glob("*.start")))


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KumoUp, Path]]:
    workdir = tmp_path_factory.mktemp("kumo-cors")
    marker_dir = shared_dir(workdir)  # functions run as their own uids (the instance sandbox)
    up = KumoUp(manifests(marker_dir), workdir)
    try:
        yield up, marker_dir
    finally:
        up.stop()


def test_preflight_answered_without_invoking(web: tuple[KumoUp, Path]) -> None:
    up, marks = web
    before = starts(marks)
    response = httpx.options(
        f"{up.url}/web/$default/work",
        headers={
            "Origin": SITE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key",
        },
    )
    assert (response.status_code, response.content) == (204, b"")
    assert response.headers["access-control-allow-origin"] == SITE
    assert response.headers["access-control-allow-methods"] == "GET,POST"
    assert response.headers["access-control-allow-headers"] == "content-type,x-api-key"
    assert response.headers["access-control-max-age"] == "300"
    assert response.headers["vary"] == "Origin"
    denied = httpx.options(
        f"{up.url}/web/$default/work",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert denied.status_code == 204
    assert "access-control-allow-origin" not in denied.headers
    assert starts(marks) == before


def test_cors_headers_replace_the_functions(web: tuple[KumoUp, Path]) -> None:
    up, _ = web
    response = httpx.get(f"{up.url}/web/$default/fast", headers={"Origin": SITE})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SITE  # not the function's "*"
    assert response.headers["vary"] == "Origin"
    other = httpx.get(f"{up.url}/web/$default/fast", headers={"Origin": "https://evil.example"})
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers


def test_body_over_10_mb_is_413_and_nothing_runs(web: tuple[KumoUp, Path]) -> None:
    up, marks = web
    before = starts(marks)
    response = httpx.post(f"{up.url}/web/$default/upload", content=b"x" * (11 * 1024 * 1024), timeout=60)
    assert (response.status_code, response.json()) == (413, {"message": "Request Entity Too Large"})
    assert starts(marks) == before
    assert httpx.post(f"{up.url}/web/$default/upload", content=b"small").status_code == 200


def test_route_timeout_504_then_the_function_finishes_and_its_instance_is_reused(web: tuple[KumoUp, Path]) -> None:
    up, marks = web
    warm = httpx.get(f"{up.url}/web/$default/fast").json()["pid"]
    started = time.monotonic()
    response = httpx.get(f"{up.url}/web/$default/work", params={"sleep": "4", "tag": "slow"}, headers={"Origin": SITE})
    elapsed = time.monotonic() - started
    assert (response.status_code, response.json()) == (504, {"message": "Endpoint request timed out"})
    assert 1.0 <= elapsed < 2.5, elapsed
    assert response.headers["access-control-allow-origin"] == SITE
    assert (marks / "slow.start").read_text() == str(warm)
    assert not (marks / "slow.end").exists()

    # The busy instance is not handed out: the next request gets another instance, at once.
    other = httpx.get(f"{up.url}/web/$default/fast")
    assert other.status_code == 200
    assert other.json()["pid"] != warm
    assert not (marks / "slow.end").exists()

    # The function runs to its end, and then its (warm) instance serves again.
    wait_until(lambda: (marks / "slow.end").exists(), timeout=30, what="the timed-out invocation to finish")
    assert (marks / "slow.end").read_text() == str(warm)
    wait_until(
        lambda: httpx.get(f"{up.url}/web/$default/fast").json()["pid"] == warm,
        timeout=5,
        what="the instance to be released and reused",
    )
    assert alive(warm)


def test_stopping_kumo_up_ends_a_function_still_running_after_its_504(tmp_path: Path) -> None:
    marks = shared_dir(tmp_path)

    up = KumoUp(manifests(marks), tmp_path)
    try:
        response = httpx.get(f"{up.url}/web/$default/work", params={"sleep": "25", "tag": "late"})
        assert response.status_code == 504
        pid = int((marks / "late.start").read_text())
        assert alive(pid)
        started = time.monotonic()
        assert up.stop() == 0
        # the function sleeps 25 s: kumo up stopped without waiting for it (late.end below says so too)
        assert time.monotonic() - started < 25, "kumo up waited for the function"
        wait_until(lambda: not alive(pid), timeout=5, what=f"instance process {pid} to be gone")
        assert not (marks / "late.end").exists()
        assert "Traceback" not in up.output(), up.output()
    finally:
        up.stop()


def test_manifest_with_bad_cors_is_refused(tmp_path: Path) -> None:
    bad = manifests(tmp_path)
    bad[1]["spec"]["cors"] = {"allowOrigins": ["*"], "allowCredentials": True}
    with pytest.raises(RuntimeError, match="allowCredentials cannot be true when allowOrigins contains") as info:
        KumoUp(bad, tmp_path)
    assert "Traceback" not in str(info.value)
