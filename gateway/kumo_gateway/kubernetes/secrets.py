"""HS256 authorizer secrets in a cluster: the Kubernetes Secret ``secretRef.name`` in the Api's namespace.

Read with Kumo's one API client (the chart grants the gateway ``get`` on secrets) and kept for
:data:`TTL_S` so a request does not cost an API call; a rotated secret is picked up within that time.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Callable

from kumo.kube.client import KubeClient, KubeError

log = logging.getLogger("kumo.gateway")

TTL_S = 60.0
MAX_ENTRIES = 1000


class KubeSecrets:
    def __init__(
        self, namespace: str = "default", *, kube: KubeClient | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.namespace = namespace
        self.kube = kube
        self.clock = clock
        self._cache: dict[tuple[str, str, str], tuple[float, bytes | None]] = {}

    async def get(self, name: str, key: str, namespace: str | None = None) -> bytes | None:
        ns = namespace or self.namespace
        entry = self._cache.get((ns, name, key))
        if entry is not None and entry[0] > self.clock():
            return entry[1]
        if self.kube is None:
            self.kube = KubeClient()
        try:
            secret = await self.kube.get(f"/api/v1/namespaces/{ns}/secrets/{name}")
        except KubeError as exc:
            log.warning("secret %s/%s: %s", ns, name, exc)
            return None
        value = None
        encoded = ((secret or {}).get("data") or {}).get(key)
        if isinstance(encoded, str):
            try:
                value = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                value = None
        if len(self._cache) >= MAX_ENTRIES:
            self._cache.clear()
        self._cache[(ns, name, key)] = (self.clock() + TTL_S, value)
        return value
