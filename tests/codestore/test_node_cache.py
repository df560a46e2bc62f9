"""The fetch step's node cache: verified reads, atomic writes, a size bound; against a real code store."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from code_store_process import CodeStore, running_code_store

from kumo import platform_credential
from kumo.packages.code_store import PackageRef, ref_of
from kumo.packages.fetch import FetchRefused, fetch_packages
from kumo.packages.node_cache import TEMP_PREFIX, CacheEntry, NodeCache, entries_to_evict
from kumo.packages.store_client import StoreClient, credential_headers


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path: Path):
    with running_code_store(tmp_path / "store") as running:
        yield running


def _client(store: CodeStore) -> StoreClient:
    return StoreClient(store.url, credential_headers(store.credential))


def _remove_from_store(store: CodeStore, ref: PackageRef) -> None:
    (store.root / ref.sha256[:2] / ref.sha256).unlink()


def test_a_second_fetch_on_the_node_comes_from_the_cache(store: CodeStore, tmp_path: Path) -> None:
    package, layer = _zip({"app.py": "WHO = 'pkg'\n"}), _zip({"python/lib.py": "X = 1\n"})
    cache = NodeCache(tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    with _client(store) as client:
        ref, layer_ref = client.put(package)[0], client.put(layer)[0]
        first = fetch_packages(client, ref, tmp_path / "t1", [layer_ref], tmp_path / "o1", cache)
    assert first.cached == 0
    assert (tmp_path / "cache" / ref.sha256).read_bytes() == package
    assert (tmp_path / "cache" / layer_ref.sha256).read_bytes() == layer
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith(TEMP_PREFIX)] == []

    _remove_from_store(store, ref)  # the store no longer has them: only the cache can answer
    _remove_from_store(store, layer_ref)
    with _client(store) as client:
        second = fetch_packages(client, ref, tmp_path / "t2", [layer_ref], tmp_path / "o2", cache)
    assert second.cached == 2
    assert (tmp_path / "t2" / "app.py").read_text() == "WHO = 'pkg'\n"
    assert (tmp_path / "o2" / "python" / "lib.py").read_text() == "X = 1\n"


def test_a_tampered_or_partial_entry_is_ignored_and_replaced(store: CodeStore, tmp_path: Path) -> None:
    package = _zip({"app.py": "REAL = True\n"})
    evil = _zip({"app.py": "REAL = False\n"})
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    cache = NodeCache(cache_dir)
    with _client(store) as client:
        ref, _ = client.put(package)
    for planted in (evil[: len(package)].ljust(len(package), b"\0"), package[: len(package) // 2], b""):
        (cache_dir / ref.sha256).unlink(missing_ok=True)
        (cache_dir / ref.sha256).write_bytes(planted)  # same name, other bytes (same size, or cut short)
        dest = tmp_path / f"task-{len(planted)}"
        with _client(store) as client:
            done = fetch_packages(client, ref, dest, cache=cache)
        assert done.cached == 0
        assert (dest / "app.py").read_text() == "REAL = True\n"
        assert (cache_dir / ref.sha256).read_bytes() == package  # the fresh download replaced it

    (cache_dir / ref.sha256).unlink()
    (cache_dir / ref.sha256).write_bytes(evil.ljust(len(package), b"\0")[: len(package)])
    _remove_from_store(store, ref)  # a bad entry and no store copy: refused, never used
    with _client(store) as client, pytest.raises(FetchRefused, match="NotFound"):
        fetch_packages(client, ref, tmp_path / "never", cache=cache)
    assert not (tmp_path / "never").exists()


def test_an_unusable_cache_does_not_stop_the_fetch(store: CodeStore, tmp_path: Path) -> None:
    package = _zip({"app.py": "OK = 1\n"})
    not_a_dir = tmp_path / "cache-file"
    not_a_dir.write_text("a file where the cache directory should be")
    with _client(store) as client:
        ref, _ = client.put(package)
        done = fetch_packages(client, ref, tmp_path / "task", cache=NodeCache(not_a_dir))
    assert done.cached == 0 and (tmp_path / "task" / "app.py").read_text() == "OK = 1\n"
    missing = NodeCache(tmp_path / "no-such-dir")
    assert missing.read(ref) is None and missing.write(ref, package) is False and missing.evict(set()) == []


def test_the_cache_is_trimmed_least_recently_used_first_keeping_what_was_just_used(
    store: CodeStore, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    datas = [_zip({"app.py": f"N = {n}\n" + "#" * 400}) for n in range(3)]
    refs = [ref_of(d) for d in datas]
    for age, (ref, data) in zip((300, 200, 100), zip(refs, datas, strict=True), strict=True):
        assert NodeCache(cache_dir).write(ref, data)
        os.utime(cache_dir / ref.sha256, (time.time() - age, time.time() - age))
    stale = cache_dir / f"{TEMP_PREFIX}dead"
    stale.write_bytes(b"left by a fetch that died")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    fresh = cache_dir / f"{TEMP_PREFIX}writing"
    fresh.write_bytes(b"a fetch writing now")
    size = len(datas[0])
    with _client(store) as client:
        client.put(datas[0])
        # room for two archives; the oldest entry is the one fetched, so it stays and the next oldest goes
        done = fetch_packages(client, refs[0], tmp_path / "task", cache=NodeCache(cache_dir, 2 * size + 10))
    assert done.cached == 1
    assert sorted(p.name for p in cache_dir.iterdir()) == sorted([refs[0].sha256, refs[2].sha256, fresh.name])


def test_eviction_rule() -> None:
    entries = [CacheEntry("a", 10, 1.0), CacheEntry("b", 10, 2.0), CacheEntry("c", 10, 3.0)]
    assert entries_to_evict(entries, 30, set()) == []
    assert entries_to_evict(entries, 25, set()) == ["a"]
    assert entries_to_evict(entries, 10, {"a"}) == ["b", "c"]
    assert entries_to_evict(entries, 0, {"a", "b", "c"}) == []
    assert entries_to_evict(entries, 0, set()) == ["a", "b", "c"]


def test_the_fetch_command_fills_and_then_uses_the_cache(store: CodeStore, tmp_path: Path) -> None:
    package = _zip({"app.py": "def handler(e, c):\n    return 1\n"})
    with _client(store) as client:
        ref, _ = client.put(package)
    (tmp_path / "cache").mkdir()
    env = dict(os.environ, **{platform_credential.ENV_VAR: store.credential})
    cmd = [sys.executable, "-m", "kumo_cli", "package", "fetch", "--store-url", store.url]
    cmd += ["--package", f"{ref.sha256}:{ref.size}", "--cache-dir", str(tmp_path / "cache")]
    cmd += ["--cache-max-bytes", "1000000"]
    runs = []
    for n in (1, 2):
        runs.append(
            subprocess.run(
                [*cmd, "--code-dir", str(tmp_path / f"t{n}")], env=env, capture_output=True, text=True, timeout=60
            )
        )
        assert runs[-1].returncode == 0, runs[-1].stderr
    assert "0 archive(s) from the node cache" in runs[0].stdout
    assert "1 archive(s) from the node cache" in runs[1].stdout
    assert (tmp_path / "t2" / "app.py").read_text().startswith("def handler")
