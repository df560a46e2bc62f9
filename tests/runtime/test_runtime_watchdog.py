"""The host's single watchdog timer: armed lazily, re-armed after idle, flushes logs; uvloop hosts."""

from __future__ import annotations

import asyncio
import json

import uvloop
from runtime_support import invocation
from support import await_until

from kumo.runtime.host import RuntimeHost

APP = """
import time
def handler(event, context):
    if event.get("print"):
        print(event["print"], flush=True)
    time.sleep(event.get("sleep", 0))
    return {"n": event.get("n")}
"""


async def test_timeout_after_fast_invocations_and_idle(make_config, hosts):
    config = make_config(APP, timeout_s=0.5)
    host = await hosts(config)
    for n in range(20):
        assert json.loads((await host.invoke(invocation(config, json.dumps({"n": n}).encode()))).payload) == {"n": n}
    await asyncio.sleep(0.1)  # the watchdog fires while idle and is not re-armed
    result = await host.invoke(invocation(config, b'{"sleep": 3}', request_id="r-late"))
    assert json.loads(result.payload)["errorType"] == "Sandbox.Timedout"
    assert json.loads(result.payload)["errorMessage"] == "RequestId: r-late Error: Task timed out after 0.50 seconds"
    assert not result.instance_reusable


async def test_log_file_is_written_while_a_long_invocation_runs(make_config, hosts, tmp_path):
    config = make_config(APP, name="live", timeout_s=10)
    host = await hosts(config, log_dir=tmp_path / "logs")
    running = asyncio.create_task(host.invoke(invocation(config, b'{"print": "half way", "sleep": 1}')))
    log_file = tmp_path / "logs" / "live" / f"{host.instance_id}.log"
    await await_until(  # bounded: ~0.9 s, less than the handler's sleep
        lambda: log_file.exists() and "half way" in log_file.read_text(), timeout=0.9, what="'half way' in the log"
    )
    assert not running.done()
    assert (await running).function_error is None
    assert "REPORT RequestId:" in log_file.read_text()


def test_host_on_uvloop_serves_kumo_bootstrap_and_awslambdaric(make_config, tmp_path):
    import sys

    kumo_config = make_config(APP, name="uv")
    ric_config = make_config(APP, name="uvric", command=[sys.executable, "-m", "awslambdaric", "app.handler"])

    async def scenario() -> None:
        for config in (kumo_config, ric_config):
            host = RuntimeHost(config, tmp_root=tmp_path / "tmp")
            try:
                await host.start()
                for n in range(30):
                    result = await host.invoke(invocation(config, json.dumps({"n": n}).encode(), log_tail=True))
                    assert json.loads(result.payload) == {"n": n}, result.payload
                    assert b"REPORT RequestId:" in result.log_tail
                bad = await host.invoke(invocation(config, b"[]"))  # list has no .get
                assert json.loads(bad.payload)["errorType"] == "AttributeError"
                assert host.alive
            finally:
                await host.stop()

    loop = uvloop.new_event_loop()
    try:
        loop.run_until_complete(scenario())
    finally:
        loop.close()
