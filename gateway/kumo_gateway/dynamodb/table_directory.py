"""Where tables live: the interface the router asks, implemented by both providers' ``tables.py``
(:mod:`kumo_gateway.local.tables`: partition subprocesses; :mod:`kumo_gateway.kubernetes.tables`:
Table resources and their StatefulSet pods).

The router needs, per request, a :class:`TableRoute` (key schema, slot map, one endpoint per
partition) — a synchronous, cached lookup on the hot path. Table management operations go to the
directory too; the cluster implementation, whose tables come from Table manifests, refuses the ones
that would change them (see ``docs/tables.md``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from kumo_tablestore.partitioning import SlotMap


@dataclass(frozen=True)
class TableRoute:
    """What routing a request to a table needs."""

    name: str
    partition_key: str
    partition_type: str
    sort_key: str | None
    sort_type: str | None
    slot_map: SlotMap
    #: Base URL (``http://host:port``) of each partition, by partition index.
    endpoints: tuple[str, ...]

    @property
    def key_names(self) -> tuple[str, ...]:
        return (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)

    @classmethod
    def from_description(cls, description: dict[str, Any], endpoints: tuple[str, ...]) -> TableRoute:
        types = {d["AttributeName"]: d["AttributeType"] for d in description["AttributeDefinitions"]}
        keys = {e["KeyType"]: e["AttributeName"] for e in description["KeySchema"]}
        sort = keys.get("RANGE")
        slot_map = SlotMap.from_json(description["SlotMap"]) if "SlotMap" in description else SlotMap.even(1)
        return cls(
            name=description["TableName"],
            partition_key=keys["HASH"],
            partition_type=types[keys["HASH"]],
            sort_key=sort,
            sort_type=types[sort] if sort else None,
            slot_map=slot_map,
            endpoints=endpoints,
        )


class TableDirectory(Protocol):
    """Tables and their partition endpoints. Every method raises ``DynamoError`` for the client."""

    async def start(self) -> None:
        """Bring the tables up (partition processes, or watches of Table resources)."""
        ...

    async def stop(self) -> None:
        """Stop whatever :meth:`start` started; safe to call when it failed half-way."""
        ...

    def route(self, name: str) -> TableRoute | None:
        """The route of an ACTIVE table, None when there is no such table. Cheap: called per request."""
        ...

    def description(self, name: str) -> dict[str, Any] | None:
        """The stored description (with ``PartitionCount``/``SlotMap``), None when there is no such table."""
        ...

    def table_names(self) -> list[str]:
        """All table names, sorted."""
        ...

    async def create_table(self, request: dict[str, Any]) -> dict[str, Any]:
        """Create a table from a CreateTable request; returns its stored description."""
        ...

    async def delete_table(self, name: str) -> dict[str, Any]:
        """Delete a table and its data; returns its last description."""
        ...

    async def update_table(self, name: str, description: dict[str, Any]) -> dict[str, Any]:
        """Store a changed description (UpdateTable, UpdateTimeToLive) and hand it to every partition."""
        ...


def dump_description(description: dict[str, Any]) -> str:
    return json.dumps(description, indent=2, sort_keys=True)
