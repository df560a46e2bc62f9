"""Shared test helpers (imported as `support`): free ports and waiting for HTTP servers on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from pathlib import Path

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


#: Kumo's generated CRDs (folders whose tests need them override the ``kube_crds`` fixture).
KUMO_CRDS = Path(__file__).resolve().parent.parent / "charts" / "kumo" / "crds"
