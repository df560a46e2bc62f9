"""API keys from Secrets (the cluster's ``kumo api-keys``): a Secret labelled

    kumo.dev/api-key: "true"
    kumo.dev/api: <Api name>
    kumo.dev/usage-plan: <plan name>

with the key in ``data.value`` is a key of that plan. The gateway lists and watches such Secrets
(one ``list_and_watch``, label selector) and keeps Redis in step: only the key's SHA-256 is stored,
under the id ``<namespace>.<secret name>``; a Secret deleted or unlabelled takes its key away. Every
gateway replica writes the same records (idempotent); a failed write (Redis down) is retried.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kumo_gateway.apigateway import api_keys
from kumo_gateway.apigateway.api_keys import KeyRecord

if TYPE_CHECKING:
    from kumo.kube.client import KubeClient
    from kumo_gateway.apigateway.limits_store import LimitsStore

log = logging.getLogger("kumo.gateway.api_keys")

KEY_LABEL = "kumo.dev/api-key"
API_LABEL = "kumo.dev/api"
PLAN_LABEL = "kumo.dev/usage-plan"
VALUE_KEY = "value"
SELECTOR = f"{KEY_LABEL}=true"
RETRY_S = 1.0


@dataclass(frozen=True)
class SecretKey:
    digest: str
    record: KeyRecord


def secret_id(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}.{meta.get('name') or ''}"


def key_secret(name: str, namespace: str, api: str, plan: str, value: str) -> dict[str, Any]:
    """The Secret :func:`key_from_secret` reads as key ``value`` of ``plan`` of ``api`` (pure)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {KEY_LABEL: "true", API_LABEL: api, PLAN_LABEL: plan},
        },
        "type": "Opaque",
        "data": {VALUE_KEY: base64.b64encode(value.encode("utf-8")).decode("ascii")},
    }


def key_from_secret(obj: dict[str, Any]) -> SecretKey | str:
    """The key a Secret holds, or why it holds none (pure)."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    if labels.get(KEY_LABEL) != "true":
        return f"not labelled {KEY_LABEL}=true"
    api, plan = labels.get(API_LABEL), labels.get(PLAN_LABEL)
    if not api or not plan:
        return f"needs the labels {API_LABEL} and {PLAN_LABEL}"
    encoded = (obj.get("data") or {}).get(VALUE_KEY)
    if not isinstance(encoded, str):
        return f"has no data.{VALUE_KEY}"
    try:
        value = base64.b64decode(encoded, validate=True).decode("utf-8").strip()
    except (binascii.Error, UnicodeDecodeError):
        return f"data.{VALUE_KEY} is not base64 of UTF-8 text"
    problem = api_keys.check_imported_value(value)
    if problem is not None:
        return f"data.{VALUE_KEY} {problem}"
    record = KeyRecord(secret_id(obj), api, plan, meta.get("name") or "", True, time.time(), source="secret")
    return SecretKey(api_keys.key_hash(value), record)


class ApiKeySecrets:
    """Follows the labelled Secrets of ``namespace`` (all namespaces when None) into the key store."""

    def __init__(self, kube: KubeClient, store: LimitsStore, namespace: str | None) -> None:
        self.kube, self.store, self.namespace = kube, store, namespace
        #: Secret id -> its key (what Redis should hold).
        self.desired: dict[str, SecretKey] = {}
        #: Secret ids removed since the last successful sync.
        self.removed: set[str] = set()
        self.full = True
        self._dirty = asyncio.Event()

    async def run(self) -> None:
        from kumo.kube.client import collection_path

        path = f"{collection_path('Secret', self.namespace)}?labelSelector={SELECTOR}"
        writer = asyncio.create_task(self._write_loop(), name="api-key-secrets-writer")
        try:
            await self.kube.list_and_watch(path, self.on_reset, self.on_event)
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    def on_reset(self, items: list[dict[str, Any]]) -> None:
        self.desired = {}
        for item in items:
            self._take(item)
        self.full = True
        self._dirty.set()

    def on_event(self, kind: str, obj: dict[str, Any]) -> None:
        ident = secret_id(obj)
        self.desired.pop(ident, None)
        if kind != "DELETED":
            self._take(obj)
        if ident not in self.desired:
            self.removed.add(ident)
        self._dirty.set()

    def _take(self, obj: dict[str, Any]) -> None:
        found = key_from_secret(obj)
        if isinstance(found, str):
            log.warning("Secret %s: no API key: %s", secret_id(obj), found)
            return
        self.desired[found.record.id] = found

    async def sync(self) -> None:
        """Write every desired key; delete keys of Secrets that are gone (all of them after a relist)."""
        desired, removed, full = dict(self.desired), set(self.removed), self.full
        for entry in desired.values():
            await self.store.put_key(entry.digest, entry.record)
        stale = removed - set(desired)
        if stale or full:
            stored = await self.store.secret_keys()
            if full:
                stale |= {key_id for key_id in stored if key_id not in desired}
            for key_id in stale:
                if key_id in stored:
                    await self.store.delete_key(stored[key_id], key_id)
        self.removed -= removed
        if full and self.full:
            self.full = False
        log.info("API keys from Secrets: %d in Redis", len(desired))

    async def _write_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self.sync()
            except Exception as exc:  # Redis down: keep the desired state, try again
                log.warning("API keys from Secrets: Redis write failed (%s); retrying", exc)
                await asyncio.sleep(RETRY_S)
                self._dirty.set()
