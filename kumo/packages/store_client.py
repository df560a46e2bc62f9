"""The one client of the code store's wire contract (:mod:`kumo.packages.code_store`), over httpx.

``base_url`` is the code store itself (the pod's fetch step, the operator) or the gateway's admin
API, which forwards ``/_kumo/packages/<sha256>`` to it (``kumo deploy``); the headers differ, the
paths and answers are the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import httpx

from kumo import platform_credential
from kumo.packages.code_store import (
    LIST_PATH,
    MAX_ZIPPED_BYTES,
    OLDER_THAN,
    ArchiveEntry,
    PackageRef,
    StoreError,
    check_archive,
    package_path,
    parse_listing,
    ref_of,
)

#: Seconds for a whole package transfer (50 MB at a slow few MB/s) and for connecting.
TRANSFER_TIMEOUT_S = 120.0
CONNECT_TIMEOUT_S = 5.0


def credential_headers(credential: str | None) -> dict[str, str]:
    return {platform_credential.HEADER: credential} if credential else {}


def _error(response: httpx.Response) -> StoreError:
    try:
        body = json.loads(response.content)
        code, message = str(body.get("error")), str(body.get("message"))
    except (ValueError, AttributeError):
        code, message = "HTTP" + str(response.status_code), response.text[:200]
    return StoreError(
        code, f"code store answered {response.status_code} {code}: {message}", response.status_code, detail=message
    )


class StoreClient:
    """PUT / GET / HEAD of archives at ``<base_url>/packages/<sha256>``."""

    def __init__(self, base_url: str, headers: Mapping[str, str], *, timeout_s: float = TRANSFER_TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(
            headers=dict(headers), timeout=httpx.Timeout(timeout_s, connect=CONNECT_TIMEOUT_S), trust_env=False
        )

    def __enter__(self) -> StoreClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.client.close()

    def _url(self, sha256: str) -> str:
        return self.base_url + package_path(sha256)

    def put(self, data: bytes) -> tuple[PackageRef, bool]:
        """Upload an archive; (its address, whether it was new)."""
        ref = ref_of(data)
        response = self.client.put(self._url(ref.sha256), content=data)
        if response.status_code not in (200, 201):
            raise _error(response)
        return ref, response.status_code == 201

    def head(self, sha256: str) -> int | None:
        """The stored size of ``sha256``, ``None`` when the store does not have it."""
        response = self.client.head(self._url(sha256))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            hint = " (the admin token is missing or wrong)" if response.status_code == 401 else ""
            raise StoreError("HTTP" + str(response.status_code), f"code store answered {response.status_code}{hint}")
        return int(response.headers.get("content-length", "0"))

    def get(self, ref: PackageRef) -> bytes:
        """The archive ``ref`` names, its SHA-256 and size verified (StoreError ``HashMismatch`` otherwise)."""
        with self.client.stream("GET", self._url(ref.sha256)) as response:
            if response.status_code != 200:
                response.read()
                raise _error(response)
            chunks, total = [], 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > MAX_ZIPPED_BYTES:
                    raise StoreError("PackageTooLarge", f"package {ref.sha256}: more than {MAX_ZIPPED_BYTES} bytes")
                chunks.append(chunk)
        data = b"".join(chunks)
        check_archive(ref, data)
        return data


async def missing_archives(
    base_url: str, headers: Mapping[str, str], refs: list[PackageRef], *, timeout_s: float = 10.0
) -> list[str]:
    """One line per archive the store lacks or holds at another size (async HEADs; the operator's check).

    An unreachable store is a StoreError: the caller cannot tell whether anything is missing.
    """
    problems = []
    async with httpx.AsyncClient(headers=dict(headers), timeout=timeout_s, trust_env=False) as client:
        for ref in refs:
            try:
                response = await client.head(base_url.rstrip("/") + package_path(ref.sha256))
            except httpx.HTTPError as exc:
                raise StoreError("Unreachable", f"code store at {base_url} unreachable: {exc}", 503) from None
            if response.status_code == 404:
                problems.append(f"package {ref.sha256} is not in the code store (upload it with kumo deploy)")
            elif response.status_code != 200:
                raise StoreError("HTTP" + str(response.status_code), f"code store answered {response.status_code}")
            elif int(response.headers.get("content-length", "-1")) != ref.size:
                size = response.headers.get("content-length")
                problems.append(f"package {ref.sha256}: the store holds {size} bytes, the Function says {ref.size}")
    return problems


class AsyncStoreAdmin:
    """The garbage collection's calls (platform credential only): list every archive, delete one."""

    def __init__(self, base_url: str, headers: Mapping[str, str], *, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.AsyncClient(headers=dict(headers), timeout=timeout_s, trust_env=False)

    async def __aenter__(self) -> AsyncStoreAdmin:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.client.aclose()

    async def _send(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        try:
            return await self.client.request(method, self.base_url + path, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise StoreError("Unreachable", f"code store at {self.base_url} unreachable: {exc}", 503) from None

    async def list(self) -> list[ArchiveEntry]:
        response = await self._send("GET", LIST_PATH)
        if response.status_code != 200:
            raise _error(response)
        return parse_listing(response.content)

    async def delete(self, sha256: str, older_than_s: float) -> bool:
        """Delete ``sha256`` if uploaded more than ``older_than_s`` ago: True when deleted, False when it is
        gone already or was uploaded again meanwhile (``TooRecent``)."""
        response = await self._send("DELETE", package_path(sha256), params={OLDER_THAN: f"{older_than_s:g}"})
        if response.status_code == 204:
            return True
        if response.status_code in (404, 409):
            return False
        raise _error(response)
