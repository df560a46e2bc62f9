"""A real runtime host with Kumo's bootstrap as its child: results, context, env, logs, TMPDIR."""

from __future__ import annotations

import json
import sys

import pytest
from runtime_support import invocation
from support import await_until

from kumo.runtime.invocation import LOG_TAIL_BYTES

CONTEXT_APP = """
import os, sys, time
counter = 0
print("init ran")

def handler(event, context):
    global counter
    counter += 1
    before = context.get_remaining_time_in_millis()
    time.sleep(0.02)
    after = context.get_remaining_time_in_millis()
    print("handling", counter)
    return {
        "event": event,
        "counter": counter,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "log_group": context.log_group_name,
        "log_stream": context.log_stream_name,
        "remaining": [before, after],
        "client_context": context.client_context and context.client_context.custom,
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "version": list(sys.version_info[:2]),
    }
"""


async def test_happy_path_context_and_warm_globals(make_config, hosts):
    config = make_config(CONTEXT_APP, name="ctx", memory_mb=256, timeout_s=5)
    host = await hosts(config)
    first = await host.invoke(invocation(config, b'{"hello": "world"}', request_id="req-1", log_tail=True))
    assert first.function_error is None, first.payload
    body = json.loads(first.payload)
    assert body["event"] == {"hello": "world"}
    assert body["request_id"] == "req-1"
    assert body["function_name"] == "ctx"
    assert body["function_version"] == "$LATEST"
    assert body["memory"] == "256"  # a string, as awslambdaric gives it
    assert body["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:ctx"
    assert body["log_group"] == "/aws/lambda/ctx"
    assert body["log_stream"].endswith(f"[$LATEST]{host.instance_id}")
    before, after = body["remaining"]
    assert 0 < after < before <= 5000
    assert body["cwd"] == str(config.code_dir)
    assert first.instance_reusable
    tail = first.log_tail.decode()
    assert "START RequestId: req-1 Version: $LATEST" in tail
    assert "handling 1" in tail
    assert "END RequestId: req-1" in tail
    assert "REPORT RequestId: req-1\tDuration:" in tail and "Init Duration:" in tail
    assert "Memory Size: 256 MB" in tail

    second = await host.invoke(invocation(config, b"[1, 2]", log_tail=True))
    assert json.loads(second.payload)["counter"] == 2  # init ran once, globals survive
    assert json.loads(second.payload)["event"] == [1, 2]
    assert "Init Duration" not in second.log_tail.decode()
    assert "init ran" not in second.log_tail.decode()


async def test_environment_is_lambdas_not_the_hosts(make_config, hosts, monkeypatch):
    monkeypatch.setenv("KUMO_TEST_SECRET_OF_THE_HOST", "leak")
    config = make_config(
        CONTEXT_APP,
        name="envfn",
        environment={"GREETING": "hi"},
        platform_environment={"AWS_ENDPOINT_URL": "http://127.0.0.1:1"},
        region="eu-west-1",
    )
    host = await hosts(config)
    env = json.loads((await host.invoke(invocation(config))).payload)["env"]
    assert env["GREETING"] == "hi"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "envfn"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["_HANDLER"] == "app.handler"
    assert env["LAMBDA_TASK_ROOT"] == str(config.code_dir)
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert env["TZ"] == ":UTC"
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert env["TMPDIR"] == str(host.tmpdir)
    assert "KUMO_TEST_SECRET_OF_THE_HOST" not in env
    assert "VIRTUAL_ENV" not in env


async def test_handler_exception_passes_through(make_config, hosts):
    config = make_config(
        """
        def handler(event, context):
            helper()

        def helper():
            raise ValueError("bad value")
        """
    )
    host = await hosts(config)
    result = await host.invoke(invocation(config, request_id="r-err", log_tail=True))
    assert result.function_error == "Unhandled"
    error = json.loads(result.payload)
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad value"
    assert error["requestId"] == "r-err"
    assert any("in helper" in frame and "raise ValueError" in frame for frame in error["stackTrace"])
    assert all("bootstrap.py" not in frame for frame in error["stackTrace"])
    assert "[ERROR] ValueError: bad value" in result.log_tail.decode()
    assert result.instance_reusable and host.alive
    again = await host.invoke(invocation(config))  # the instance keeps serving
    assert json.loads(again.payload)["errorType"] == "ValueError"


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        (
            {"other.py": "x = 1\n"},
            "app.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'app': No module named 'app'",
        ),
        ({"app.py": "x = 1\n"}, "app.nope", "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'"),
        ({"app.py": "def handler(:\n"}, "app.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'app'"),
        ({"app.py": "raise RuntimeError('boom at init')\n"}, "app.handler", "RuntimeError", "boom at init"),
        ({"app.py": "x = 1\n"}, "nodot", "Runtime.MalformedHandlerName", "Bad handler 'nodot'"),
    ],
)
async def test_init_errors(make_config, hosts, files, handler, error_type, message):
    config = make_config(files, handler=handler)
    host = await hosts(config)
    result = await host.invoke(invocation(config, log_tail=True))
    assert result.function_error == "Unhandled"
    error = json.loads(result.payload)
    assert error["errorType"] == error_type
    assert error["errorMessage"].startswith(message)
    assert not result.instance_reusable
    assert not host.alive
    assert f"[ERROR] {error_type}" in result.log_tail.decode()


