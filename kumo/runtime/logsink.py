"""An instance's log stream: appended to a file (if any), with per-invocation capture for tails."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

#: How much of one invocation's log is kept in memory (enough for any 4 KB tail).
CAPTURE_LIMIT = 64 * 1024
#: During an invocation, file writes are batched up to this size (and flushed at its end, and by the
#: host's watchdog while it runs): one ``write`` per invocation instead of one per line.
FILE_BUFFER = 64 * 1024


class InstanceLog:
    """Writes go to ``path`` (a log stream file) and, between :meth:`begin` and :meth:`end`, to a
    bounded buffer holding the current invocation's log (when a tail was asked for)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._capture: bytearray | None = None
        self._unwritten = bytearray()
        self._in_invocation = False
        self._at_line_start = True

    def open(self) -> None:
        if self.path is not None and self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - lives as long as the instance

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._file is not None:
            self._unwritten += data
            if not self._in_invocation or len(self._unwritten) >= FILE_BUFFER:
                self.flush()
        if self._capture is not None:
            self._capture += data
            if len(self._capture) > 2 * CAPTURE_LIMIT:
                del self._capture[:-CAPTURE_LIMIT]
        self._at_line_start = data[-1:] == b"\n"

    def platform(self, line: bytes) -> None:
        """A platform line (START/END/REPORT…), always on a line of its own."""
        if not self._at_line_start:
            self.write(b"\n")
        self.write(line)

    def flush(self) -> None:
        """Write what is batched to the file."""
        if self._unwritten and self._file is not None:
            self._file.write(self._unwritten)
        self._unwritten.clear()

    def begin(self, capture: bool = True) -> None:
        """An invocation starts: batch file writes; keep its log in memory if ``capture``."""
        self._in_invocation = True
        self._capture = bytearray() if capture else None

    def end(self) -> bytes:
        """The invocation ended: flush the file; returns what was captured."""
        self._in_invocation = False
        self.flush()
        captured, self._capture = self._capture, None
        return bytes(captured) if captured else b""

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None
