"""The gateway's side of async invocation: put an accepted event in Redis (one script call) before the
202 is answered. The event carries the function's async settings as they are at enqueue (the manifest's
``spec.async``, unless ``PutFunctionEventInvokeConfig`` set others: the script picks those) and the
version the qualifier resolved to (an alias is resolved at invoke time, as Lambda does)."""

from __future__ import annotations

from kumo.models.function import Function
from kumo_gateway.async_.event_config import from_manifest
from kumo_gateway.async_.store import AsyncStore

#: Lambda's payload limit for an asynchronous invocation (1 MB).
MAX_EVENT_PAYLOAD = 1024 * 1024


class Enqueuer:
    def __init__(self, store: AsyncStore) -> None:
        self.store = store
        self._configs: dict[int, tuple[Function, str]] = {}

    def default_config(self, function: Function) -> str:
        cached = self._configs.get(id(function))
        if cached is not None and cached[0] is function:
            return cached[1]
        text = from_manifest(function.spec.async_).to_json()
        if len(self._configs) > 1024:
            self._configs.clear()
        self._configs[id(function)] = (function, text)
        return text

    async def enqueue(
        self, function: Function, qualifier: str | None, version: str, arn: str, payload: bytes, request_id: str
    ) -> str:
        return await self.store.enqueue(
            function=function.metadata.name,
            qualifier=qualifier,
            default_config=self.default_config(function),
            request_id=request_id,
            version=version,
            arn=arn,
            payload=payload,
        )
