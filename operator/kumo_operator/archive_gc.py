"""What the code store's garbage collection deletes (pure): archives nothing refers to, past a grace period.

Referenced (kept), conservatively, whatever their age:

- every ``sha256`` field anywhere in a Function's ``spec`` (``code.package`` and its ``layers``) and in its
  ``status.versions`` records (what a published version froze), valid or not as a Function;
- the ``sha256`` data key of every ConfigMap labelled ``kumo.dev/layer`` (a cluster layer version).

An unreferenced archive is deleted only once it is older than the grace period (its last upload,
``ArchiveEntry.modified``), so an archive uploaded for a Function not created yet survives
(``kumo deploy`` uploads, then ``kubectl apply``). The I/O is :mod:`kumo_operator.archive_gc_loop`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kumo.kube.names import LAYER_SHA256_KEY
from kumo.packages.code_store import ArchiveEntry, is_sha256

#: Defaults: look every 10 minutes; never delete what was uploaded within the last hour.
DEFAULT_INTERVAL_S = 600.0
DEFAULT_GRACE_S = 3600.0


def _sha256_fields(value: Any) -> Iterator[str]:
    """Every string under a ``sha256`` key, at any depth."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "sha256" and isinstance(item, str):
                yield item
            else:
                yield from _sha256_fields(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _sha256_fields(item)


def function_archives(fn: Mapping[str, Any]) -> set[str]:
    """The archives one Function refers to: its spec and its published versions' records."""
    versions = (fn.get("status") or {}).get("versions") if isinstance(fn.get("status"), Mapping) else None
    found = set(_sha256_fields(fn.get("spec"))) | set(_sha256_fields(versions))
    return {sha for sha in found if is_sha256(sha)}


def layer_archive(config_map: Mapping[str, Any]) -> str | None:
    """The archive a ``kumo.dev/layer`` ConfigMap records (``data.sha256``), if well-formed."""
    data = config_map.get("data")
    sha = data.get(LAYER_SHA256_KEY) if isinstance(data, Mapping) else None
    return sha.strip() if isinstance(sha, str) and is_sha256(sha.strip()) else None


def referenced_archives(functions: Iterable[Mapping[str, Any]], layers: Iterable[Mapping[str, Any]]) -> set[str]:
    referenced: set[str] = set()
    for fn in functions:
        referenced |= function_archives(fn)
    referenced |= {sha for sha in map(layer_archive, layers) if sha}
    return referenced


@dataclass(frozen=True)
class Collection:
    """One pass's decision: what to delete, and how many were kept and why (for the log)."""

    delete: tuple[ArchiveEntry, ...]
    referenced: int
    too_recent: int


def archives_to_delete(stored: Iterable[ArchiveEntry], referenced: set[str], now: float, grace_s: float) -> Collection:
    """Unreferenced archives uploaded at least ``grace_s`` ago (oldest first)."""
    delete: list[ArchiveEntry] = []
    kept_referenced = too_recent = 0
    for entry in stored:
        if entry.sha256 in referenced:
            kept_referenced += 1
        elif now - entry.modified < grace_s:
            too_recent += 1
        else:
            delete.append(entry)
    delete.sort(key=lambda e: (e.modified, e.sha256))
    return Collection(tuple(delete), kept_referenced, too_recent)
