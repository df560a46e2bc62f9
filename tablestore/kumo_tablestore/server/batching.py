"""Group-commit writer: concurrent write requests share one transaction and one fsync.

Requests queue to one writer task. It takes everything queued so far (up to ``max_batch``), runs
the requests in arrival order inside one engine transaction — each sees the state left by the
earlier ones, so conditions stay atomic per item — commits once and answers them all. A request
that fails (e.g. its condition) changes nothing and does not affect the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kumo_tablestore.storage import ChangeRecord, StorageEngine, WriteOp
from kumo_tablestore.values import Item

log = logging.getLogger(__name__)


@dataclass
class Mutation:
    """One item change a request wants: ``item is None`` deletes; ``change`` goes to the change log."""

    key: bytes
    item: Item | None
    expires_at: int | None = None
    change: ChangeRecord | None = None
    #: ``item_size(item)`` when the request already knows it (else the engine's put computes it).
    size: int | None = None


#: ``apply(state, now) -> (answer, mutations)``; ``state`` maps each declared key to its current item
#: (``None``: absent or expired). It must not modify ``state``; raising rejects only this request.
ApplyFn = Callable[[dict[bytes, Item | None], float], tuple[Any, list[Mutation]]]


@dataclass
class _Job:
    keys: list[bytes]
    apply: ApplyFn
    future: asyncio.Future[Any]


@dataclass
class _Exclusive:
    fn: Callable[[], Any]
    future: asyncio.Future[Any]


@dataclass
class _Outcome:
    ok: bool
    value: Any = None


@dataclass
class WriterStats:
    commits: int = 0
    writes: int = 0
    largest_batch: int = 0


class GroupWriter:
    """The single writer of one partition's engine. ``start`` it on the event loop."""

    def __init__(self, engine: StorageEngine, max_batch: int = 256) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.stats = WriterStats()
        self._queue: asyncio.Queue[_Job | _Exclusive | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        #: ``locked(keys)``: whether a transaction holds any of them (the write is refused with a conflict).
        self.locked: Callable[[list[bytes]], bool] | None = None
        #: The error a write on a locked item fails with.
        self.conflict: Callable[[], Exception] = lambda: RuntimeError("item locked")

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="kumo-partition-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.put(None)
        await self._task
        self._task = None

    async def submit(self, keys: list[bytes], apply: ApplyFn) -> Any:
        """Queue one request; returns its answer once durably committed (or raises its error)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(keys, apply, future))
        return await future

    async def exclusive(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` in a thread between batches, with no write in progress (DeleteTable, reindex)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Exclusive(fn, future))
        return await future

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            if first is None:
                return
            if isinstance(first, _Exclusive):
                await self._run_exclusive(first)
                continue
            jobs = [first]
            held: _Exclusive | None = None
            stop = False
            while len(jobs) < self.max_batch and not self._queue.empty():
                nxt = self._queue.get_nowait()
                if nxt is None:
                    stop = True
                    break
                if isinstance(nxt, _Exclusive):
                    held = nxt
                    break
                jobs.append(nxt)
            try:
                outcomes = await asyncio.to_thread(self._commit, jobs)
            except Exception as exc:  # the engine failed: every request of the batch fails
                log.exception("group commit failed")
                outcomes = [_Outcome(False, exc) for _ in jobs]
            for job, outcome in zip(jobs, outcomes, strict=True):
                if job.future.done():
                    continue
                if outcome.ok:
                    job.future.set_result(outcome.value)
                else:
                    job.future.set_exception(outcome.value)
            if held is not None:
                await self._run_exclusive(held)
            if stop:
                return
            # Let the answered handlers finish and flush before the next batch is taken: the
            # next batch then also holds what arrives meanwhile, and answers leave sooner.
            await asyncio.sleep(0)

    async def _run_exclusive(self, item: _Exclusive) -> None:
        try:
            result = await asyncio.to_thread(item.fn)
        except Exception as exc:
            if not item.future.done():
                item.future.set_exception(exc)
            return
        if not item.future.done():
            item.future.set_result(result)

    def _commit(self, jobs: list[_Job]) -> list[_Outcome]:
        """Run every job against one transaction's view and commit once (in a worker thread)."""
        now = time.time()
        all_keys = list(dict.fromkeys(k for job in jobs for k in job.keys))
        outcomes: list[_Outcome] = []

        def body(current: dict[bytes, Item | None]) -> tuple[list[WriteOp], list[ChangeRecord]]:
            outcomes.clear()
            state = dict(current)
            ops: list[WriteOp] = []
            changes: list[ChangeRecord] = []
            for job in jobs:
                if self.locked is not None and self.locked(job.keys):
                    outcomes.append(_Outcome(False, self.conflict()))
                    continue
                view = {k: state.get(k) for k in job.keys}
                try:
                    answer, mutations = job.apply(view, now)
                except Exception as exc:
                    outcomes.append(_Outcome(False, exc))
                    continue
                for m in mutations:
                    state[m.key] = m.item
                    ops.append(
                        WriteOp.delete(m.key) if m.item is None else WriteOp.put(m.key, m.item, m.expires_at, m.size)
                    )
                    if m.change is not None:
                        changes.append(m.change)
                outcomes.append(_Outcome(True, answer))
            return ops, changes

        self.engine.transact(all_keys, body, now=now)
        self.stats.commits += 1
        self.stats.writes += len(jobs)
        self.stats.largest_batch = max(self.stats.largest_batch, len(jobs))
        return outcomes
