"""Run a coroutine eagerly, without a Task (Python 3.12's eager tasks, for one callback-style caller).

Most partition requests (GetItem, small Queries) never wait: their coroutine finishes on its first
step. A Task per request would cost a loop iteration and ~10 µs. :func:`run_eagerly` steps the
coroutine at once and, only if it waits on a future, resumes it from the future's done-callback,
as a Task would. The coroutine has no Task of its own, so it must not use ``asyncio.timeout``,
``wait_for`` or ``current_task()``; futures, ``to_thread``, queues and ``sleep`` work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

#: ``done(result, None)`` or ``done(None, exception)``; called exactly once.
Done = Callable[[Any, BaseException | None], None]


def run_eagerly(coro: Coroutine[Any, Any, Any], done: Done) -> None:
    """Start ``coro`` now; ``done`` gets its outcome (synchronously if it never waits)."""
    _Stepper(coro, done).step()


class _Stepper:
    __slots__ = ("coro", "done")

    def __init__(self, coro: Coroutine[Any, Any, Any], done: Done) -> None:
        self.coro = coro
        self.done = done

    def step(self, _future: Any = None) -> None:
        try:
            waits_on = self.coro.send(None)
        except StopIteration as stop:
            self.done(stop.value, None)
            return
        except BaseException as exc:  # reported to ``done``, like a Task's exception (CancelledError too)
            self.done(None, exc)
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            return
        if waits_on is None:  # a bare yield (``asyncio.sleep(0)``): resume on the next iteration
            asyncio.get_running_loop().call_soon(self.step)
        elif getattr(waits_on, "_asyncio_future_blocking", None) is not None:
            waits_on._asyncio_future_blocking = False
            waits_on.add_done_callback(self.step)
        else:
            self.coro.close()
            self.done(None, RuntimeError(f"coroutine yielded {waits_on!r}, not a future"))
