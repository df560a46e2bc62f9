"""Child processes that end with the process that started them (Linux ``PR_SET_PDEATHSIG``), so a
``kumo up`` killed with SIGKILL leaves no partition server or private Redis behind."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A ``preexec_fn`` for ``subprocess.Popen``: the child gets ``signum`` when its parent's thread
    that started it ends (start children from the main thread). None where Linux's prctl is missing."""
    if not sys.platform.startswith("linux"):
        return None

    def arrange() -> None:  # pragma: no cover - runs in the child between fork and exec
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signum)

    return arrange
