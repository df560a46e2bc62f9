"""Failures Lambda detects itself: timeout, memory, runtime exit, oversize response, bad Runtime API calls."""

from __future__ import annotations

import json

import pytest
from runtime_support import invocation

from kumo.runtime.python import UnsupportedRuntimeError


async def test_timeout_kills_the_instance(make_config, hosts):
    config = make_config(
        "import time\ndef handler(e, c):\n    print('going to sleep')\n    time.sleep(5)\n", timeout_s=1
    )
    host = await hosts(config)
    result = await host.invoke(invocation(config, request_id="r-slow", log_tail=True))
    assert result.function_error == "Unhandled"
    assert json.loads(result.payload) == {
        "errorMessage": "RequestId: r-slow Error: Task timed out after 1.00 seconds",
        "errorType": "Sandbox.Timedout",
    }
    assert not result.instance_reusable
    assert not host.alive
    tail = result.log_tail.decode()
    assert "going to sleep" in tail and "Task timed out after 1.00 seconds" in tail
    assert "END RequestId: r-slow" in tail


async def test_memory_limit_kills_the_instance(make_config, hosts):
    config = make_config(
        """
        import time
        def handler(event, context):
            hog = b"\\x01" * (300 * 1024 * 1024)  # allocated and touched
            time.sleep(5)
            return len(hog)
        """,
        memory_mb=128,
        timeout_s=10,
    )
    host = await hosts(config)
    result = await host.invoke(invocation(config, request_id="r-oom", log_tail=True))
    assert json.loads(result.payload) == {
        "errorMessage": "RequestId: r-oom Error: Runtime exited with error: signal: killed",
        "errorType": "Runtime.OutOfMemory",
    }
    assert result.function_error == "Unhandled"
    assert not result.instance_reusable and not host.alive
    assert "Max Memory Used: 1" in result.log_tail.decode()  # ≥ 100 MB reported


async def test_runtime_exit_during_invocation(make_config, hosts):
    config = make_config("import os\ndef handler(e, c):\n    print('bye', flush=True)\n    os._exit(3)\n")
    host = await hosts(config)
    result = await host.invoke(invocation(config, request_id="r-exit", log_tail=True))
    assert json.loads(result.payload) == {
        "errorMessage": "RequestId: r-exit Error: Runtime exited with error: exit status 3",
        "errorType": "Runtime.ExitError",
    }
    assert not result.instance_reusable and not host.alive
    assert "bye" in result.log_tail.decode()


async def test_runtime_crash_by_signal(make_config, hosts):
    config = make_config("import os, signal\ndef handler(e, c):\n    os.kill(os.getpid(), signal.SIGSEGV)\n")
    host = await hosts(config)
    result = await host.invoke(invocation(config, request_id="r-segv"))
    error = json.loads(result.payload)
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"] == "RequestId: r-segv Error: Runtime exited with error: signal: segmentation fault"


async def test_response_over_6mb_fails_the_invocation(make_config, hosts):
    config = make_config("def handler(e, c):\n    return 'x' * (7 * 1024 * 1024)\n")
    host = await hosts(config)
    result = await host.invoke(invocation(config))
    error = json.loads(result.payload)
    assert result.function_error == "Unhandled"
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert "exceeded maximum allowed payload size (6291456 bytes)" in error["errorMessage"]
    assert host.alive
    assert json.loads((await host.invoke(invocation(config))).payload)["errorType"] == "Function.ResponseSizeTooLarge"


async def test_runtime_api_rejects_unknown_request_ids(make_config, hosts):
    config = make_config(
        """
        import json, os, urllib.request, urllib.error
        def call(path, data=b"{}"):
            url = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + path
            try:
                with urllib.request.urlopen(urllib.request.Request(url, data=data)) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read())
        def handler(event, context):
            return {
                "bogus": call("/2018-06-01/runtime/invocation/bogus/response"),
                "bogus_error": call("/2018-06-01/runtime/invocation/bogus/error"),
                "unknown_route": call("/2018-06-01/runtime/nope"),
            }
        """
    )
    host = await hosts(config)
    body = json.loads((await host.invoke(invocation(config))).payload)
    assert body["bogus"][0] == 400 and body["bogus"][1]["errorType"] == "InvalidRequestID"
    assert body["bogus_error"][0] == 400
    assert body["unknown_route"][0] == 404
    assert host.alive


async def test_missing_command_reports_invalid_entrypoint(make_config, hosts):
    config = make_config("x = 1\n", command=["/nonexistent/runtime-binary"])
    host = await hosts(config)
    assert not host.alive
    result = await host.invoke(invocation(config, request_id="r-cmd"))
    error = json.loads(result.payload)
    assert error["errorType"] == "Runtime.InvalidEntrypoint"
    assert error["errorMessage"].startswith("RequestId: r-cmd Error: fork/exec /nonexistent/runtime-binary")
    assert not result.instance_reusable
    assert await host.wait_exited() == 127


async def test_unknown_runtime_is_refused_at_start(make_config, hosts):
    with pytest.raises(UnsupportedRuntimeError, match=r"nodejs20\.x"):
        await hosts(make_config("x = 1\n", runtime="nodejs20.x"))