async def test_dotted_handler_module_and_marshal_errors(make_config, hosts):
    config = make_config(
        {
            "pkg/__init__.py": "",
            "pkg/mod.py": """
                import decimal
                def handler(event, context):
                    if event.get("bad"):
                        return {"x": object()}
                    if event.get("none"):
                        return None
                    return {"d": decimal.Decimal("1.5"), "i": decimal.Decimal("3"), "s": "é"}
                """,
        },
        handler="pkg.mod.handler",
    )
    host = await hosts(config)
    assert json.loads((await host.invoke(invocation(config))).payload) == {"d": 1.5, "i": 3, "s": "é"}
    assert (await host.invoke(invocation(config, b'{"none": 1}'))).payload == b"null"
    bad = await host.invoke(invocation(config, b'{"bad": 1}'))
    assert bad.function_error == "Unhandled"
    assert json.loads(bad.payload)["errorType"] == "Runtime.MarshalError"
    unparsable = await host.invoke(invocation(config, b"{not json"))
    assert json.loads(unparsable.payload)["errorType"] == "Runtime.UnmarshalError"
    assert host.alive


async def test_log_tail_is_bounded_and_log_file_written(make_config, hosts, tmp_path):
    config = make_config(
        """
        import sys
        def handler(event, context):
            for i in range(500):
                print(f"line {i:04d} " + "x" * 40)
            sys.stderr.write("to stderr\\n")
            print("last words", end="")
            return 1
        """,
        name="chatty",
    )
    host = await hosts(config, log_dir=tmp_path / "logs")
    result = await host.invoke(invocation(config, request_id="r-log", log_tail=True))
    tail = result.log_tail
    assert 0 < len(tail) <= LOG_TAIL_BYTES
    text = tail.decode()
    assert "to stderr" in text and "last words\nEND RequestId: r-log" in text
    assert text.rstrip().splitlines()[-1].startswith("REPORT RequestId: r-log")
    no_tail = await host.invoke(invocation(config))
    assert no_tail.log_tail == b""
    log_file = tmp_path / "logs" / "chatty" / f"{host.instance_id}.log"
    content = log_file.read_text()
    assert "line 0000" in content and content.count("START RequestId:") == 2


async def test_tmpdir_private_per_instance_and_removed(make_config, hosts):
    config = make_config(
        """
        import os, tempfile
        def handler(event, context):
            path = os.path.join(tempfile.gettempdir(), "scratch.txt")
            with open(path, "w") as f:
                f.write("x")
            return {"tmp": tempfile.gettempdir(), "env": os.environ["TMPDIR"]}
        """
    )
    a = await hosts(config)
    b = await hosts(config)
    tmp_a = json.loads((await a.invoke(invocation(config))).payload)
    tmp_b = json.loads((await b.invoke(invocation(config))).payload)
    assert tmp_a["tmp"] == tmp_a["env"] == str(a.tmpdir)
    assert tmp_a["tmp"] != tmp_b["tmp"]
    assert (a.tmpdir / "scratch.txt").exists()
    await a.stop()
    assert not a.tmpdir.exists()
    assert b.tmpdir.exists()


async def test_stop_leaves_no_process_and_is_idempotent(make_config, hosts):
    config = make_config(
        """
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        def handler(event, context):
            return child.pid
        """
    )
    host = await hosts(config)
    grandchild = json.loads((await host.invoke(invocation(config))).payload)
    pid = host.pid
    assert pid is not None and _running(pid) and _running(grandchild)
    await host.stop()
    await host.stop()
    assert not host.alive
    assert not _running(pid)
    assert await _gone(grandchild)  # SIGKILL of the group lands asynchronously
    with pytest.raises(RuntimeError):
        await host.invoke(invocation(config))


async def test_busy_instance_refuses_a_second_invocation(make_config, hosts):
    import asyncio

    config = make_config("import time\ndef handler(e, c):\n    time.sleep(0.3)\n    return 1\n")
    host = await hosts(config)
    first = asyncio.create_task(host.invoke(invocation(config)))
    await await_until(lambda: host.busy, what="the instance to be busy")
    with pytest.raises(RuntimeError, match="busy"):
        await host.invoke(invocation(config))
    assert (await first).payload == b"1"
    assert not host.busy


async def test_python312_function_runs_on_312_and_imports_boto3(make_config, hosts):
    config = make_config(
        """
        import sys, boto3
        def handler(event, context):
            client = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9")
            return {"version": list(sys.version_info[:2]), "executable": sys.executable,
                    "boto3": boto3.__version__, "region": client.meta.region_name}
        """,
        runtime="python3.12",
    )
    host = await hosts(config)
    result = await host.invoke(invocation(config))
    assert result.function_error is None, result.payload
    body = json.loads(result.payload)
    assert body["version"] == [3, 12]
    assert body["executable"] != sys.executable
    assert body["region"] == "us-east-1"
    assert body["boto3"]


async def _gone(pid: int) -> bool:
    return await await_until(lambda: not _running(pid), timeout=5, what=f"process {pid} to be gone")


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie is gone in all but name


async def test_many_hosts_share_one_loop_and_logging_works(make_config, hosts):
    import asyncio

    config = make_config(
        """
        import logging, os
        logger = logging.getLogger()
        logger.setLevel(logging.INFO)
        logger.info("cold start")
        def handler(event, context):
            logger.info("handling %s", event["n"])
            return {"n": event["n"], "pid": os.getpid()}
        """
    )
    started = await asyncio.gather(*(hosts(config) for _ in range(4)))
    results = await asyncio.gather(
        *(
            h.invoke(invocation(config, json.dumps({"n": i}).encode(), request_id=f"many-{i}", log_tail=True))
            for i, h in enumerate(started)
        )
    )
    assert [json.loads(r.payload)["n"] for r in results] == [0, 1, 2, 3]
    assert len({json.loads(r.payload)["pid"] for r in results}) == 4
    for i, result in enumerate(results):
        assert "[INFO]\t" in result.log_tail.decode()
        assert f"\tmany-{i}\thandling {i}\n" in result.log_tail.decode()
