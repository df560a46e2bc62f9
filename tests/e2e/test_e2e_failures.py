"""Function failures reported as Lambda reports them, and instances replaced afterwards."""

from __future__ import annotations

import json
import os

import pytest


def _invoke(kumo, name, payload=b"{}"):
    client = kumo.lambda_client()
    result = client.invoke(FunctionName=name, Payload=payload)
    return result, json.loads(result["Payload"].read())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_handler_exception_shape(kumo):
    result, body = _invoke(kumo, "failing", b'{"x": 42}')
    assert result["StatusCode"] == 200
    assert result["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "bad input: 42"
    assert isinstance(body["stackTrace"], list) and body["stackTrace"]


@pytest.mark.parametrize(
    ("name", "error_type", "fragment"),
    [("noimport", "Runtime.ImportModuleError", "does_not_exist"), ("nohandler", "Runtime.HandlerNotFound", "handler")],
)
def test_init_errors(kumo, name, error_type, fragment):
    result, body = _invoke(kumo, name)
    assert result["FunctionError"] == "Unhandled"
    assert body["errorType"] == error_type
    assert fragment in body["errorMessage"]
    # The next invocation gets a fresh attempt and fails the same way (nothing stuck).
    result, body = _invoke(kumo, name)
    assert body["errorType"] == error_type


def test_timeout_then_fresh_instance(kumo):
    _, before = _invoke(kumo, "slow")
    result, body = _invoke(kumo, "slow", b'{"sleep": 5}')
    assert result["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    assert not _alive(before["pid"])
    _, after = _invoke(kumo, "slow")
    assert after["pid"] != before["pid"]


def test_memory_exceeded_then_fresh_instance(kumo):
    _, before = _invoke(kumo, "hog")
    result, body = _invoke(kumo, "hog", b'{"hog": true}')
    assert result["FunctionError"] == "Unhandled"
    assert body["errorType"] in ("Runtime.OutOfMemory", "Runtime.ExitError")
    assert "Runtime exited with error" in body["errorMessage"]
    _, after = _invoke(kumo, "hog")
    assert after["pid"] != before["pid"]


def test_crash_then_fresh_instance(kumo):
    _, before = _invoke(kumo, "crash")
    result, body = _invoke(kumo, "crash", b'{"crash": true}')
    assert result["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in body["errorMessage"]
    _, after = _invoke(kumo, "crash")
    assert after["pid"] != before["pid"]
