"""Provoke 410 Gone: compact the emulator's watch-event log the way etcd compaction does.

``create_unseen`` creates an object and forgets the event log in one step of the emulator's event
loop, so no watcher ever sees the object's ADDED event: a watch request from any earlier
resourceVersion is answered 410 Gone (HTTP), and a watch streaming at that moment gets an ERROR event
with code 410. A client sees the object only by listing again.
"""

from __future__ import annotations

from typing import Any

from cluster import KubeApi
from store import Store


def compact(store: Store) -> None:
    """Forget every logged event: watches may start only from the current resourceVersion on."""
    store.events.clear()
    store.first_rv = store.rv + 1


def create_unseen(api: KubeApi, group: str, version: str, plural: str, namespace: str, body: Any) -> dict[str, Any]:
    """Create ``body`` and compact at once (in the emulator's loop), then wake the open watches."""
    emulator = api.emulator

    def run() -> dict[str, Any]:
        store = emulator.store
        created = store.create(store.find_type(group, version, plural), namespace, body)
        compact(store)
        emulator._notify()  # streaming watches wake up and find their resourceVersion compacted away
        return created

    return api.in_loop(run)
