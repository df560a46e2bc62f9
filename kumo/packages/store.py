"""The code store: uploaded deployment packages (zip bytes) kept by the SHA-256 of their content.

The interface is the small one both modes need — ``put(bytes) -> address``, ``open(address)`` — so
a cluster's code store (a service over a PersistentVolume) can stand where local mode's directory
stands. Local mode keeps ``<state-dir>/code-store/<sha256>.zip``; a write goes to a staging file and
is renamed, so the store never holds a partial upload, and every read is checked against its address.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

_ADDRESS = frozenset("0123456789abcdef")


class StoreError(Exception):
    """A stored package is missing, or its content no longer matches its address."""


def address_of(data: bytes) -> str:
    """The content address of ``data``: its SHA-256, hex."""
    return hashlib.sha256(data).hexdigest()


def is_address(value: str) -> bool:
    return len(value) == 64 and set(value) <= _ADDRESS


class PackageStore(Protocol):
    def put(self, data: bytes) -> str:
        """Keep ``data``; its address (the same bytes always give the same address)."""
        ...

    def open(self, address: str) -> bytes:
        """The bytes stored under ``address``, verified; ``StoreError`` if missing or altered."""
        ...

    def delete(self, address: str) -> None: ...

    def total_bytes(self) -> int:
        """What the store holds, for the code storage limit."""
        ...


class LocalPackageStore:
    """Local mode's code store: one file per address under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, address: str) -> Path:
        if not is_address(address):
            raise StoreError(f"not a package address: {address!r}")
        return self.root / f"{address}.zip"

    def put(self, data: bytes) -> str:
        address = address_of(data)
        final = self.path(address)
        if final.is_file():
            return address
        self.root.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(prefix=".staging-", dir=self.root)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(staging, 0o444)
            os.replace(staging, final)
        finally:
            if os.path.exists(staging):
                os.unlink(staging)
        return address

    def open(self, address: str) -> bytes:
        try:
            data = self.path(address).read_bytes()
        except OSError as exc:
            raise StoreError(f"package {address[:12]} is not in the code store ({exc.strerror or exc})") from None
        if address_of(data) != address:
            raise StoreError(f"package {address[:12]} in the code store does not match its SHA-256 (altered on disk)")
        return data

    def delete(self, address: str) -> None:
        self.path(address).unlink(missing_ok=True)

    def total_bytes(self) -> int:
        if not self.root.is_dir():
            return 0
        return sum(entry.stat().st_size for entry in self.root.iterdir() if entry.name.endswith(".zip"))
