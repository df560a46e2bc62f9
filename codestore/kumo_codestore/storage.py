"""Archives on disk by SHA-256: ``<root>/<aa>/<sha256>``, written through a staging file and a rename.

An upload is hashed while it is written to ``<root>/.incoming/``; only a body whose SHA-256 is its
address, within Lambda's limits and a readable zip, is renamed into place, so the store never holds
a partial or mislabelled archive. Stored archives are read-only (0o444) and never rewritten; an
archive's modification time is its last upload (uploading it again refreshes it), which is what the
operator's garbage collection's grace period counts from (:meth:`ArchiveStore.delete`).

The store keeps the total size of its archives (summed at start, kept up to date by every write and
delete: the event loop runs them one at a time) and refuses a new archive that would take it over its
storage limit (``kumo.packages.storage_limit``: Lambda's ``CodeStorageExceededException`` rule); an
archive it already has costs nothing again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from kumo.packages.code_store import MAX_ZIPPED_BYTES, ArchiveEntry, StoreError, check_zip_sizes, is_sha256
from kumo.packages.storage_limit import DEFAULT_CODE_STORAGE_BYTES, STORE_ERROR, STORE_STATUS, storage_exceeded

#: Where the cluster's limit is set (named in the refusal).
STORAGE_SETTING = "kumo codestore --storage-limit, chart value codeStore.storageLimit"


class ArchiveStore:
    def __init__(self, root: Path, storage_limit: int = DEFAULT_CODE_STORAGE_BYTES) -> None:
        self.root = root
        self.storage_limit = storage_limit
        self.incoming = root / ".incoming"
        self.incoming.mkdir(parents=True, exist_ok=True)
        for leftover in self.incoming.iterdir():  # an upload cut by a restart
            leftover.unlink(missing_ok=True)
        #: Bytes of every stored archive.
        self.used = sum(entry.size for entry in self.entries())

    def check_room(self, sha256: str, size: int) -> None:
        """StoreError ``CodeStorageExceeded`` (507) when storing ``size`` bytes as ``sha256`` would go over
        the storage limit; an archive the store has costs nothing."""
        stored = self.size(sha256) is not None
        problem = storage_exceeded(self.used, size, self.storage_limit, already_stored=stored, setting=STORAGE_SETTING)
        if problem is not None:
            raise StoreError(STORE_ERROR, problem, STORE_STATUS)

    def path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise StoreError("InvalidAddress", f"{sha256!r} is not a lowercase hex SHA-256")
        return self.root / sha256[:2] / sha256

    def size(self, sha256: str) -> int | None:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def entries(self) -> Iterator[ArchiveEntry]:
        """Every stored archive (``<root>/<aa>/<sha256>``; staging files and strays are not archives)."""
        for shard in sorted(self.root.iterdir()):
            if len(shard.name) != 2 or not shard.is_dir():
                continue
            for path in sorted(shard.iterdir()):
                if not is_sha256(path.name) or path.name[:2] != shard.name:
                    continue
                try:
                    stat = path.stat()
                except FileNotFoundError:  # deleted meanwhile
                    continue
                yield ArchiveEntry(path.name, stat.st_size, stat.st_mtime)

    def delete(self, sha256: str, older_than_s: float, now: float | None = None) -> bool:
        """Remove ``sha256`` unless it was uploaded within ``older_than_s``; False when it is not stored.

        StoreError ``TooRecent`` (409) when it is younger: someone uploaded it again since the caller
        listed it, most likely for a Function about to be created.
        """
        path = self.path(sha256)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return False
        age = (time.time() if now is None else now) - stat.st_mtime
        if age < older_than_s:
            raise StoreError("TooRecent", f"package {sha256} was uploaded {age:.0f}s ago (< {older_than_s:.0f}s)", 409)
        path.unlink(missing_ok=True)
        self.used -= stat.st_size
        return True

    async def put(self, sha256: str, chunks: AsyncIterator[bytes]) -> bool:
        """Store the streamed body under ``sha256``; True when new, False when it was already there."""
        final = self.path(sha256)
        digest, total = hashlib.sha256(), 0
        fd, staging = tempfile.mkstemp(dir=self.incoming)
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    total += len(chunk)
                    if total > MAX_ZIPPED_BYTES:
                        raise StoreError(
                            "PackageTooLarge", f"package is over {MAX_ZIPPED_BYTES} bytes (50 MB zipped)", 413
                        )
                    digest.update(chunk)
                    out.write(chunk)
            actual = digest.hexdigest()
            if actual != sha256:
                raise StoreError("HashMismatch", f"body SHA-256 is {actual}, not {sha256} ({total} bytes)")
            _check_zip(Path(staging), total)
            if final.exists():
                os.utime(final)  # uploaded again: young again for the garbage collection's grace period
                return False
            self.check_room(sha256, total)  # no await from here to the rename: no other write in between
            final.parent.mkdir(exist_ok=True)
            os.chmod(staging, 0o444)
            os.replace(staging, final)
            self.used += total
            return True
        finally:
            if os.path.exists(staging):
                os.unlink(staging)


def _check_zip(path: Path, zipped: int) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise StoreError("InvalidZip", f"body is not a readable zip: {exc}") from None
    problem = check_zip_sizes(zipped, unzipped)
    if problem:
        raise StoreError("PackageTooLarge", problem, 413)
