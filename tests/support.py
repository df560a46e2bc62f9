"""Shared test helpers (imported as `support`): free ports, waiting for HTTP servers on 127.0.0.1, and
bounded polling for state that arrives asynchronously (``wait_until`` and its async twin ``await_until``)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, *, timeout_s: float = 20.0, proc=None) -> None:
    """Poll ``url`` until it answers (bounded); fail early if ``proc`` exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout_s}s")


def _timed_out(what: str, timeout: float, last: Any) -> AssertionError:
    return AssertionError(f"timed out after {timeout}s waiting for {what}; last observed: {last!r}")


def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "condition",
    ignore: tuple[type[BaseException], ...] = (),
) -> Any:
    """Call ``predicate`` until it returns something truthy, at most ``timeout`` seconds; return that value.

    Exceptions of the ``ignore`` types count as "not yet" (e.g. an object that does not exist yet). On timeout,
    raises an ``AssertionError`` naming ``what`` and the last value (or exception) observed.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            last = predicate()
        except ignore as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, last)
        time.sleep(interval)


async def await_until(
    predicate: Callable[[], Any],
    *,
    timeout: float = 10.0,
    interval: float = 0.01,
    what: str = "condition",
    ignore: tuple[type[BaseException], ...] = (),
) -> Any:
    """``wait_until`` for coroutines: ``predicate`` is a plain callable, checked between ``asyncio.sleep``s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            last = predicate()
        except ignore as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, last)
        await asyncio.sleep(interval)


#: Kumo's generated CRDs (folders whose tests need them override the ``kube_crds`` fixture).
KUMO_CRDS = Path(__file__).resolve().parent.parent / "charts" / "kumo" / "crds"
