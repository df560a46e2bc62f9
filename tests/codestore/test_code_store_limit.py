"""The code store's total storage limit (`kumo codestore --storage-limit`), on a real store process:
a new archive over the limit is refused with `507 CodeStorageExceeded` and nothing is kept, an archive the
store has costs nothing again, deleting makes room, and a restarted store counts what it holds."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from code_store_process import CodeStore, running_code_store

from kumo import platform_credential
from kumo.packages.code_store import StoreError
from kumo.packages.storage_limit import STORE_ERROR, STORE_STATUS
from kumo.packages.store_client import StoreClient, credential_headers

LIMIT = 50_000


def _zip(noise: int) -> bytes:
    """A stored (uncompressed) zip of ``noise`` random bytes: its size is ``noise`` plus a little."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return 1\n")
        archive.writestr("noise.bin", os.urandom(noise))
    return buffer.getvalue()


def _client(store: CodeStore) -> StoreClient:
    return StoreClient(store.url, credential_headers(store.credential))


def _stored(store: CodeStore) -> list[str]:
    return sorted(p.name for p in store.root.glob("??/*"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CodeStore]:
    with running_code_store(tmp_path / "store", args=("--storage-limit", str(LIMIT))) as running:
        yield running


def test_an_archive_over_the_limit_is_refused_and_nothing_is_kept(store: CodeStore) -> None:
    first, second = _zip(30_000), _zip(30_000)
    with _client(store) as client:
        ref, created = client.put(first)
        assert created
        with pytest.raises(StoreError) as refused:
            client.put(second)
        assert refused.value.code == STORE_ERROR and refused.value.status == STORE_STATUS
        assert f"the limit is {LIMIT} bytes" in refused.value.detail
        assert f"holds {len(first)} bytes" in refused.value.detail
        assert "--storage-limit" in refused.value.detail and "codeStore.storageLimit" in refused.value.detail
        assert client.head(hashlib.sha256(second).hexdigest()) is None
        # the same archive again costs nothing: accepted although the store is nearly full
        assert client.put(first) == (ref, False)
    assert _stored(store) == [ref.sha256]
    assert list((store.root / ".incoming").iterdir()) == []


def test_a_chunked_upload_is_checked_once_its_size_is_known(store: CodeStore) -> None:
    first, second = _zip(30_000), _zip(30_000)
    headers = credential_headers(store.credential)
    with _client(store) as client:
        client.put(first)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the store learns the size by reading
        for start in range(0, len(second), 4096):
            yield second[start : start + 4096]

    sha = hashlib.sha256(second).hexdigest()
    response = httpx.put(f"{store.url}/packages/{sha}", content=chunks(), headers=headers, timeout=30)
    assert response.status_code == STORE_STATUS and response.json()["error"] == STORE_ERROR
    assert _stored(store) == [hashlib.sha256(first).hexdigest()]
    assert list((store.root / ".incoming").iterdir()) == []


def test_deleting_makes_room_and_a_restarted_store_counts_what_it_holds(store: CodeStore) -> None:
    first, second = _zip(30_000), _zip(30_000)
    with _client(store) as client:
        ref, _ = client.put(first)
    store.proc.terminate()  # one store over a volume at a time, as the chart's Recreate rollout
    store.proc.wait(timeout=30)
    with running_code_store(store.root, args=("--storage-limit", str(LIMIT))) as again, _client(again) as client:
        with pytest.raises(StoreError) as refused:
            client.put(second)
        assert refused.value.code == STORE_ERROR
        headers = credential_headers(again.credential)
        deleted = httpx.delete(f"{again.url}/packages/{ref.sha256}", params={"olderThan": "0"}, headers=headers)
        assert deleted.status_code == 204
        other, created = client.put(second)
        assert created and client.get(other) == second
    assert _stored(store) == [other.sha256]


def test_the_limit_is_bytes_or_a_quantity() -> None:
    env = dict(os.environ, **{platform_credential.ENV_VAR: "test-credential-0123456789"})
    cmd = [sys.executable, "-m", "kumo_cli", "codestore", "--root", "/nonexistent", "--storage-limit", "lots"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--storage-limit" in done.stderr and "75Gi" in done.stderr
