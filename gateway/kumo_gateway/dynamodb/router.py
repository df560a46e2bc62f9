"""Route one DynamoDB request: single-partition operations, fan-out operations and table management."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from kumo_gateway.dynamodb import descriptions, fanout, index_descriptions, indexes
from kumo_gateway.dynamodb.index_feeder import IndexFeeder
from kumo_gateway.dynamodb.json_protocol import (
    ServiceUnavailable,
    check_item_collection_metrics,
    check_table_name,
    dumps,
    error_body,
    parse_body,
    require_table_name,
)
from kumo_gateway.dynamodb.partition_choice import (
    item_partition,
    key_partition,
    owned_partitions,
    query_partition,
    value_partition,
)
from kumo_gateway.dynamodb.table_directory import TableDirectory, TableRoute
from kumo_gateway.dynamodb.transactions import Coordinator
from kumo_gateway.dynamodb.txn_recovery import TxnRecovery
from kumo_gateway.dynamodb.txn_tokens import TokenStore
from kumo_tablestore.errors import DynamoError, InternalServerError, ResourceNotFoundException, ValidationException
from kumo_tablestore.expressions import analyze_key_condition
from kumo_tablestore.expressions.key_condition import KeySchema
from kumo_tablestore.partition_client import PartitionClient, PartitionUnavailable
from kumo_tablestore.server.requests import QUERY_EXPRESSIONS, compile_expressions

log = logging.getLogger("kumo.gateway.dynamodb")
Answer = tuple[int, bytes]


class DynamoRouter:
    """Answers DynamoDB operations by asking the right partition servers."""

    def __init__(self, directory: TableDirectory, client: PartitionClient | None = None, *, redis: Any = None) -> None:
        self.directory = directory
        self.client = client or PartitionClient()
        self.transactions = Coordinator(self.client, directory.route, TokenStore(redis))
        self.recovery = TxnRecovery(directory, self.client)
        self._handlers = {name[len("_op_") :]: getattr(self, name) for name in dir(self) if name.startswith("_op_")}
        self.index_feeder: IndexFeeder | None = None

    def start_index_feeder(self) -> None:
        """Start feeding GSIs from the partitions' change logs (call in the serving loop)."""
        if self.index_feeder is None:
            self.index_feeder = IndexFeeder(self.directory)
            self.index_feeder.start()

    async def close(self) -> None:
        if self.index_feeder is not None:
            await self.index_feeder.stop()
            self.index_feeder = None
        await self.recovery.stop()
        await self.client.close()

    async def handle(self, operation: str, raw: bytes) -> Answer:
        """``(status, body)`` for a request; never raises."""
        self.recovery.ensure_started()
        try:
            request = parse_body(raw)
            return await self._handlers[operation](request, raw)
        except DynamoError as exc:
            return exc.status, error_body(exc)
        except PartitionUnavailable as exc:
            log.warning("partition unavailable: %s", exc)
            return 503, error_body(ServiceUnavailable())
        except Exception:
            log.exception("DynamoDB %s failed", operation)
            return 500, error_body(InternalServerError())

    # ---- routing helpers ---------------------------------------------------------------------

    def _route(self, name: str) -> TableRoute:
        route = self.directory.route(name)
        if route is None:
            raise ResourceNotFoundException()
        return route

    def _table(self, request: dict[str, Any]) -> TableRoute:
        return self._route(require_table_name(request))

    async def _single(self, route: TableRoute, partition: int, operation: str, raw: bytes) -> Answer:
        return await self.client.op(route.endpoints[partition], operation, raw)

    # ---- single-partition operations ---------------------------------------------------------

    async def _op_PutItem(self, request: dict[str, Any], raw: bytes) -> Answer:
        check_item_collection_metrics(request)
        route = self._table(request)
        return await self._single(route, item_partition(route, request.get("Item")), "PutItem", raw)

    async def _op_GetItem(self, request: dict[str, Any], raw: bytes) -> Answer:
        route = self._table(request)
        return await self._single(route, key_partition(route, request.get("Key")), "GetItem", raw)

    async def _op_UpdateItem(self, request: dict[str, Any], raw: bytes) -> Answer:
        check_item_collection_metrics(request)
        route = self._table(request)
        return await self._single(route, key_partition(route, request.get("Key")), "UpdateItem", raw)

    async def _op_DeleteItem(self, request: dict[str, Any], raw: bytes) -> Answer:
        check_item_collection_metrics(request)
        route = self._table(request)
        return await self._single(route, key_partition(route, request.get("Key")), "DeleteItem", raw)

    def _indexed(self, route: TableRoute, request: dict[str, Any]) -> TableRoute:
        """The route of the request's ``IndexName`` (the table's route without one)."""
        name = request.get("IndexName")
        if name is None:
            return route
        return indexes.index_route(route, self._description(request), name)

    async def _op_Query(self, request: dict[str, Any], raw: bytes) -> Answer:
        route = self._indexed(self._table(request), request)
        text = request.get("KeyConditionExpression")
        if text is None:
            if "KeyConditions" in request:  # legacy parameter: the partition answers with its refusal
                return await self._single(route, owned_partitions(route)[0], "Query", raw)
            raise ValidationException(
                "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."
            )
        names, values = request.get("ExpressionAttributeNames"), request.get("ExpressionAttributeValues")
        partition = query_partition(route, text, names, values)
        if partition is None:  # the partition's full check: raises the client's error, or routes an unusual condition
            schema = KeySchema(route.partition_key, route.partition_type, route.sort_key, route.sort_type)
            key_condition = compile_expressions(request, QUERY_EXPRESSIONS).key_condition
            partition = value_partition(route, analyze_key_condition(key_condition, schema).partition_value)
        return await self._single(route, partition, "Query", raw)

    # ---- fan-out operations ------------------------------------------------------------------

    async def _op_Scan(self, request: dict[str, Any], raw: bytes) -> Answer:
        return await fanout.scan(self.client, self._indexed(self._table(request), request), request)

    def _batch_routes(self, request: dict[str, Any]) -> dict[str, TableRoute]:
        items = request.get("RequestItems")
        if not isinstance(items, dict):
            return {}
        for name in items:
            check_table_name(name, "RequestItems")
        return {name: self._route(name) for name in items}

    async def _op_BatchGetItem(self, request: dict[str, Any], raw: bytes) -> Answer:
        return await fanout.batch_get(self.client, self._batch_routes(request), request)

    async def _op_BatchWriteItem(self, request: dict[str, Any], raw: bytes) -> Answer:
        check_item_collection_metrics(request)
        return await fanout.batch_write(self.client, self._batch_routes(request), request)

    # ---- transactions (transactions.py) -------------------------------------------------------

    async def _op_TransactWriteItems(self, request: dict[str, Any], raw: bytes) -> Answer:
        return await self.transactions.write(request, raw)

    async def _op_TransactGetItems(self, request: dict[str, Any], raw: bytes) -> Answer:
        return await self.transactions.read(request, raw)

    # ---- table management --------------------------------------------------------------------

    def _description(self, request: dict[str, Any]) -> dict[str, Any]:
        description = self.directory.description(require_table_name(request))
        if description is None:
            raise ResourceNotFoundException(f"Requested resource not found: Table: {request['TableName']} not found")
        return description

    async def _counts(self, description: dict[str, Any]) -> tuple[int, int]:
        """Live ``(ItemCount, TableSizeBytes)`` summed over the partitions' health answers."""
        route = self.directory.route(description["TableName"])
        if route is None:
            return 0, 0

        async def health(endpoint: str) -> tuple[int, int]:
            try:
                data = await self.client.health(endpoint)
            except PartitionUnavailable:
                return 0, 0
            return int(data.get("items", 0)), int(data.get("size_bytes", data.get("bytes", 0)))

        counts = await asyncio.gather(*(health(route.endpoints[p]) for p in owned_partitions(route)))
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    async def _public(self, description: dict[str, Any]) -> dict[str, Any]:
        out = descriptions.public_description(description)
        out["ItemCount"], out["TableSizeBytes"] = await self._counts(description)
        route = self.directory.route(description["TableName"])
        if indexes.has_indexes(description) and route is not None:
            out = index_descriptions.with_live_status(out, await indexes.live_status(self.client, route))
        return out

    async def _op_CreateTable(self, request: dict[str, Any], raw: bytes) -> Answer:
        description = await self.directory.create_table(request)
        out = descriptions.public_description(description)
        out["ItemCount"], out["TableSizeBytes"] = 0, 0
        return 200, dumps({"TableDescription": out})

    async def _op_DescribeTable(self, request: dict[str, Any], raw: bytes) -> Answer:
        return 200, dumps({"Table": await self._public(self._description(request))})

    async def _op_DeleteTable(self, request: dict[str, Any], raw: bytes) -> Answer:
        name = self._description(request)["TableName"]
        description = await self.directory.delete_table(name)
        out = descriptions.public_description(description)
        out["TableStatus"] = "DELETING"
        return 200, dumps({"TableDescription": out})

    async def _op_ListTables(self, request: dict[str, Any], raw: bytes) -> Answer:
        limit = request.get("Limit", 100)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
            raise ValidationException(
                f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
                "Member must have value less than or equal to 100 and greater than or equal to 1"
            )
        names = self.directory.table_names()
        start = request.get("ExclusiveStartTableName")
        if start is not None:
            check_table_name(start, "ExclusiveStartTableName")
            names = [n for n in names if n > start]
        out: dict[str, Any] = {"TableNames": names[:limit]}
        if len(names) > limit:
            out["LastEvaluatedTableName"] = names[limit - 1]
        return 200, dumps(out)

    async def _op_UpdateTable(self, request: dict[str, Any], raw: bytes) -> Answer:
        current = self._description(request)
        updated = descriptions.update_description(current, request, now=time.time())
        stored = await self.directory.update_table(current["TableName"], updated)
        out = await self._public(stored)
        deleted = index_descriptions.deleted_indexes(current, stored)
        if deleted:
            out[index_descriptions.GSI_FIELD] = out.get(index_descriptions.GSI_FIELD, []) + deleted
        return 200, dumps({"TableDescription": out})

    async def _op_UpdateTimeToLive(self, request: dict[str, Any], raw: bytes) -> Answer:
        current = self._description(request)
        spec = request.get("TimeToLiveSpecification")
        updated = descriptions.ttl_update(current, spec)
        await self.directory.update_table(current["TableName"], updated)
        return 200, dumps(
            {"TimeToLiveSpecification": {"Enabled": spec["Enabled"], "AttributeName": spec["AttributeName"]}}
        )

    async def _op_DescribeTimeToLive(self, request: dict[str, Any], raw: bytes) -> Answer:
        current = self._description(request)
        return 200, dumps(
            {"TimeToLiveDescription": current.get("TimeToLiveDescription", {"TimeToLiveStatus": "DISABLED"})}
        )
