"""A node's cache of fetched archives (``codeStore.nodeCache``): ``<dir>/<sha256>``, verified on every read.

The fetch step (:mod:`kumo.packages.fetch`) looks here before asking the code store. The directory is
a hostPath shared by every fetch on the node, so nothing in it is trusted: an entry is used only if
its size and SHA-256 are the ones the Function names; a tampered, partial or foreign entry is ignored
(and replaced by the fresh download). Entries are written to a temporary file and renamed into place,
so a reader never sees half an archive, and concurrent fetches of one archive both end with a whole
one. The cache is an optimisation: any failure to read or write it is logged and the fetch goes on.

A hit refreshes the entry's modification time; after each fetch the least recently used entries
beyond the size bound are removed (:func:`entries_to_evict`, pure), never the ones just used.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kumo.packages.code_store import PackageRef, StoreError, check_archive, is_sha256

log = logging.getLogger("kumo.packages.node_cache")
#: Prefix of a write in progress; one older than STALE_TEMP_S was left by a fetch that died.
TEMP_PREFIX = ".incoming-"
STALE_TEMP_S = 3600.0
DEFAULT_MAX_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class CacheEntry:
    name: str
    size: int
    used: float


def entries_to_evict(entries: Iterable[CacheEntry], max_bytes: int, keep: set[str]) -> list[str]:
    """Least recently used first, until the entries not evicted fit in ``max_bytes`` (``keep`` stays)."""
    ordered = sorted(entries, key=lambda e: (e.used, e.name))
    total = sum(e.size for e in ordered)
    evict = []
    for entry in ordered:
        if total <= max_bytes:
            break
        if entry.name in keep:
            continue
        evict.append(entry.name)
        total -= entry.size
    return evict


class NodeCache:
    def __init__(self, root: Path, max_bytes: int | None = None) -> None:
        self.root = root
        self.max_bytes = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes

    def read(self, ref: PackageRef) -> bytes | None:
        """The cached archive ``ref`` names, verified; ``None`` when absent, unreadable or not that archive."""
        path = self.root / ref.sha256
        try:
            if path.stat().st_size != ref.size:
                log.warning("node cache: ignoring %s (%d bytes, expected %d)", path, path.stat().st_size, ref.size)
                return None
            data = path.read_bytes()
            check_archive(ref, data)
        except FileNotFoundError:
            return None
        except (OSError, StoreError) as exc:
            log.warning("node cache: ignoring %s: %s", path, exc)
            return None
        with contextlib.suppress(OSError):  # an entry another user wrote: used anyway, just not marked recent
            os.utime(path)
        return data

    def write(self, ref: PackageRef, data: bytes) -> bool:
        """Store a verified archive (temporary file + rename); False when the cache cannot be written."""
        try:
            fd, temp = tempfile.mkstemp(dir=self.root, prefix=TEMP_PREFIX)
        except OSError as exc:
            log.warning("node cache: cannot write to %s: %s", self.root, exc)
            return False
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o444)
            os.replace(temp, self.root / ref.sha256)
            return True
        except OSError as exc:
            log.warning("node cache: cannot store %s: %s", ref.sha256, exc)
            return False
        finally:
            if os.path.exists(temp):
                os.unlink(temp)

    def evict(self, keep: set[str], now: float | None = None) -> list[str]:
        """Trim the cache to its bound (least recently used first) and drop stale temporary files."""
        now = time.time() if now is None else now
        entries = []
        try:
            for path in self.root.iterdir():
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                if path.name.startswith(TEMP_PREFIX) and now - stat.st_mtime > STALE_TEMP_S:
                    path.unlink(missing_ok=True)
                elif is_sha256(path.name):
                    entries.append(CacheEntry(path.name, stat.st_size, stat.st_mtime))
            evicted = entries_to_evict(entries, self.max_bytes, keep)
            for name in evicted:
                (self.root / name).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("node cache: cannot trim %s: %s", self.root, exc)
            return []
        return evicted
