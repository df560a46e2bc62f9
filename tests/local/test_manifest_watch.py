"""Following edits in local mode: the poll (settled changes only), pool draining, and the reloader
refusing invalid edits and applying valid ones to the catalog and the provider."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest
import yaml
from support import await_until
from test_local_pool import invocation, make_pool

from kumo.manifests import load_manifests
from kumo.versions import LATEST
from kumo_gateway.local.manifest_watch import ManifestWatcher, fingerprint
from kumo_gateway.local.pool import PoolThrottled
from kumo_gateway.local.process_provider import LocalProvider
from kumo_gateway.local.reload import Reloader
from kumo_gateway.local.serve import build_catalog
from kumo_gateway.local.versions_store import LocalVersions


def fn(name: str, answer: int, **spec) -> dict:
    source = f"def handler(event, context):\n    return {answer}\n"
    return {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": name},
        "spec": {"runtime": "python3.11", "handler": "app.handler", "code": {"inline": {"app.py": source}}, **spec},
    }


def write(path: Path, *docs: dict) -> None:
    path.write_text(yaml.safe_dump_all(list(docs)))


async def no_change() -> None:
    raise AssertionError("not called in these tests")


def test_a_change_is_reported_once_it_settled(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    write(folder / "a.yaml", fn("a", 1))
    watcher = ManifestWatcher([folder], no_change, interval_s=0.1)
    assert not watcher.changed()
    write(folder / "a.yaml", fn("a", 22))
    assert not watcher.changed()  # first sight: maybe still being written
    assert watcher.changed()  # the same on the next poll: settled
    assert not watcher.changed()  # reported once
    (folder / "b.yml").write_text("")  # a new file in the folder counts
    (folder / "notes.txt").write_text("ignored")
    assert [watcher.changed(), watcher.changed()] == [False, True]
    os.utime(folder / "a.yaml", ns=(1, 1))
    assert not watcher.changed()
    os.utime(folder / "a.yaml", ns=(2, 2))  # changed again before settling: wait for that one
    assert [watcher.changed(), watcher.changed()] == [False, True]
    assert set(fingerprint([folder])) == {folder / "a.yaml", folder / "b.yml"}


async def test_drain_lets_the_busy_instance_finish_and_stops_it(tmp_path):
    pool, config = make_pool(tmp_path, max_instances=2)
    try:
        busy = await pool.acquire()
        idle = await pool.acquire()
        pool.release(idle, reusable=True)
        running = asyncio.create_task(busy.invoke(invocation(config, b'{"sleep": 0.5}')))
        drained = asyncio.create_task(pool.drain())
        await await_until(lambda: not idle.alive, timeout=5, what="the idle instance to stop at once")
        assert busy.alive and not drained.done()
        with pytest.raises(PoolThrottled):
            await pool.acquire()  # a draining pool takes no new work
        result = await asyncio.wait_for(running, 10)
        assert result.function_error is None and result.instance_reusable
        pool.release(busy, reusable=True)
        await asyncio.wait_for(drained, 10)
        assert not busy.alive and pool.total == 0
    finally:
        await pool.stop()


async def test_reloader_refuses_invalid_edits_and_applies_valid_ones(tmp_path, caplog):
    path = tmp_path / "fns.yaml"
    write(path, fn("a", 1), fn("b", 1))
    manifests = load_manifests([path])
    catalog = build_catalog(manifests)
    versions = LocalVersions(catalog, tmp_path / "state", manifests.config_maps)
    provider = LocalProvider(catalog, state_dir=tmp_path / "state", versions=versions)
    reloader = Reloader([path], manifests, catalog, provider, versions)
    try:
        async with provider.acquire("a", LATEST):
            pass
        old_pool = provider.pools[("a", LATEST)]
        old_function = catalog.function("a")

        write(path, fn("a", 2, timeout="1h"), fn("b", 1))
        with caplog.at_level(logging.ERROR, logger="kumo.local"):
            assert await reloader.reload() is None
        [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert f"{path}: Function 'a': spec.timeout:" in line and line.startswith("edit refused")
        assert catalog.function("a") is old_function and provider.pools[("a", LATEST)] is old_pool

        write(path, fn("a", 3), fn("c", 1, publish=True, aliases={"live": {"version": 1}}))
        diff = await reloader.reload()
        assert diff is not None and diff.rolled == ("a",)
        assert diff.functions.added == ("c",) and diff.functions.removed == ("b",)
        assert "return 3" in catalog.function("a").spec.code.inline["app.py"]
        assert ("a", LATEST) not in provider.pools  # retired: the next request gets a new pool
        await await_until(lambda: old_pool.total == 0, timeout=5, what="the old pool to drain")
        assert catalog.function("b") is None and catalog.resolve("b", None) is None
        live = catalog.resolve("c", "live")  # spec.publish and spec.aliases applied as at start
        assert live is not None and live.version == "1"
        assert (tmp_path / "state" / "versions" / "c" / "1" / "app.py").read_text().endswith("return 1\n")
        assert reloader.current.functions.keys() == {"a", "c"}
    finally:
        await provider.stop()
