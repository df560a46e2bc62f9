"""Memory use of a process tree, read from ``/proc`` (Linux)."""

from __future__ import annotations

import os


def parse_status_kb(text: str, field: str) -> int:
    """The value in kB of ``field`` (e.g. ``VmRSS``) in a ``/proc/<pid>/status`` text; 0 if absent."""
    prefix = field + ":"
    for line in text.splitlines():
        if line.startswith(prefix):
            parts = line[len(prefix) :].split()
            return int(parts[0]) if parts and parts[0].isdigit() else 0
    return 0


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def descendants(pid: int, limit: int = 256) -> list[int]:
    """Child processes of ``pid``, recursively (bounded), from ``/proc/<pid>/task/*/children``."""
    out: list[int] = []
    todo = [pid]
    while todo and len(out) < limit:
        current = todo.pop()
        for tid in _read_tids(current):
            for child in _read(f"/proc/{current}/task/{tid}/children").split():
                out.append(int(child))
                todo.append(int(child))
    return out


def _read_tids(pid: int) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def tree_usage_kb(pid: int) -> tuple[int, int]:
    """``(current, peak)`` resident memory in kB of ``pid`` plus its descendants.

    The peak is the main process's ``VmHWM`` plus the descendants' current RSS: the kernel's
    high-water mark catches spikes between two samples.
    """
    status = _read(f"/proc/{pid}/status")
    rss = parse_status_kb(status, "VmRSS")
    hwm = parse_status_kb(status, "VmHWM")
    extra = sum(parse_status_kb(_read(f"/proc/{c}/status"), "VmRSS") for c in descendants(pid))
    return rss + extra, max(hwm, rss) + extra


def process_peak_kb(pid: int) -> int:
    """The kernel's resident high-water mark (``VmHWM``) of one process, in kB (0 if it is gone)."""
    return parse_status_kb(_read(f"/proc/{pid}/status"), "VmHWM")


def parse_hwm_kb(status: bytes) -> int:
    """``VmHWM`` in kB from the raw bytes of ``/proc/<pid>/status`` (0 if absent)."""
    at = status.find(b"\nVmHWM:")
    if at < 0:
        return 0
    end = status.find(b"\n", at + 7)
    parts = status[at + 7 : end if end >= 0 else None].split()
    return int(parts[0]) if parts and parts[0].isdigit() else 0


class PeakReader:
    """``VmHWM`` of one process through a ``/proc/<pid>/status`` descriptor kept open: one ``pread``
    per read instead of open/read/close and text decoding."""

    def __init__(self) -> None:
        self._fd: int | None = None

    def open(self, pid: int) -> None:
        self.close()
        try:
            self._fd = os.open(f"/proc/{pid}/status", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self._fd = None

    def read_kb(self) -> int:
        """The high-water mark in kB; 0 when the process is gone or ``/proc`` is unavailable."""
        if self._fd is None:
            return 0
        try:
            return parse_hwm_kb(os.pread(self._fd, 8192, 0))
        except OSError:
            return 0

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
