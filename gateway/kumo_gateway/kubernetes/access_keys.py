"""The cluster's access keys: Secrets labelled ``kumo.dev/access-key=true`` (one namespace, or all),
listed and watched into the gateway's :class:`KeyRing` (a new or deleted Secret counts at once)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kumo.access_keys import ACCESS_KEY_LABEL, from_secret
from kumo_gateway.auth.keys import KeyRing

log = logging.getLogger("kumo.gateway.kubernetes")


def secret_name(secret: dict[str, Any]) -> str:
    meta = secret.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


class SecretKeys:
    """Keeps ``ring`` equal to the labelled Secrets of ``namespace`` (None: every namespace)."""

    def __init__(self, ring: KeyRing, namespace: str | None, sync_timeout_s: float = 10.0) -> None:
        self.ring = ring
        self.namespace = namespace
        self.sync_timeout_s = sync_timeout_s
        #: Which key id each Secret (``ns/name``) held, to remove it when the Secret goes.
        self._by_secret: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None
        self._kube: Any = None

    def reset(self, secrets: list[dict[str, Any]]) -> None:
        self._by_secret = {}
        keys = []
        for secret in secrets:
            key = from_secret(secret)
            if key is not None:
                keys.append(key)
                self._by_secret[secret_name(secret)] = key.access_key_id
        self.ring.replace_all(keys)

    def event(self, kind: str, secret: dict[str, Any]) -> None:
        name = secret_name(secret)
        old = self._by_secret.pop(name, None)
        if old is not None:
            self.ring.remove(old)
        if kind == "DELETED":
            return
        key = from_secret(secret)
        if key is not None:
            self.ring.put(key)
            self._by_secret[name] = key.access_key_id

    async def start(self) -> None:
        from kumo.kube.client import KubeClient, collection_path

        self._kube = KubeClient()
        path = f"{collection_path('Secret', self.namespace)}?labelSelector={ACCESS_KEY_LABEL}%3Dtrue"
        synced = asyncio.Event()
        self._task = asyncio.create_task(self._kube.list_and_watch(path, self.reset, self.event, synced=synced))
        try:
            await asyncio.wait_for(synced.wait(), self.sync_timeout_s)
        except TimeoutError:
            log.warning(
                "access-key Secrets not listed within %gs: requests are refused until they are", self.sync_timeout_s
            )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._kube is not None:
            await self._kube.aclose()
