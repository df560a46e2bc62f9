"""AWS's own runtime client (awslambdaric) runs a function unchanged against the host."""

from __future__ import annotations

import base64
import json
import sys

from runtime_support import invocation

APP = """
def handler(event, context):
    if event.get("fail"):
        raise KeyError("missing thing")
    return {"echo": event, "request_id": context.aws_request_id, "fn": context.function_name,
            "arn": context.invoked_function_arn, "remaining": context.get_remaining_time_in_millis(),
            "custom": context.client_context.custom if context.client_context else None}
"""


async def test_awslambdaric_happy_path_and_exception(make_config, hosts):
    config = make_config(APP, name="ric", command=[sys.executable, "-m", "awslambdaric", "app.handler"])
    host = await hosts(config)
    client_context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    ok = await host.invoke(invocation(config, b'{"a": 1}', request_id="ric-1", client_context=client_context))
    assert ok.function_error is None, ok.payload
    body = json.loads(ok.payload)
    assert body["echo"] == {"a": 1}
    assert body["request_id"] == "ric-1"
    assert body["fn"] == "ric"
    assert body["arn"] == config.arn
    assert 0 < body["remaining"] <= 3000
    assert body["custom"] == {"k": "v"}

    failed = await host.invoke(invocation(config, b'{"fail": true}', request_id="ric-2", log_tail=True))
    assert failed.function_error == "Unhandled"
    error = json.loads(failed.payload)
    assert error["errorType"] == "KeyError"
    assert error["errorMessage"] == "'missing thing'"
    assert error["requestId"] == "ric-2"
    assert any("raise KeyError" in frame for frame in error["stackTrace"])
    assert failed.instance_reusable and host.alive
    assert "END RequestId: ric-2" in failed.log_tail.decode()


async def test_awslambdaric_init_error(make_config, hosts):
    config = make_config("x = 1\n", handler="app.nope", command=[sys.executable, "-m", "awslambdaric", "app.nope"])
    host = await hosts(config)
    result = await host.invoke(invocation(config))
    error = json.loads(result.payload)
    assert error["errorType"] == "Runtime.HandlerNotFound"
    assert error["errorMessage"] == "Handler 'nope' missing on module 'app'"
    assert not result.instance_reusable
