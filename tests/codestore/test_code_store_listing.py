"""The code store's garbage-collection calls for real: the listing and the conditional DELETE."""

from __future__ import annotations

import asyncio
import io
import os
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from code_store_process import CodeStore, running_code_store

from kumo.packages.code_store import StoreError
from kumo.packages.store_client import AsyncStoreAdmin, StoreClient, credential_headers


def _zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", text)
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path: Path):
    with running_code_store(tmp_path / "store") as running:
        yield running


def _age(store: CodeStore, sha: str, seconds: float) -> None:
    """Make the stored archive look uploaded ``seconds`` ago."""
    moment = time.time() - seconds
    os.utime(store.root / sha[:2] / sha, (moment, moment))


def test_the_listing_names_every_archive_with_its_size_and_upload_time(store: CodeStore) -> None:
    datas = [_zip("a = 1\n"), _zip("b = 2\n")]
    with StoreClient(store.url, credential_headers(store.credential)) as client:
        refs = [client.put(data)[0] for data in datas]
    (store.root / "stray.txt").write_text("not an archive")
    _age(store, refs[0].sha256, 7200)

    async def listing() -> dict:
        async with AsyncStoreAdmin(store.url, credential_headers(store.credential)) as admin:
            return {e.sha256: e for e in await admin.list()}

    entries = asyncio.run(listing())
    assert set(entries) == {r.sha256 for r in refs}
    assert [entries[r.sha256].size for r in refs] == [len(d) for d in datas]
    assert time.time() - entries[refs[0].sha256].modified > 7000
    assert time.time() - entries[refs[1].sha256].modified < 600

    with StoreClient(store.url, credential_headers(store.credential)) as client:
        assert client.put(datas[0]) == (refs[0], False)  # uploaded again: young again
    assert time.time() - asyncio.run(listing())[refs[0].sha256].modified < 600


def test_delete_only_what_is_older_than_asked_and_only_with_the_credential(store: CodeStore) -> None:
    data = _zip("c = 3\n")
    with StoreClient(store.url, credential_headers(store.credential)) as client:
        ref, _ = client.put(data)
    path = f"{store.url}/packages/{ref.sha256}"

    async def delete(older_than_s: float) -> bool:
        async with AsyncStoreAdmin(store.url, credential_headers(store.credential)) as admin:
            return await admin.delete(ref.sha256, older_than_s)

    assert asyncio.run(delete(3600)) is False  # just uploaded: TooRecent, kept
    answer = httpx.delete(path, params={"olderThan": "3600"}, headers=credential_headers(store.credential))
    assert answer.status_code == 409 and answer.json()["error"] == "TooRecent"
    for bad in ("", "-1", "soon", "inf"):
        answer = httpx.delete(path, params={"olderThan": bad}, headers=credential_headers(store.credential))
        assert answer.status_code == 400 and answer.json()["error"] == "InvalidParameter", bad
    assert httpx.delete(path, params={"olderThan": "0"}).status_code == 403
    assert httpx.get(f"{store.url}/packages").status_code == 403
    assert (store.root / ref.sha256[:2] / ref.sha256).exists()

    _age(store, ref.sha256, 7200)
    assert asyncio.run(delete(3600)) is True
    assert not (store.root / ref.sha256[:2] / ref.sha256).exists()
    assert asyncio.run(delete(0)) is False  # gone already
    with StoreClient(store.url, credential_headers(store.credential)) as client:
        assert client.head(ref.sha256) is None
        assert client.put(data) == (ref, True)  # and can be uploaded again


def test_an_unreachable_store_is_a_store_error(tmp_path: Path) -> None:
    with running_code_store(tmp_path / "gone") as gone:
        url = gone.url

    async def listing() -> None:
        async with AsyncStoreAdmin(url, {}) as admin:
            await admin.list()

    with pytest.raises(StoreError, match="unreachable"):
        asyncio.run(listing())
