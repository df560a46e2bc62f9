"""The code store's garbage collection (I/O): every interval, delete archives nothing refers to.

One task per operator process, started with kopf (``@kopf.on.startup``) and cancelled at cleanup.
A pass reads the Functions and the ``kumo.dev/layer`` ConfigMaps of the namespaces the operator
watches straight from the API server, lists the code store, and deletes what
:func:`kumo_operator.archive_gc.archives_to_delete` says, each with ``olderThan`` = the grace period so
an archive uploaded again since the listing stays. Any failure to read skips the whole pass: the
collection never deletes from a partial picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import kopf

from kumo.kube.client import KubeError, collection_path
from kumo.kube.names import LAYER_LABEL
from kumo.packages.code_store import StoreError
from kumo.packages.store_client import AsyncStoreAdmin, credential_headers
from kumo_operator.archive_gc import archives_to_delete, referenced_archives
from kumo_operator.state import OperatorState, state_of

log = logging.getLogger("kumo.operator.archive_gc")


class IncompleteView(RuntimeError):
    """The references could not all be read: this pass deletes nothing."""


async def _list_all(state: OperatorState, kind: str, label_selector: str | None = None) -> list[dict[str, Any]]:
    """Every object of ``kind`` the operator watches; a 404 (CRD not installed) is an IncompleteView."""
    params = {"labelSelector": label_selector} if label_selector else {}
    try:
        answer = await state.kube.request("GET", collection_path(kind, state.namespace), **params)
    except (KubeError, OSError) as exc:
        raise IncompleteView(f"cannot list {kind}s: {exc}") from None
    if answer is None or not isinstance(answer.get("items"), list):
        raise IncompleteView(f"cannot list {kind}s: the API server has no such collection")
    return answer["items"]


async def collect_once(state: OperatorState, now: float | None = None) -> list[str]:
    """One pass; the addresses deleted. IncompleteView or StoreError when nothing could be decided."""
    url, grace = state.config.code_store_url, state.config.code_store_gc_grace_s
    if not url:
        return []
    async with AsyncStoreAdmin(url, credential_headers(state.config.platform_credential)) as store:
        stored = await store.list()
        if not stored:
            return []
        functions = await _list_all(state, "Function")
        layers = await _list_all(state, "ConfigMap", LAYER_LABEL)
        moment = time.time() if now is None else now
        plan = archives_to_delete(stored, referenced_archives(functions, layers), moment, grace)
        deleted = [entry.sha256 for entry in plan.delete if await store.delete(entry.sha256, grace)]
    if deleted or plan.delete:
        log.info(
            "code store collection: deleted %d of %d unreferenced archive(s) (kept %d referenced, %d recent)",
            len(deleted),
            len(plan.delete),
            plan.referenced,
            plan.too_recent,
        )
    return deleted


async def collect_forever(state: OperatorState, interval_s: float) -> None:
    """A pass now (once the API client is open), then one every ``interval_s``; failures wait a turn."""
    while True:
        if state.client is not None:
            try:
                await collect_once(state)
            except (IncompleteView, StoreError) as exc:
                log.warning("code store collection skipped: %s", exc)
            except Exception:
                log.exception("code store collection failed")
        await asyncio.sleep(interval_s if state.client is not None else 1.0)


@kopf.on.startup()
async def start_collection(memo: Any, **_: Any) -> None:
    state = state_of(memo)
    interval = state.config.code_store_gc_interval_s
    if state.config.code_store_url and interval:
        state.gc_task = asyncio.create_task(collect_forever(state, interval), name="code-store-gc")


@kopf.on.cleanup()
async def stop_collection(memo: Any, **_: Any) -> None:
    state = state_of(memo)
    if state.gc_task is not None:
        state.gc_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await state.gc_task
        state.gc_task = None
