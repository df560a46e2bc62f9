"""Routing requests with ``IndexName``, and the live index figures of DescribeTable.

A GSI's entries live in the table's own partitions, placed by the hash of the GSI partition-key
value on the table's slot map; an LSI's beside their items. So an index read routes exactly like a
table read whose partition key is the index's: :func:`index_route` gives that route.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from kumo_gateway.dynamodb import index_descriptions
from kumo_gateway.dynamodb.partition_choice import owned_partitions
from kumo_gateway.dynamodb.table_directory import TableRoute
from kumo_tablestore import protocol, wire_json
from kumo_tablestore.errors import ValidationException
from kumo_tablestore.partition_client import PartitionClient, PartitionUnavailable


@dataclass(frozen=True)
class IndexRoute(TableRoute):
    """A table route keyed by an index: its key names are those of an index ``LastEvaluatedKey``."""

    entry_keys: tuple[str, ...] = ()

    @property
    def key_names(self) -> tuple[str, ...]:
        return self.entry_keys


def find_index(description: dict[str, Any], name: Any) -> dict[str, Any]:
    for field in (index_descriptions.GSI_FIELD, index_descriptions.LSI_FIELD):
        for index in description.get(field) or []:
            if index["IndexName"] == name:
                return index
    raise ValidationException(f"The table does not have the specified index: {name}")


def index_route(route: TableRoute, description: dict[str, Any], name: Any) -> IndexRoute:
    """The route of index ``name`` of the table (ValidationException for an unknown index)."""
    index = find_index(description, name)
    types = {d["AttributeName"]: d["AttributeType"] for d in description["AttributeDefinitions"]}
    schema = {e["KeyType"]: e["AttributeName"] for e in index["KeySchema"]}
    pk, sk = schema["HASH"], schema.get("RANGE")
    own = (pk,) if sk is None else (pk, sk)
    fields = {f: getattr(route, f) for f in ("name", "slot_map", "endpoints")}
    return IndexRoute(
        **fields,
        partition_key=pk,
        partition_type=types[pk],
        sort_key=sk,
        sort_type=types[sk] if sk else None,
        entry_keys=route.key_names + tuple(n for n in own if n not in route.key_names),
    )


def has_indexes(description: dict[str, Any]) -> bool:
    return bool(description.get(index_descriptions.GSI_FIELD) or description.get(index_descriptions.LSI_FIELD))


async def live_status(client: PartitionClient, route: TableRoute) -> dict[str, dict[str, Any]]:
    """Per index: ``backfilling`` (any partition), ``items`` and ``bytes`` (summed) from ``GET /index/status``."""

    async def one(endpoint: str) -> dict[str, Any] | None:
        try:
            status, body = await client.request("GET", endpoint + protocol.INDEX_PREFIX + "status")
        except PartitionUnavailable:
            return None
        return wire_json.loads(body).get("indexes", {}) if status == 200 else None

    answers = await asyncio.gather(*(one(route.endpoints[p]) for p in owned_partitions(route)))
    out: dict[str, dict[str, Any]] = {}
    for answer in answers:
        for name, figures in (answer or {}).items():
            total = out.setdefault(name, {"backfilling": False, "items": 0, "bytes": 0})
            total["backfilling"] = total["backfilling"] or bool(figures.get("backfilling"))
            total["items"] += int(figures.get("items", 0))
            total["bytes"] += int(figures.get("bytes", 0))
    if any(a is None for a in answers):  # a partition that cannot answer may still be backfilling
        for total in out.values():
            total["backfilling"] = True
    return out
