"""JWT authorizer keys: a JWKS document fetched over HTTP (cached, bounded refresh) or inline keys.

A fetched document is kept for :data:`MAX_AGE_S`; a token whose ``kid`` the cached keys lack causes a
refetch, at most once per :data:`MIN_REFETCH_S` (so a flood of made-up ``kid`` values costs the
issuer one request per interval). Concurrent requests share one fetch. A failed refetch keeps the
keys already known.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from jwt import PyJWK, PyJWTError

from kumo_gateway.apigateway.authorizers.jwt_verify import ASYMMETRIC_ALGORITHMS

log = logging.getLogger("kumo.gateway")

MAX_AGE_S = 3600.0
MIN_REFETCH_S = 30.0
FETCH_TIMEOUT_S = 5.0
MAX_DOCUMENT_BYTES = 1024 * 1024


class KeysUnavailable(Exception):
    """The JWKS could not be fetched and no keys are known (the gateway answers 500)."""


def parse_jwks(keys: Sequence[Any]) -> list[PyJWK]:
    """The usable RS256/ES256 signing keys of a JWKS ``keys`` list; others are skipped."""
    out: list[PyJWK] = []
    for entry in keys:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") == "oct":  # a symmetric key in a JWKS would open HS256 to anyone holding it
            continue
        try:
            key = PyJWK(entry)
        except (PyJWTError, ValueError, TypeError, KeyError) as exc:
            log.debug("JWKS key skipped: %s", exc)
            continue
        if key.algorithm_name in ASYMMETRIC_ALGORITHMS:
            out.append(key)
    return out


class JwksCache:
    """The keys of one JWKS URL."""

    def __init__(self, uri: str, *, clock: Callable[[], float] = time.monotonic, min_refetch_s: float = MIN_REFETCH_S):
        self.uri = uri
        self.clock = clock
        self.min_refetch_s = min_refetch_s
        self.keys: list[PyJWK] = []
        self.fetched_at: float | None = None
        self.attempted_at: float | None = None
        self.fetches = 0
        self._lock = asyncio.Lock()

    async def get(self, kid: str | None) -> list[PyJWK]:
        """Known keys, refreshed when stale or when ``kid`` is unknown (bounded); KeysUnavailable if none."""
        if self._fresh() and (kid is None or any(k.key_id == kid for k in self.keys)):
            return self.keys
        async with self._lock:
            now = self.clock()
            stale = not self._fresh()
            unknown = kid is not None and not any(k.key_id == kid for k in self.keys)
            recently = self.attempted_at is not None and now - self.attempted_at < self.min_refetch_s
            if (stale or unknown) and not recently:
                await self._fetch()
        if not self.keys:
            raise KeysUnavailable(f"no keys from {self.uri}")
        return self.keys

    def _fresh(self) -> bool:
        return self.fetched_at is not None and self.clock() - self.fetched_at < MAX_AGE_S

    async def _fetch(self) -> None:
        self.attempted_at = self.clock()
        self.fetches += 1
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_S, follow_redirects=False) as client:
                response = await client.get(self.uri, headers={"accept": "application/json"})
            if response.status_code != 200 or len(response.content) > MAX_DOCUMENT_BYTES:
                raise ValueError(f"HTTP {response.status_code}, {len(response.content)} bytes")
            document = json.loads(response.content)
            keys = document.get("keys") if isinstance(document, dict) else None
            if not isinstance(keys, list):
                raise ValueError("no 'keys' list")
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("JWKS %s: fetch failed: %s", self.uri, exc)
            return
        self.keys = parse_jwks(keys)
        self.fetched_at = self.clock()
