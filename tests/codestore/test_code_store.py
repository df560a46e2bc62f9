"""The code store process for real: PUT/GET/HEAD by SHA-256, the credential, the limits, the fetch step."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest
from code_store_process import CodeStore, running_code_store

from kumo import platform_credential
from kumo.packages.archive import archive_directory
from kumo.packages.code_store import PackageRef, StoreError, ref_of
from kumo.packages.fetch import FetchRefused, fetch_packages
from kumo.packages.store_client import StoreClient, credential_headers


def _zip(files: dict[str, bytes], executables: frozenset[str] = frozenset()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | (0o755 if name in executables else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path: Path):
    with running_code_store(tmp_path / "store") as running:
        yield running


def _client(store: CodeStore) -> StoreClient:
    return StoreClient(store.url, credential_headers(store.credential))


def test_put_get_head_round_trip(store: CodeStore) -> None:
    data = _zip({"app.py": b"def handler(e, c):\n    return 1\n"})
    with _client(store) as client:
        ref, created = client.put(data)
        assert created and ref == ref_of(data)
        assert client.put(data) == (ref, False)  # the same archive again: kept, not rewritten
        assert client.head(ref.sha256) == len(data)
        assert client.get(ref) == data
        assert client.head("0" * 64) is None
    stored = store.root / ref.sha256[:2] / ref.sha256
    assert stored.read_bytes() == data and stored.stat().st_mode & 0o777 == 0o444


def test_every_request_needs_the_platform_credential(store: CodeStore) -> None:
    data = _zip({"a.py": b"x = 1\n"})
    url = f"{store.url}/packages/{hashlib.sha256(data).hexdigest()}"
    for method in ("PUT", "GET", "HEAD"):
        assert httpx.request(method, url, content=data if method == "PUT" else None).status_code == 403
        wrong = {platform_credential.HEADER: "not-it"}
        assert httpx.request(method, url, headers=wrong).status_code == 403
    assert not any(p.is_file() for p in store.root.rglob("*") if ".incoming" not in p.parts)


def test_a_body_whose_hash_is_not_its_address_is_refused_and_not_stored(store: CodeStore) -> None:
    data = _zip({"a.py": b"x = 1\n"})
    other = "1" * 64
    response = httpx.put(f"{store.url}/packages/{other}", content=data, headers=credential_headers(store.credential))
    assert response.status_code == 400 and response.json()["error"] == "HashMismatch"
    assert hashlib.sha256(data).hexdigest() in response.json()["message"]
    assert not (store.root / "11").exists()
    assert list((store.root / ".incoming").iterdir()) == []


def test_bad_addresses_zips_and_sizes_are_refused(store: CodeStore) -> None:
    headers = credential_headers(store.credential)
    assert httpx.get(f"{store.url}/packages/NOTAHASH", headers=headers).json()["error"] == "InvalidAddress"
    junk = b"not a zip at all"
    response = httpx.put(f"{store.url}/packages/{hashlib.sha256(junk).hexdigest()}", content=junk, headers=headers)
    assert response.status_code == 400 and response.json()["error"] == "InvalidZip"
    # 260 MB of zeros compress to a small zip that unpacks past Lambda's 250 MB.
    bomb = io.BytesIO()
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as member,
    ):
        for _ in range(260):
            member.write(bytes(1 << 20))
    body = bomb.getvalue()
    response = httpx.put(f"{store.url}/packages/{hashlib.sha256(body).hexdigest()}", content=body, headers=headers)
    assert response.status_code == 413 and response.json()["error"] == "PackageTooLarge"
    assert "250 MB" in response.json()["message"]
    # A declared body over 50 MB is answered before it is sent.
    host, port = store.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = (
            f"PUT /packages/{'2' * 64} HTTP/1.1\r\nHost: {host}\r\n"
            f"{platform_credential.HEADER}: {store.credential}\r\nContent-Length: {51 * 1024 * 1024}\r\n\r\n"
        )
        sock.sendall(head.encode())
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413") and "PackageTooLarge" in answer


def test_fetch_extracts_the_package_and_layers_in_order(store: CodeStore, tmp_path: Path) -> None:
    code = tmp_path / "code"
    (code / "pkg").mkdir(parents=True)
    (code / "app.py").write_text("import pkg\n")
    (code / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    (code / "bootstrap").write_text("#!/bin/sh\n")
    (code / "bootstrap").chmod(0o755)
    archive = archive_directory(code)
    assert archive == archive_directory(code)  # deterministic: the same tree, the same address
    first = _zip({"python/shared.py": b"WHO = 'first'\n", "bin/tool": b"#!/bin/sh\n"}, frozenset({"bin/tool"}))
    second = _zip({"python/shared.py": b"WHO = 'second'\n"})
    with _client(store) as client:
        refs = [client.put(data)[0] for data in (archive, first, second)]
        done = fetch_packages(client, refs[0], tmp_path / "task", refs[1:], tmp_path / "opt")
    assert done.files == 3 and done.layer_files == 3
    assert (tmp_path / "task" / "pkg" / "__init__.py").read_text() == "VALUE = 1\n"
    assert os.access(tmp_path / "task" / "bootstrap", os.X_OK)
    assert not os.access(tmp_path / "task" / "app.py", os.X_OK)
    assert (tmp_path / "opt" / "python" / "shared.py").read_text() == "WHO = 'second'\n"
    assert os.access(tmp_path / "opt" / "bin" / "tool", os.X_OK)


def test_fetch_refuses_a_corrupted_archive_and_extracts_nothing(store: CodeStore, tmp_path: Path) -> None:
    data = _zip({"app.py": b"print('hello')\n"})
    with _client(store) as client:
        ref, _ = client.put(data)
        with pytest.raises(StoreError, match=r"package .* expected .* bytes"):
            client.get(PackageRef(ref.sha256, ref.size + 1))
    stored = store.root / ref.sha256[:2] / ref.sha256
    stored.chmod(0o644)
    stored.write_bytes(data[:-10] + b"corrupted!")  # the disk under the store goes bad
    with _client(store) as client, pytest.raises(FetchRefused) as refused:
        fetch_packages(client, ref, tmp_path / "task")
    assert "SHA-256 mismatch" in str(refused.value) and ref.sha256 in str(refused.value)
    assert not (tmp_path / "task").exists()
    with _client(store) as client, pytest.raises(FetchRefused, match="NotFound"):
        fetch_packages(client, PackageRef("3" * 64, 10), tmp_path / "task")


def _fetch_command(store: CodeStore, ref: str, dest: Path, credential: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != platform_credential.ENV_VAR}
    if credential:
        env[platform_credential.ENV_VAR] = credential
    cmd = [sys.executable, "-m", "kumo_cli", "package", "fetch", "--store-url", store.url, "--package", ref]
    return subprocess.run([*cmd, "--code-dir", str(dest)], env=env, capture_output=True, text=True, timeout=60)


def test_the_fetch_command_verifies_then_extracts_or_refuses(store: CodeStore, tmp_path: Path) -> None:
    data = _zip({"app.py": b"def handler(e, c):\n    return 'ok'\n"})
    with _client(store) as client:
        ref, _ = client.put(data)
    done = _fetch_command(store, f"{ref.sha256}:{ref.size}", tmp_path / "task", store.credential)
    assert done.returncode == 0, done.stderr
    assert f"package {ref.sha256} verified, 1 files" in done.stdout
    assert (tmp_path / "task" / "app.py").read_bytes().startswith(b"def handler")
    refused = _fetch_command(store, f"{ref.sha256}:{ref.size}", tmp_path / "t2", None)
    assert refused.returncode == 1 and "REFUSED" in refused.stderr and "403" in refused.stderr
    (store.root / ref.sha256[:2] / ref.sha256).chmod(0o644)
    (store.root / ref.sha256[:2] / ref.sha256).write_bytes(data[:40] + bytes([data[40] ^ 0xFF]) + data[41:])
    refused = _fetch_command(store, f"{ref.sha256}:{ref.size}", tmp_path / "t3", store.credential)
    assert refused.returncode == 1
    assert f"REFUSED: package {ref.sha256}: SHA-256 mismatch" in refused.stderr
    assert not (tmp_path / "t3").exists()
