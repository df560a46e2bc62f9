"""``kumo up`` follows edits: poll the manifest files it was given and reload them when they change.

The poll is a ``stat`` of every manifest file (the set of ``*.yaml``/``*.yml`` files under the given
folders, their sizes and modification times) every ``interval`` seconds. A change is acted on once it
has settled (the same on two polls in a row), so an editor's half-written save is not reported as an
error. Function code lives in the manifests (``code.inline``, or a ConfigMap in the same files), so the
manifests are all there is to watch. What a reload does is :class:`kumo_gateway.local.reload.Reloader`'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from kumo.manifests import yaml_files

log = logging.getLogger("kumo.local")

#: Seconds between polls (``kumo up --watch-interval``; 0 disables watching).
DEFAULT_WATCH_INTERVAL_S = 0.5

Fingerprint = dict[Path, tuple[int, int]]


def fingerprint(paths: Sequence[Path]) -> Fingerprint:
    """``(mtime_ns, size)`` of every manifest file under ``paths`` (files that vanish while looking are left out)."""
    files, _ = yaml_files(list(paths))
    result: Fingerprint = {}
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue
        result[path] = (stat.st_mtime_ns, stat.st_size)
    return result


class ManifestWatcher:
    """Calls ``on_change`` after the manifest files under ``paths`` changed and settled."""

    def __init__(
        self,
        paths: Sequence[Path],
        on_change: Callable[[], Awaitable[object]],
        *,
        interval_s: float,
        seen: Fingerprint | None = None,
    ) -> None:
        self.paths = list(paths)
        self.on_change = on_change
        self.interval_s = interval_s
        #: What the served manifests were loaded from (pass one taken before that load, so no edit is missed).
        self._seen = fingerprint(self.paths) if seen is None else seen
        self._pending: Fingerprint | None = None

    def changed(self) -> bool:
        """One poll: True when the files differ from the last reload and look the same as on the last poll."""
        now = fingerprint(self.paths)
        if now == self._seen:
            self._pending = None
            return False
        if now != self._pending:
            self._pending = now  # still being written, perhaps: look again next time
            return False
        self._seen, self._pending = now, None
        return True

    async def run(self) -> None:
        """Poll until cancelled; a failing reload is logged and the watch goes on."""
        log.info("watching %s for edits (every %gs)", ", ".join(map(str, self.paths)), self.interval_s)
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                if self.changed():
                    await self.on_change()
            except Exception:  # the watcher must not die
                log.exception("reloading the manifests failed")
