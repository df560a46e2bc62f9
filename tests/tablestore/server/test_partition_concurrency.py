"""Group commit, optimistic locking under concurrent writers, and SIGKILL durability of a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
from partition_support import Client, N, S, describe
from support import await_until

from kumo_tablestore.server import PartitionServer


async def test_concurrent_puts_share_commits(server: PartitionServer, client: Client) -> None:
    before = server.partition.writer.stats.commits
    await asyncio.gather(*(client.put(pk=S(f"k{i}"), sk=S("s")) for i in range(60)))
    stats = (await client.call("GET", "/stats"))[1]
    assert stats["writes"] >= 60
    assert stats["commits"] - before < 60
    assert stats["largest_batch"] > 1
    assert (await client.ok("Scan", {"Select": "COUNT"}))["Count"] == 60


async def test_optimistic_locking_loses_no_update(client: Client) -> None:
    key = {"pk": S("counter"), "sk": S("c")}
    await client.put(**key, version=N(0), count=N(0))
    writers, increments = 6, 8

    async def writer() -> int:
        retries = 0
        for _ in range(increments):
            for _attempt in range(500):
                item = (await client.ok("GetItem", {"Key": key}))["Item"]
                v = int(item["version"]["N"])
                status, _ = await client.op(
                    "UpdateItem",
                    {
                        "Key": key,
                        "UpdateExpression": "SET version = :new ADD #c :one",
                        "ConditionExpression": "version = :old",
                        "ExpressionAttributeNames": {"#c": "count"},
                        "ExpressionAttributeValues": {":new": N(v + 1), ":old": N(v), ":one": N(1)},
                    },
                )
                if status == 200:
                    break
                retries += 1
            else:
                raise AssertionError("writer starved")
        return retries

    retries = await asyncio.gather(*(writer() for _ in range(writers)))
    item = (await client.ok("GetItem", {"Key": key}))["Item"]
    assert item["count"] == N(writers * increments)
    assert item["version"] == N(writers * increments)
    assert sum(retries) > 0  # the writers really did collide


async def test_conditions_see_earlier_writes_of_the_same_batch(client: Client) -> None:
    body = {"Item": {"pk": S("once"), "sk": S("s")}, "ConditionExpression": "attribute_not_exists(pk)"}
    results = await asyncio.gather(*(client.op("PutItem", body) for _ in range(20)))
    assert sorted(status for status, _ in results) == [200] + [400] * 19


def _start(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kumo_cli", "partition", "--data-dir", str(data_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "listening on" in line, line
    return proc, line.strip().rsplit(" ", 1)[1]


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        os.kill(proc.pid, sig)
    try:
        return proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_sigkill_mid_burst_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    data = tmp_path / "p"
    proc, url = _start(data)
    acked: list[str] = []
    try:
        async with aiohttp.ClientSession() as session:
            client = Client(url, session)
            await client.create(describe())

            async def burst(worker: int) -> None:
                for i in range(10_000):
                    name = f"w{worker}-{i}"
                    try:
                        status, _ = await client.op(
                            "PutItem", {"Item": {"pk": S(name), "sk": S("s"), "pad": S("x" * 500)}}
                        )
                    except (TimeoutError, aiohttp.ClientError):
                        return
                    if status != 200:
                        return
                    acked.append(name)

            tasks = [asyncio.create_task(burst(w)) for w in range(8)]
            await await_until(lambda: len(acked) >= 150, timeout=30, what="150 acknowledged writes")
            os.kill(proc.pid, signal.SIGKILL)
            await asyncio.gather(*tasks)
    finally:
        _stop(proc, signal.SIGKILL)
    assert len(acked) >= 150
    proc, url = _start(data)
    try:
        async with aiohttp.ClientSession() as session:
            client = Client(url, session)
            for name in acked:
                got = await client.ok("GetItem", {"Key": {"pk": S(name), "sk": S("s")}})
                assert "Item" in got, name
    finally:
        assert _stop(proc) == 0
