"""Group commit: concurrent writers share one transaction and one fsync.

The first writer to arrive while no commit is running becomes the leader: it takes every batch
queued so far, commits them together with :meth:`StorageEngine.write_many`, and wakes the others.
No background thread. If a combined commit fails, each batch is retried alone, so one bad batch
only fails its own writer.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from kumo_tablestore.storage.engine import StorageEngine
from kumo_tablestore.storage.records import ChangeRecord, WriteOp


@dataclass
class _Pending:
    ops: Sequence[WriteOp]
    log: Sequence[ChangeRecord]
    done: bool = False
    result: list[int] = field(default_factory=list)
    error: BaseException | None = None


class GroupCommitter:
    """Thread-safe front for :meth:`StorageEngine.write` that batches concurrent commits."""

    def __init__(self, engine: StorageEngine, max_batches: int = 256) -> None:
        self.engine = engine
        self.max_batches = max_batches
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._leader_active = False
        #: Number of transactions committed (for tests and metrics).
        self.commits = 0

    def write(self, ops: Sequence[WriteOp], change_log: Sequence[ChangeRecord] = ()) -> list[int]:
        """Durably apply one batch (possibly alongside others); returns its sequence numbers."""
        mine = _Pending(ops, change_log)
        with self._cond:
            self._queue.append(mine)
            while not mine.done and self._leader_active:
                self._cond.wait()
            if mine.done:
                return self._result(mine)
            self._leader_active = True
            group, self._queue = self._queue[: self.max_batches], self._queue[self.max_batches :]
        try:
            self._commit(group)
        finally:
            with self._cond:
                self._leader_active = False
                self._cond.notify_all()
        return self._result(mine)

    def _commit(self, group: list[_Pending]) -> None:
        try:
            results = self.engine.write_many([(p.ops, p.log) for p in group])
            self.commits += 1
            for p, r in zip(group, results, strict=True):
                p.result = r
        except Exception:
            for p in group:  # isolate the failing batch
                try:
                    p.result = self.engine.write(p.ops, p.log)
                    self.commits += 1
                except Exception as exc:
                    p.error = exc
        for p in group:
            p.done = True

    @staticmethod
    def _result(p: _Pending) -> list[int]:
        if p.error is not None:
            raise p.error
        return p.result
