"""The instance pool with real runtime hosts: limits, the bounded wait queue, hand-off, reaping."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from support import await_until

from kumo.runtime.config import FunctionConfig
from kumo.runtime.host import RuntimeHost
from kumo.runtime.invocation import Invocation
from kumo.scaling.decisions import PoolLimits
from kumo_gateway.local.pool import InstancePool, PoolThrottled

SOURCE = (
    "import os, time\n\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n    return os.getpid()\n"
)


def make_pool(tmp_path: Path, **limits) -> tuple[InstancePool, FunctionConfig]:
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(SOURCE)
    config = FunctionConfig(name="pooled", handler="app.handler", runtime="python3.11", code_dir=code, timeout_s=10)
    pool = InstancePool(
        "pooled", lambda: RuntimeHost(config, tmp_root=tmp_path / "tmp"), PoolLimits(**{"max_instances": 1, **limits})
    )
    return pool, config


def invocation(config: FunctionConfig, payload: bytes = b"{}") -> Invocation:
    return Invocation(request_id=str(uuid.uuid4()), payload=payload, invoked_function_arn=config.arn)


async def test_queue_is_bounded_and_waiters_get_the_released_instance(tmp_path):
    pool, config = make_pool(tmp_path, queue_limit=1, queue_timeout_s=10)
    try:
        first = await pool.acquire()
        waiter = asyncio.create_task(pool.acquire())
        await await_until(lambda: len(pool._waiters) == 1, what="the acquire to queue")
        assert not waiter.done()
        with pytest.raises(PoolThrottled, match="Rate Exceeded"):
            await pool.acquire()  # the queue (1) is full
        result = await first.invoke(invocation(config))
        pool.release(first, reusable=result.instance_reusable)
        second = await asyncio.wait_for(waiter, 5)
        assert second is first  # handed over directly, warm
        assert pool.cold_starts == 1
        pool.release(second, reusable=True)
    finally:
        await pool.stop()


async def test_waiter_times_out_as_throttled(tmp_path):
    pool, _ = make_pool(tmp_path, queue_limit=5, queue_timeout_s=0.2)
    try:
        held = await pool.acquire()
        with pytest.raises(PoolThrottled, match="no instance"):
            await pool.acquire()
        pool.release(held, reusable=True)
        assert pool.idle == 1 and pool.busy == 0
    finally:
        await pool.stop()


async def test_discarded_instance_is_replaced_for_a_waiter(tmp_path):
    pool, config = make_pool(tmp_path, queue_limit=5, queue_timeout_s=10)
    try:
        first = await pool.acquire()
        await first.invoke(invocation(config))
        waiter = asyncio.create_task(pool.acquire())
        await await_until(lambda: len(pool._waiters) == 1, what="the acquire to queue")
        pool.release(first, reusable=False)  # e.g. it timed out: a new instance starts for the waiter
        second = await asyncio.wait_for(waiter, 10)
        assert second is not first
        result = await second.invoke(invocation(config))
        assert result.function_error is None
        pool.release(second, reusable=True)
        assert pool.total == 1 and pool.cold_starts == 2
    finally:
        await pool.stop()


async def test_reaper_stops_idle_instances_and_keeps_min(tmp_path):
    pool, _ = make_pool(tmp_path, max_instances=3, min_instances=1, idle_timeout_s=0.2)
    try:
        await pool.start()  # min_instances start warm
        assert pool.idle == 1
        hosts = [await pool.acquire() for _ in range(3)]
        for host in hosts:
            pool.release(host, reusable=True)
        assert pool.idle == 3
        # the background reaper runs every 50 ms here
        await await_until(lambda: pool.total == 1, timeout=5, what="the reaper to stop the idle instances")
        assert pool.total == 1 and pool.idle == 1
        assert await pool.reap() == []  # min_instances is kept
    finally:
        await pool.stop()
    assert pool.total == 0
