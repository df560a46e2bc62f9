"""One ``kumo up`` per test module, serving the functions and Apis the end-to-end tests use."""

from __future__ import annotations

import pytest
from kumo_up import KumoUp, function_manifest

ECHO = """
import os
COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    return {
        "event": event,
        "count": COUNT,
        "pid": os.getpid(),
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "remaining": context.get_remaining_time_in_millis(),
        "tmpdir": os.environ.get("TMPDIR"),
        "region": os.environ.get("AWS_REGION"),
        "greeting": os.environ.get("GREETING"),
    }
"""

SLEEPY = """
import os, time

def handler(event, context):
    time.sleep(event.get("sleep", 0.5))
    return {"pid": os.getpid()}
"""

FAILING = """
def handler(event, context):
    print("about to fail")
    raise ValueError("bad input: " + str(event.get("x")))
"""

TIMEOUT = """
import os, time
STARTED = os.getpid()

def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"pid": os.getpid()}
"""

MEMORY = """
import os, time

def handler(event, context):
    if event.get("hog"):
        chunks = [bytearray(b"x" * (16 * 1024 * 1024)) for _ in range(20)]  # ~320 MB, touched
        time.sleep(2)
        return len(chunks)
    return {"pid": os.getpid()}
"""

CRASH = """
import os

def handler(event, context):
    if event.get("crash"):
        os._exit(3)
    return {"pid": os.getpid()}
"""

API = """
import base64, json

def handler(event, context):
    if event.get("rawPath", "").endswith("/malformed"):
        return {"statusCode": "not a number", "body": 5}
    if event.get("rawPath", "").endswith("/custom"):
        return {"statusCode": 201, "headers": {"x-custom": "yes"}, "cookies": ["a=1", "b=2"], "body": "created"}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
"""

LOGGING = """
def handler(event, context):
    for i in range(event.get("lines", 3)):
        print(f"log line {i}")
    return "ok"
"""

IDLE = """
import os
COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    return {"pid": os.getpid(), "count": COUNT}
"""


def manifests() -> list[dict]:
    return [
        function_manifest("echo", ECHO, environment={"GREETING": "hi"}, memory="256Mi", timeout="30s"),
        function_manifest("echo312", ECHO, runtime="python3.12"),
        function_manifest("sleepy", SLEEPY, timeout="10s", scaling={"maxInstances": 2, "idleTimeout": "30s"}),
        function_manifest("wide", SLEEPY, timeout="10s", scaling={"maxInstances": 3, "idleTimeout": "30s"}),
        function_manifest("failing", FAILING),
        function_manifest("slow", TIMEOUT, timeout="1s"),
        function_manifest("hog", MEMORY, memory="128Mi", timeout="10s"),
        function_manifest("crash", CRASH),
        function_manifest("noimport", "import does_not_exist\n"),
        function_manifest("nohandler", "def other(event, context):\n    return 1\n"),
        function_manifest("api", API),
        function_manifest("logging", LOGGING),
        function_manifest("idle", IDLE, scaling={"idleTimeout": "1s"}),
        function_manifest("disabled", IDLE, concurrency={"reserved": 0}),
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Api",
            "metadata": {"name": "shop"},
            "spec": {
                "routes": [
                    {"method": "GET", "path": "/items/{id}", "function": "api"},
                    {"method": "POST", "path": "/items", "function": "api"},
                    {"method": "ANY", "path": "/files/{proxy+}", "function": "api"},
                    {"method": "GET", "path": "/malformed", "function": "api"},
                    {"method": "GET", "path": "/custom", "function": "api"},
                    {"method": "GET", "path": "/broken", "function": "failing"},
                ],
                "stages": [{"name": "dev", "variables": {"tier": "gold"}}],
            },
        },
    ]


@pytest.fixture(scope="package")
def kumo(tmp_path_factory):
    up = KumoUp(manifests(), tmp_path_factory.mktemp("kumo-up"))
    try:
        yield up
    finally:
        up.stop()
