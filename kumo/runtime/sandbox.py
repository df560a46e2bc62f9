"""Running an instance as its own unprivileged user: the identity, the child-side settings, process flags.

The pure parts (uid ranges, allocation, spawn arguments) are separate from the few system calls
(``prctl``) so they are tested directly. Local mode decides whether to sandbox
(``kumo_gateway.local.sandbox``); the runtime host only applies an :class:`Identity` it is given.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Default range of uids (and gids) handed to functions: one per function.
DEFAULT_UID_RANGE = "61000-61999"
_PR_SET_DUMPABLE = 4
_PR_SET_NO_NEW_PRIVS = 38


class SandboxConfigError(ValueError):
    """A malformed ``KUMO_SANDBOX_UIDS``."""


@dataclass(frozen=True)
class Identity:
    """Who an instance runs as. ``python``: an interpreter that identity may run (``None``: the usual)."""

    uid: int
    gid: int
    python: str | None = None


def parse_uid_range(text: str) -> range:
    """``"61000-61999"`` → ``range(61000, 62000)``; unprivileged uids only (≥ 1000, below 2**31)."""
    start_text, sep, end_text = text.strip().partition("-")
    try:
        start, end = int(start_text), int(end_text if sep else start_text)
    except ValueError:
        raise SandboxConfigError(f"KUMO_SANDBOX_UIDS={text!r}: expected FIRST-LAST, e.g. {DEFAULT_UID_RANGE}") from None
    if not 1000 <= start <= end < 2**31 - 1:
        raise SandboxConfigError(f"KUMO_SANDBOX_UIDS={text!r}: expected 1000 <= FIRST <= LAST < 2147483647")
    return range(start, end + 1)


class UidAllocator:
    """One uid per function name, in order of first need, never reused while the process runs."""

    def __init__(self, uids: range) -> None:
        self._uids = uids
        self._given: dict[str, int] = {}

    def uid(self, name: str) -> int:
        uid = self._given.get(name)
        if uid is None:
            if len(self._given) >= len(self._uids):
                raise SandboxConfigError(f"no free sandbox uid for function {name!r}: widen KUMO_SANDBOX_UIDS")
            uid = self._uids[len(self._given)]
            self._given[name] = uid
        return uid


def spawn_arguments(identity: Identity | None) -> dict[str, Any]:
    """Extra ``subprocess`` arguments: the uid and gid, no supplementary groups, ``no_new_privs``.

    Dropping from root to a non-zero uid clears every capability set (no ``SECBIT_KEEP_CAPS``);
    ``no_new_privs`` keeps set-user-ID binaries and file capabilities from giving any back.
    """
    if identity is None:
        return {}
    return {"preexec_fn": _child_preexec(identity.uid, identity.gid)}


@functools.cache
def _libc() -> Any:
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _child_preexec(uid: int, gid: int) -> Callable[[], None]:
    """Runs in the forked child before ``exec`` (uvloop's subprocesses take no ``user=``/``group=``)."""
    prctl = _libc().prctl  # looked up before the fork: the child only calls it

    def preexec() -> None:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")

    return preexec


def make_non_dumpable() -> bool:
    """``prctl(PR_SET_DUMPABLE, 0)``: this process's ``/proc/<pid>/environ``, ``mem``, ``fd`` become
    root's, unreadable to other processes of the same user. ``False`` where not available."""
    try:
        return _libc().prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
