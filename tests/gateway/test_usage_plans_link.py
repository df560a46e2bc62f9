"""The usage-plan check's own Redis link (``apigateway/script_link.py``) against a real Redis: the same
answers as redis-py's script call, database selection and passwords, the script reloaded after a
restart, a lost reply closing the connection, and redis-py kept for connection kinds it does not speak."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest
import redis as sync_redis
from redis.asyncio import Redis
from redis.asyncio.connection import SSLConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis_process import RedisProcess
from support import free_port

from kumo.models import Api
from kumo.redis_server import find_redis_server
from kumo_gateway.apigateway import usage_plans
from kumo_gateway.apigateway.api_keys import key_hash
from kumo_gateway.apigateway.limits_store import LimitsStore
from kumo_gateway.apigateway.script_link import ScriptLink
from kumo_gateway.apigateway.usage_plans import Outcome

NOW = 1_700_000_000.0


def api() -> Api:
    return Api.model_validate(
        {
            "metadata": {"name": "pets"},
            "spec": {
                "routes": [{"method": "GET", "path": "/pets", "function": "pets", "apiKeyRequired": True}],
                "stages": [{"name": "prod"}],
                "usagePlans": [
                    {
                        "name": "basic",
                        "stages": ["prod"],
                        "throttle": {"rate": 1, "burst": 2},
                        "quota": {"limit": 5, "period": "DAY"},
                    }
                ],
            },
        }
    )


async def outcomes(store: LimitsStore, value: str, count: int) -> list[Outcome]:
    limits = usage_plans.route_limits(api(), "prod", "GET /pets")
    return [(await store.check(limits, key_hash(value), NOW))[0] for _ in range(count)]


def test_the_link_answers_as_redis_py_does_in_another_database(redis_url: str) -> None:
    async def run() -> None:
        url = redis_url.rsplit("/", 1)[0] + "/3"
        fast, slow = Redis.from_url(url), Redis.from_url(url)
        try:
            store = LimitsStore(fast)
            assert store.link is not None and store.link.address["db"] == 3
            plain = LimitsStore(slow)
            plain.link = None  # redis-py's script call, the reference
            record, value = await store.create_key("pets", "basic", "alice")
            # The bucket (burst 2) is shared: the link takes both tokens, redis-py then finds it empty.
            assert await outcomes(store, value, 2) == [Outcome.ALLOW, Outcome.ALLOW]
            assert await outcomes(plain, value, 1) == [Outcome.PLAN_THROTTLED]
            limits = usage_plans.route_limits(api(), "prod", "GET /pets")
            assert await store.check(limits, key_hash(value), NOW) == (Outcome.PLAN_THROTTLED, record.id)
            assert await store.check(limits, key_hash("x" * 40), NOW) == (Outcome.FORBIDDEN, None)
            assert await sync_to_db0_has_no_key(redis_url, key_hash(value))
        finally:
            store.link.close()  # type: ignore[union-attr]
            await fast.aclose()
            await slow.aclose()

    asyncio.run(run())


async def sync_to_db0_has_no_key(redis_url: str, digest: str) -> bool:
    client = sync_redis.Redis.from_url(redis_url)
    try:
        return not client.exists(f"kumo:apikey:{digest}")
    finally:
        client.close()


def test_the_link_authenticates_and_reloads_the_script_after_a_restart(tmp_path: Path) -> None:
    port = free_port()
    args = [find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--requirepass", "s3cret"]
    args += ["--appendonly", "yes", "--dir", str(tmp_path)]

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = sync_redis.Redis(port=port, password="s3cret")
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                client.close()
                return proc
            except sync_redis.ConnectionError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.05)

    async def run(proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        client = Redis(port=port, password="s3cret")
        store = LimitsStore(client)
        try:
            assert store.link is not None
            _, value = await store.create_key("pets", "basic", "alice")
            assert await outcomes(store, value, 1) == [Outcome.ALLOW]
            proc.terminate()
            proc.wait(10)
            with pytest.raises((RedisConnectionError, OSError)):
                await outcomes(store, value, 1)
            proc = start()  # same data (append-only file), empty script cache: NOSCRIPT, then EVAL
            assert await outcomes(store, value, 2) == [Outcome.ALLOW, Outcome.PLAN_THROTTLED]
            wrong = ScriptLink({**store.link.address, "password": "wrong"}, store.link.script, store.link.sha)
            with pytest.raises(RedisConnectionError, match="refused the connection setup"):
                await wrong.run(b"", 0)
            return proc
        finally:
            store.link.close()  # type: ignore[union-attr]
            await client.aclose()

    proc = start()
    try:
        proc = asyncio.run(run(proc))
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_reply_that_does_not_come_closes_the_connection_and_the_next_call_reconnects(tmp_path: Path) -> None:
    server = RedisProcess(tmp_path)
    server.start()

    async def run() -> None:
        client = Redis.from_url(server.url)
        store = LimitsStore(client)
        try:
            assert store.link is not None
            _, value = await store.create_key("pets", "basic", "alice")
            assert await outcomes(store, value, 1) == [Outcome.ALLOW]
            first = store.link._protocol
            assert server.proc is not None
            server.proc.send_signal(19)  # SIGSTOP: Redis holds the reply
            try:
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(0.3):
                        await outcomes(store, value, 1)
            finally:
                server.proc.send_signal(18)  # SIGCONT
            assert first is not None and (first.transport is None or first.transport.is_closing())
            # Redis ran the late call when it resumed (its token is gone); a fresh key gets its own answer.
            _, other = await store.create_key("pets", "basic", "bob")
            assert await outcomes(store, other, 1) == [Outcome.ALLOW]
            assert store.link._protocol is not first
        finally:
            store.link.close()  # type: ignore[union-attr]
            await client.aclose()

    try:
        asyncio.run(run())
    finally:
        server.stop()


def test_connection_kinds_the_link_does_not_speak_keep_redis_py() -> None:
    tls = Redis(host="127.0.0.1", port=1, ssl=True)
    assert tls.connection_pool.connection_class is SSLConnection
    assert LimitsStore(tls).link is None
    assert LimitsStore(Redis.from_url("rediss://127.0.0.1:1/0")).link is None
    assert LimitsStore(Redis(unix_socket_path="/nonexistent/redis.sock")).link is not None


def test_packed_arguments_are_the_scripts_argv_with_the_key_digest_in_place() -> None:
    from kumo_gateway.apigateway.limits_store import _bulk, script_args

    store = LimitsStore(Redis(unix_socket_path="/nonexistent/redis.sock"))
    limits = usage_plans.route_limits(api(), "prod", "GET /pets")
    digest = key_hash("k" * 40)
    for second in (int(NOW), int(NOW) + 1, int(NOW) + 86400):  # the TTL counts down; the next day, a new counter
        count, packed = store._packed(limits, second)
        args = script_args(limits, digest, usage_plans.checks_for(limits, digest, second))
        assert count == len(args)
        assert packed.replace(b"\x00" * 64, digest.encode()) == b"".join(_bulk(arg) for arg in args)


def test_the_app_closes_the_link_when_it_stops(redis_url: str) -> None:
    """The script's own connection is the app's to close: after the lifespan ends, no socket is left open."""
    from gateway_fakes import InProcessProvider
    from signing import make_authenticator

    from kumo.catalog import Catalog
    from kumo_gateway.app import create_app

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        app = create_app(Catalog(), InProcessProvider({}), auth=make_authenticator(), redis=redis)
        store = app.state.limits.store
        async with app.router.lifespan_context(app):
            _, value = await store.create_key("pets", "basic", "alice")
            assert await outcomes(store, value, 1) == [Outcome.ALLOW]
            transport = store.link._protocol.transport
            assert transport is not None and not transport.is_closing()
        assert transport.is_closing() and store.link._protocol is None

    asyncio.run(run())


def test_a_call_past_its_deadline_times_out_and_the_late_reply_is_dropped(tmp_path: Path) -> None:
    server = RedisProcess(tmp_path)
    server.start()

    async def run() -> None:
        client = Redis.from_url(server.url)
        store = LimitsStore(client)
        limits = usage_plans.route_limits(api(), "prod", "GET /pets")
        try:
            assert store.link is not None
            _, value = await store.create_key("pets", "basic", "alice")
            digest = key_hash(value)
            assert (await store.check(limits, digest, NOW, timeout_s=1.0))[0] == Outcome.ALLOW
            first = store.link._protocol
            assert server.proc is not None
            server.proc.send_signal(19)  # SIGSTOP: Redis holds the reply
            try:
                started = time.monotonic()
                with pytest.raises(RedisTimeoutError):
                    await store.check(limits, digest, NOW, timeout_s=0.2)
                assert 0.15 <= time.monotonic() - started < 1.0
            finally:
                server.proc.send_signal(18)  # SIGCONT
            # Same connection: the late reply met its own (expired) call, the next call gets its own.
            _, other = await store.create_key("pets", "basic", "bob")
            outcome, key_id = await store.check(limits, key_hash(other), NOW, timeout_s=1.0)
            assert outcome == Outcome.ALLOW and key_id is not None
            assert store.link._protocol is first
            assert not first.deadlines  # nothing left for the watchdog
        finally:
            store.link.close()  # type: ignore[union-attr]
            await client.aclose()

    try:
        asyncio.run(run())
    finally:
        server.stop()
