"""One module per operation family; :data:`HANDLERS` maps operation names to their coroutines."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from kumo_tablestore.server.operations import batch, items, ranges, transactions
from kumo_tablestore.server.partition import Partition

#: ``handler(partition, client request, router fields)`` -> the answer as a dict, or as JSON bytes.
Handler = Callable[[Partition, dict[str, Any], dict[str, Any]], Awaitable[dict[str, Any] | bytes]]


def _plain(fn: Callable[[Partition, dict[str, Any]], Awaitable[dict[str, Any] | bytes]]) -> Handler:
    async def handler(part: Partition, body: dict[str, Any], router: dict[str, Any]) -> dict[str, Any] | bytes:
        return await fn(part, body)

    return handler


HANDLERS: dict[str, Handler] = {
    "PutItem": _plain(items.put_item),
    "GetItem": _plain(items.get_item),
    "UpdateItem": _plain(items.update_item),
    "DeleteItem": _plain(items.delete_item),
    "Query": _plain(ranges.query),
    "Scan": ranges.scan,
    "BatchGetItem": _plain(batch.batch_get_item),
    "BatchWriteItem": _plain(batch.batch_write_item),
}
HANDLERS.update({name: _plain(fn) for name, fn in transactions.HANDLERS.items()})
