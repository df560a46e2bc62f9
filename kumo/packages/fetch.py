"""A runtime pod's fetch step: download the function's package (and layers), verify, extract.

The operator gives a Function with ``code.package`` an init container running ``kumo package fetch``
(docs/code-store.md). It downloads each archive from the code store, checks its SHA-256 and size
against the Function's spec (a mismatch refuses to start: one log line naming the package and both
hashes, exit status 1, so the pod never becomes ready), then extracts the package into the task
root (``/var/task``, an emptyDir) and the layers, in order, into ``/opt`` (a later layer's file
replaces an earlier one's, as on Lambda). With a node cache (``--cache-dir``, the chart's
``codeStore.nodeCache``: :mod:`kumo.packages.node_cache`) each archive is looked up there first,
verified the same way, and a download is written to it for the next pod on the node.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kumo.packages.archive import extract_archive
from kumo.packages.code_store import PackageRef, StoreError
from kumo.packages.node_cache import NodeCache
from kumo.packages.plan import PackageError
from kumo.packages.store_client import StoreClient

log = logging.getLogger("kumo.packages.fetch")


class FetchRefused(RuntimeError):
    """The package or a layer cannot be used (missing, hash mismatch, bad archive); the message says why."""


@dataclass(frozen=True)
class Fetched:
    files: int
    layer_files: int
    seconds: float
    #: Archives found (verified) in the node cache rather than downloaded.
    cached: int = 0


def parse_ref(text: str) -> PackageRef:
    """``<sha256>:<size>`` (how the operator passes refs on the command line)."""
    sha, sep, size = text.partition(":")
    if not sep or not size.isdigit():
        raise FetchRefused(f"{text!r} must be <sha256>:<size>")
    try:
        return PackageRef(sha, int(size))
    except StoreError as exc:
        raise FetchRefused(str(exc)) from None


def _download(client: StoreClient, what: str, ref: PackageRef) -> bytes:
    try:
        return client.get(ref)
    except StoreError as exc:
        raise FetchRefused(f"{what} {ref.sha256}: {exc}; refusing to start") from None


def _obtain(client: StoreClient, cache: NodeCache | None, what: str, ref: PackageRef) -> tuple[bytes, bool]:
    """(the verified archive, whether it came from the node cache)."""
    if cache is not None and (data := cache.read(ref)) is not None:
        return data, True
    data = _download(client, what, ref)
    if cache is not None:
        cache.write(ref, data)
    return data, False


def fetch_packages(
    client: StoreClient,
    package: PackageRef,
    code_dir: Path,
    layers: Sequence[PackageRef] = (),
    opt_dir: Path | None = None,
    cache: NodeCache | None = None,
) -> Fetched:
    """Obtain and verify everything first, then extract: a bad layer leaves the task root empty."""
    import httpx

    started = time.monotonic()
    wanted = [("package", package)] + [(f"layer {i + 1}", ref) for i, ref in enumerate(layers)]
    try:
        obtained = [_obtain(client, cache, what, ref) for what, ref in wanted]
    except httpx.HTTPError as exc:
        raise FetchRefused(f"code store unreachable at {client.base_url}: {exc}") from None
    if cache is not None:
        cache.evict({ref.sha256 for _, ref in wanted})
    archives = [data for data, _ in obtained]
    if layers and opt_dir is None:
        raise FetchRefused("layers given without an /opt directory")
    try:
        files = extract_archive(archives[0], code_dir)
        layer_files = sum(extract_archive(data, opt_dir) for data in archives[1:]) if opt_dir else 0
    except PackageError as exc:
        raise FetchRefused(f"package {package.sha256}: {exc}") from None
    return Fetched(files, layer_files, time.monotonic() - started, sum(hit for _, hit in obtained))
