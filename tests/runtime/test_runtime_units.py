"""Pure parts of the runtime: environment, interpreter resolution, log lines, failures, config."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kumo.runtime import failures, logformat
from kumo.runtime.config import ConfigError, FunctionConfig, config_from_env
from kumo.runtime.environment import build_environment, log_stream_name
from kumo.runtime.memory import parse_status_kb, tree_usage_kb
from kumo.runtime.python import (
    SDK_PACKAGES,
    UnsupportedRuntimeError,
    candidate_paths,
    resolve_python,
    runtime_version,
    sdk_layer_dir,
)
from kumo.runtime.session import function_error_body

NOW = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


def _config(**kw) -> FunctionConfig:
    return FunctionConfig(name="hello", handler="app.handler", runtime="python3.12", code_dir=Path("/code"), **kw)


def _env(config: FunctionConfig, host_env: dict[str, str] | None = None, **kw) -> dict[str, str]:
    return build_environment(
        config,
        runtime_api="127.0.0.1:9001",
        instance_id="abc123",
        tmpdir="/tmp/x",
        runtime_dir="/rt",
        host_env=host_env if host_env is not None else {"PATH": "/bin", "HOME": "/root", "SECRET": "s"},
        now=NOW,
        **kw,
    )


def test_environment_has_lambdas_variables_and_no_host_leak():
    env = _env(_config(memory_mb=512, region="eu-central-1"))
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "hello"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/hello"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == "2024/05/06/[$LATEST]abc123"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-central-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["_HANDLER"] == "app.handler"
    assert env["LAMBDA_TASK_ROOT"] == "/code"
    assert env["LAMBDA_RUNTIME_DIR"] == "/rt"
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"
    assert env["TZ"] == ":UTC" and env["LANG"] == "en_US.UTF-8"
    assert env["TMPDIR"] == env["TEMP"] == env["TMP"] == "/tmp/x"
    assert env["PATH"] == "/bin" and env["HOME"] == "/root"
    assert "SECRET" not in env and "PYTHONPATH" not in env


def test_environment_layers_platform_then_user():
    config = _config(
        platform_environment={"AWS_ENDPOINT_URL": "http://p", "SHARED": "platform"},
        environment={"SHARED": "user", "MINE": "1"},
    )
    env = _env(config, host_env={}, python_path=["/layer", "/other"])
    assert env["AWS_ENDPOINT_URL"] == "http://p"
    assert env["SHARED"] == "user" and env["MINE"] == "1"
    assert env["PYTHONPATH"] == "/layer:/other"
    assert env["PATH"]  # a default when the host has none


def test_log_stream_name_and_arn():
    assert log_stream_name("3", "ff", NOW) == "2024/05/06/[3]ff"
    assert _config(account_id="123456789012").arn == "arn:aws:lambda:us-east-1:123456789012:function:hello"


def test_runtime_version_and_candidates():
    assert runtime_version("python3.13") == "3.13"
    for bad in ("nodejs20.x", "python2", "python3.12x"):
        with pytest.raises(UnsupportedRuntimeError):
            runtime_version(bad)
    paths = candidate_paths("3.12", {"PATH": "/root/.pyenv/shims:/usr/bin"}, "/root")
    assert "/root/.pyenv/shims/python3.12" not in paths  # shims are bash scripts
    assert paths[0] == "/usr/bin/python3.12"
    assert "/root/.pyenv/versions/3.12*/bin/python3.12" in paths


def test_resolve_python_finds_real_312_binary_once():
    interp = resolve_python("python3.12")
    assert interp.version == "3.12" and not interp.is_kumo_own
    with open(interp.executable, "rb") as f:
        assert f.read(4) == b"\x7fELF"
    out = subprocess.run(
        [interp.executable, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "(3, 12)"
    assert resolve_python("python3.12") is interp  # cached


def test_sdk_layer_links_kumos_sdk_packages():
    layer = sdk_layer_dir()
    names = {p.name for p in layer.iterdir()} - {"__pycache__"}  # six.py compiled by a function
    assert {"boto3", "botocore", "six.py", "dateutil"} <= names
    assert all((layer / n).is_symlink() for n in names)
    assert len(names) == len(SDK_PACKAGES)
    assert sdk_layer_dir() == layer


def test_exit_reasons_and_failure_payloads():
    assert failures.exit_reason(3) == "exit status 3"
    assert failures.exit_reason(-9) == "signal: killed"
    assert failures.exit_reason(-11) == "signal: segmentation fault"
    assert failures.exit_reason(-10) == "signal: usr1"
    assert json.loads(failures.timed_out("r", 3)) == {
        "errorMessage": "RequestId: r Error: Task timed out after 3.00 seconds",
        "errorType": "Sandbox.Timedout",
    }
    assert json.loads(failures.out_of_memory("r"))["errorType"] == "Runtime.OutOfMemory"


def test_report_line_and_tail():
    line = logformat.report_line("r", duration_ms=1.234, memory_mb=128, max_memory_used_mb=20).decode()
    assert (
        line == "REPORT RequestId: r\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 20 MB\t\n"
    )
    cold = logformat.report_line("r", duration_ms=0.2, memory_mb=128, max_memory_used_mb=1, init_duration_ms=50)
    assert b"Billed Duration: 1 ms" in cold and b"Init Duration: 50.00 ms" in cold
    data = ("é" * 10).encode()
    cut = logformat.tail(data, 5)
    assert cut.decode() == "éé" and len(cut) <= 5  # never splits a character
    assert logformat.tail(b"abc", 10) == b"abc"


def test_parse_status_and_own_memory():
    text = "Name:\tpython\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n"
    assert parse_status_kb(text, "VmRSS") == 1024
    assert parse_status_kb(text, "VmHWM") == 2048
    assert parse_status_kb(text, "VmSwap") == 0
    current, peak = tree_usage_kb(os.getpid())
    assert 0 < current <= peak


def test_function_error_body_passthrough_and_wrapping():
    body = b'{"errorMessage": "x", "errorType": "E", "stackTrace": []}'
    assert function_error_body(body, "Ignored") == body
    wrapped = json.loads(function_error_body(b"plain text", "Custom.Error"))
    assert wrapped == {"errorMessage": "plain text", "errorType": "Custom.Error"}


def test_config_from_env():
    env = {
        "KUMO_FUNCTION_NAME": "f",
        "KUMO_HANDLER": "app.handler",
        "KUMO_RUNTIME": "python3.12",
        "KUMO_CODE_DIR": "/code",
        "KUMO_MEMORY_MB": "256",
        "KUMO_TIMEOUT_S": "7.5",
        "KUMO_COMMAND": '["python", "-m", "awslambdaric", "app.handler"]',
        "KUMO_ENVIRONMENT": '{"A": "1"}',
        "AWS_ENDPOINT_URL_DYNAMODB": "http://ddb",
        "AWS_REGION": "ap-south-1",
        "UNRELATED": "x",
    }
    config = config_from_env(env)
    assert (config.memory_mb, config.timeout_s, config.region) == (256, 7.5, "ap-south-1")
    assert config.command == ["python", "-m", "awslambdaric", "app.handler"]
    assert config.environment == {"A": "1"}
    assert config.platform_environment == {"AWS_ENDPOINT_URL_DYNAMODB": "http://ddb"}
    assert config_from_env({**env, "KUMO_COMMAND": "python -m x"}).command == ["python", "-m", "x"]
    with pytest.raises(ConfigError, match="KUMO_CODE_DIR"):
        config_from_env({k: v for k, v in env.items() if k != "KUMO_CODE_DIR"})
    with pytest.raises(ConfigError, match="KUMO_MEMORY_MB"):
        config_from_env({**env, "KUMO_MEMORY_MB": "lots"})
    with pytest.raises(ConfigError, match="KUMO_ENVIRONMENT"):
        config_from_env({**env, "KUMO_ENVIRONMENT": "[1]"})


def test_peak_reader_reads_vmhwm_with_one_descriptor(tmp_path):
    from kumo.runtime.memory import PeakReader, parse_hwm_kb

    assert parse_hwm_kb(b"Name:\tx\nVmPeak:\t 9 kB\nVmHWM:\t  2048 kB\nVmRSS:\t 1 kB\n") == 2048
    assert parse_hwm_kb(b"Name:\tx\n") == 0
    reader = PeakReader()
    assert reader.read_kb() == 0  # not opened
    grow = (
        "import sys\nsys.stdin.readline()\nb = bytearray(64 << 20)\nb[::4096] = b'1' * (16 << 10)\n"
        "print('ok', flush=True)\nsys.stdin.readline()\n"
    )
    child = subprocess.Popen([sys.executable, "-c", grow], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        reader.open(child.pid)
        first = reader.read_kb()
        with open(f"/proc/{child.pid}/status") as f:
            assert 0 < first <= parse_status_kb(f.read(), "VmHWM")
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline() == "ok\n"
        assert reader.read_kb() >= first + 60 * 1024  # the same descriptor sees fresh values
    finally:
        reader.close()
        child.kill()
        child.wait()
    reader.open(2**22 + 12345)  # no such process: reads as 0
    assert reader.read_kb() == 0


def test_instance_log_batches_file_writes_during_an_invocation(tmp_path):
    from kumo.runtime.logsink import InstanceLog

    log = InstanceLog(tmp_path / "i.log")
    log.open()
    try:
        log.write(b"init output")
        assert (tmp_path / "i.log").read_bytes() == b"init output"  # outside invocations: at once
        log.begin(capture=True)
        log.platform(b"START\n")
        log.write(b"handler output")
        assert (tmp_path / "i.log").read_bytes() == b"init output"  # batched
        log.flush()  # the watchdog does this while an invocation runs
        assert (tmp_path / "i.log").read_bytes() == b"init output\nSTART\nhandler output"
        log.platform(b"END\n")
        assert log.end() == b"\nSTART\nhandler output\nEND\n"  # START began on a new line
        log.begin(capture=False)
        log.write(b"x")
        assert log.end() == b""
        assert (tmp_path / "i.log").read_bytes().endswith(b"END\nx")
    finally:
        log.close()


async def test_session_hands_events_to_parked_runtimes_in_order():
    from kumo.runtime.invocation import Invocation
    from kumo.runtime.session import RequestError, RuntimeSession

    got: list[str | None] = []
    session = RuntimeSession(lambda: None)

    def receiver(active):
        got.append(active.request_id if active else None)

    def inv(rid):
        return Invocation(rid, b"{}", "arn")

    first = session.submit(inv("a"), 1.0)  # before the runtime asked: pending
    assert first.handed_out_at is None and first.started_at == first.submitted_at
    session.request_next(receiver)
    assert got == ["a"] and first.handed_out_at is not None and first.deadline_ms > 0
    session.respond("a", b"1")
    assert first.outcome.result().payload == b"1"
    with pytest.raises(RequestError) as err:
        session.respond("a", b"again")  # already answered
    assert err.value.status == 400
    session.request_next(receiver)  # parked
    session.submit(inv("b"), 1.0)
    assert got == ["a", "b"]
    session.request_next(receiver)
    session.cancel_next(receiver)  # its connection went away
    pending = session.submit(inv("c"), 1.0)
    assert got == ["a", "b"] and pending.handed_out_at is None
    session.close()
    session.request_next(receiver)
    assert got == ["a", "b", None]
