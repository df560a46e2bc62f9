"""What the management API needs from a backend that creates and changes functions (local mode:
:class:`kumo_gateway.local.api_functions.ApiFunctions`; a cluster:
:class:`kumo_gateway.kubernetes.api_functions.ClusterFunctions`), and the signed, expiring ``Code.Location`` URLs.

A ``Code.Location`` is ``/2015-03-31/kumo-code/<address>?function=&expires=&signature=``: an HMAC of the
function, the package address and the expiry under a key only this gateway process holds, good for
10 minutes (as Lambda's pre-signed S3 URL), so the URL works with a plain HTTP GET and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import secrets
import time
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

from kumo_gateway.lambda_.function_requests import CreateRequest

CODE_PATH = "/2015-03-31/kumo-code/"
#: How long a ``Code.Location`` URL can be used (Lambda's: 10 minutes).
LOCATION_TTL_S = 600


class FunctionView(Protocol):
    """What a backend knows of a function beyond its catalog entry (its ``State`` above all)."""

    def owns(self, name: str) -> bool:
        """Whether the backend knows ``name`` (and, for a writer, may change it through the API)."""
        ...

    def overlay(self, name: str) -> dict[str, Any]:
        """``FunctionConfiguration`` fields of ``$LATEST`` the backend knows (state, role, code hash …)."""
        ...

    def version_overlay(self, name: str, version: str) -> dict[str, Any]:
        """Fields of a published version the backend knows beyond its snapshot (a cluster's ``Layers``)."""
        ...


class FunctionWriter(FunctionView, Protocol):
    async def create(self, request: CreateRequest) -> None: ...

    async def update_code(self, name: str, zip_bytes: bytes, publish: bool, revision: str | None) -> str | None:
        """The new code; returns the published version when ``publish``."""
        ...

    async def update_configuration(self, name: str, body: Mapping[str, Any]) -> None: ...

    async def delete(self, name: str) -> None: ...

    def code_address(self, name: str) -> str:
        """Where ``Code.Location`` points (``""``: code the backend cannot serve, no ``Code.Location``)."""
        ...

    def open_code(self, address: str) -> bytes | Awaitable[bytes]: ...

    def tags(self, name: str) -> dict[str, str]: ...

    def set_tags(self, name: str, tags: Mapping[str, str], remove: tuple[str, ...] = ()) -> Awaitable[None] | None: ...


class CodeLinks:
    """Signs and checks ``Code.Location`` URLs (the key lives as long as this gateway process)."""

    def __init__(self, key: bytes | None = None, clock: Any = time.time) -> None:
        self._key = key or secrets.token_bytes(32)
        self._clock = clock

    def _signature(self, function: str, address: str, expires: int) -> str:
        message = f"{function}\n{address}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def location(self, base_url: str, function: str, address: str) -> str:
        expires = int(self._clock()) + LOCATION_TTL_S
        query = urlencode(
            {"function": function, "expires": expires, "signature": self._signature(function, address, expires)}
        )
        return f"{base_url.rstrip('/')}{CODE_PATH}{address}?{query}"

    def check(self, address: str, query: Mapping[str, str]) -> str | None:
        """Why the URL's query does not grant ``address`` (None: it does)."""
        function, expires, signature = query.get("function", ""), query.get("expires", ""), query.get("signature", "")
        if not expires.isdigit() or not signature:
            return "the URL is not signed"
        if not hmac.compare_digest(signature, self._signature(function, address, int(expires))):
            return "the signature does not match"
        if int(expires) < self._clock():
            return "the URL has expired; call GetFunction again for a new Code.Location"
        return None


async def settled(value: Any) -> Any:
    """``value``, awaited when a backend answered with an awaitable (the cluster's I/O is async)."""
    return await value if inspect.isawaitable(value) else value
