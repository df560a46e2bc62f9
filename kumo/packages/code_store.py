"""The code store's wire contract (pure): paths, the content address, limits, the hash check.

The cluster's code store (``codestore/kumo_codestore``, docs/code-store.md) keeps deployment packages
and layer archives by the SHA-256 of the archive's bytes:

- ``PUT  /packages/<sha256>``: the body is the zip; the store hashes what it receives and refuses a
  body whose SHA-256 is not ``<sha256>`` (400 ``HashMismatch``) or which is over the limits (413
  ``PackageTooLarge``; 50 MB zipped, 250 MB unzipped), and a new archive that would take the store over
  its storage limit (507 ``CodeStorageExceeded``, ``kumo.packages.storage_limit``). 201 when stored, 200
  when already there.
- ``GET  /packages/<sha256>`` / ``HEAD``: the archive (``Content-Length``, ``ETag: "<sha256>"``), 404
  ``NotFound``.
- ``GET  /packages``: every stored archive, ``{"archives": [{"sha256", "size", "modified"}]}``
  (``modified``: Unix seconds of the upload; re-uploading an archive the store has refreshes it).
- ``DELETE /packages/<sha256>?olderThan=<seconds>``: remove the archive (204) unless it was uploaded
  within the last ``<seconds>`` (409 ``TooRecent``: it was uploaded again since the caller looked); 404
  ``NotFound``. The operator's garbage collection is the one caller.

Every request carries the platform credential (``kumo.platform_credential.HEADER``; 403 without it).
Errors are ``{"error": <code>, "message": ...}``. Every client (``kumo deploy`` through the gateway's
admin API, the pod's fetch step, the operator's existence check) and the server use this module.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from kumo.packages.plan import MAX_UNZIPPED_BYTES, MAX_ZIPPED_BYTES, check_zip_sizes

PREFIX = "/packages/"
#: ``GET`` lists every archive.
LIST_PATH = "/packages"
#: The query parameter of a conditional ``DELETE``.
OLDER_THAN = "olderThan"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
_SHA256_RE = re.compile(SHA256_PATTERN)
#: The code store's port (container and Service).
PORT = 8090

__all__ = ["MAX_UNZIPPED_BYTES", "MAX_ZIPPED_BYTES", "PREFIX", "ArchiveEntry", "PackageRef", "check_zip_sizes"]


class StoreError(ValueError):
    """A code store request failed or a package does not match its address; ``code`` names why."""

    def __init__(self, code: str, message: str, status: int = 400, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        #: The store's own message (``message`` may add who answered).
        self.detail = message if detail is None else detail


@dataclass(frozen=True)
class PackageRef:
    """An archive in the code store: its SHA-256 (hex) and size in bytes."""

    sha256: str
    size: int

    def __post_init__(self) -> None:
        if not is_sha256(self.sha256):
            raise StoreError("InvalidAddress", f"{self.sha256!r} is not a lowercase hex SHA-256")
        if not 0 < self.size <= MAX_ZIPPED_BYTES:
            raise StoreError("InvalidSize", f"size {self.size} must be 1..{MAX_ZIPPED_BYTES} bytes")


@dataclass(frozen=True)
class ArchiveEntry:
    """One archive the store holds (``GET /packages``): its address, size and upload time (Unix seconds)."""

    sha256: str
    size: int
    modified: float


def listing_body(entries: Iterable[ArchiveEntry]) -> str:
    """The JSON body of ``GET /packages``."""
    archives = [{"sha256": e.sha256, "size": e.size, "modified": e.modified} for e in entries]
    return json.dumps({"archives": archives})


def parse_listing(body: bytes | str) -> list[ArchiveEntry]:
    """The entries of a ``GET /packages`` body (StoreError ``InvalidListing`` when it is not that shape)."""
    try:
        archives = json.loads(body)["archives"]
        entries = [ArchiveEntry(str(a["sha256"]), int(a["size"]), float(a["modified"])) for a in archives]
    except (ValueError, TypeError, KeyError) as exc:
        raise StoreError("InvalidListing", f"the code store's listing is malformed: {exc}") from None
    if not all(is_sha256(e.sha256) for e in entries):
        raise StoreError("InvalidListing", "the code store's listing names an address that is not a SHA-256")
    return entries


def parse_older_than(text: str | None) -> float:
    """The ``olderThan`` of a ``DELETE`` (seconds, required, >= 0; StoreError ``InvalidParameter`` otherwise)."""
    try:
        value = float(text) if text is not None else -1.0
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise StoreError("InvalidParameter", f"{OLDER_THAN} must be a number of seconds >= 0, got {text!r}")
    return value


def is_sha256(text: str) -> bool:
    return bool(_SHA256_RE.match(text))


def package_path(sha256: str) -> str:
    """``/packages/<sha256>``; a malformed address is a :class:`StoreError`."""
    if not is_sha256(sha256):
        raise StoreError("InvalidAddress", f"{sha256!r} is not a lowercase hex SHA-256")
    return PREFIX + sha256


def address_of(path: str) -> str:
    """The ``<sha256>`` of a request path ``/packages/<sha256>`` (StoreError 404/400 otherwise)."""
    if not path.startswith(PREFIX):
        raise StoreError("NotFound", f"no such path {path!r}", 404)
    sha = path[len(PREFIX) :]
    if not is_sha256(sha):
        raise StoreError("InvalidAddress", f"{sha!r} is not a lowercase hex SHA-256")
    return sha


def ref_of(data: bytes) -> PackageRef:
    """The address of an archive's bytes."""
    return PackageRef(hashlib.sha256(data).hexdigest(), len(data))


def check_archive(expected: PackageRef | str, data: bytes) -> None:
    """Raise :class:`StoreError` ``HashMismatch`` unless ``data`` is the archive ``expected`` names."""
    sha = expected if isinstance(expected, str) else expected.sha256
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha:
        raise StoreError("HashMismatch", f"SHA-256 mismatch: expected {sha}, got {actual} ({len(data)} bytes)")
    if isinstance(expected, PackageRef) and expected.size != len(data):
        raise StoreError("SizeMismatch", f"package {sha}: expected {expected.size} bytes, got {len(data)}")
