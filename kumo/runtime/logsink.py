"""An instance's log stream: appended to a file (if any), with per-invocation capture for tails."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

#: How much of one invocation's log is kept in memory (enough for any 4 KB tail).
CAPTURE_LIMIT = 64 * 1024


class InstanceLog:
    """Writes go to ``path`` (a log stream file) and, between :meth:`begin` and :meth:`end`, to a
    bounded buffer holding the current invocation's log."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._capture: bytearray | None = None
        self._at_line_start = True

    def open(self) -> None:
        if self.path is not None and self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - lives as long as the instance

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._file is not None:
            self._file.write(data)
        if self._capture is not None:
            self._capture += data
            if len(self._capture) > 2 * CAPTURE_LIMIT:
                del self._capture[:-CAPTURE_LIMIT]
        self._at_line_start = data.endswith(b"\n")

    def platform(self, line: bytes) -> None:
        """A platform line (START/END/REPORT…), always on a line of its own."""
        if not self._at_line_start:
            self.write(b"\n")
        self.write(line)

    def begin(self) -> None:
        self._capture = bytearray()

    def end(self) -> bytes:
        captured, self._capture = self._capture, None
        return bytes(captured or b"")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
