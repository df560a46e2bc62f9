"""The DynamoDB Streams API (``X-Amz-Target: DynamoDBStreams_20120810.<Op>``): ListStreams, DescribeStream,
GetShardIterator and GetRecords over the tables' change logs, one shard per partition.

Served by the gateway's DynamoDB endpoint (boto3's ``dynamodbstreams`` client signs for ``dynamodb``
and posts to ``/`` like the DynamoDB client), so ``boto3.client("dynamodbstreams", endpoint_url=...)``
works unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from kumo_gateway.dynamodb.json_protocol import check_table_name, dumps, error_body, parse_body
from kumo_gateway.dynamodb.table_directory import TableDirectory
from kumo_gateway.dynamodbstreams import iterators, names, reader, records, specification
from kumo_tablestore.errors import DynamoError, InternalServerError, ResourceNotFoundException, ValidationException
from kumo_tablestore.partition_client import PartitionClient, PartitionUnavailable

log = logging.getLogger("kumo.gateway.dynamodbstreams")

TARGET_PREFIX = "DynamoDBStreams_20120810."
OPERATIONS = ("ListStreams", "DescribeStream", "GetShardIterator", "GetRecords")
ITERATOR_TYPES = ("TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER")
#: GetRecords answers at most this many bytes of records (at least one record).
MAX_RECORDS_BYTES = 1024 * 1024
Answer = tuple[int, bytes]


def operation_of(target: str) -> str:
    operation = target[len(TARGET_PREFIX) :]
    if operation not in OPERATIONS:
        raise DynamoError("UnknownOperationException", f"Operation is not supported by Kumo: {operation}")
    return operation


def touched_tables(operation: str, body: bytes) -> tuple[str, ...] | None:
    """The table a Streams request reads (``*`` for ListStreams without TableName); None if unreadable."""
    try:
        request = parse_body(body)
        if operation == "ListStreams":
            name = request.get("TableName")
            return (name,) if isinstance(name, str) else ("*",)
        if operation == "GetRecords":
            return (iterators.peek_table(request.get("ShardIterator")),)
        return (names.parse_stream_arn(request.get("StreamArn")).table,)
    except DynamoError:
        return None


def _stream_not_found(arn: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Requested resource not found: Stream: {arn} not found")


def _limit(request: dict[str, Any], most: int) -> int:
    value = request.get("Limit", most)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= most:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at 'limit' failed to satisfy constraint: "
            f"Member must have value less than or equal to {most} and greater than or equal to 1"
        )
    return value


class StreamsApi:
    """Answers the four Streams operations from the directory's descriptions and the partitions' logs."""

    def __init__(
        self,
        directory: TableDirectory,
        client: PartitionClient,
        *,
        region: str = "us-east-1",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.client = client
        self.region = region
        self.clock = clock

    async def handle(self, operation: str, raw: bytes) -> Answer:
        """``(status, body)``; never raises."""
        try:
            request = parse_body(raw)
            handler = getattr(self, f"_op_{operation}")
            return 200, dumps(await handler(request))
        except DynamoError as exc:
            return exc.status, error_body(exc)
        except PartitionUnavailable as exc:
            log.warning("partition unavailable: %s", exc)
            return 503, error_body(DynamoError("InternalServerError", "The partition is unavailable; retry", 503))
        except Exception:
            log.exception("DynamoDB Streams %s failed", operation)
            return 500, error_body(InternalServerError())

    # ---- helpers -------------------------------------------------------------------------------

    def _stream(self, arn: Any) -> tuple[dict[str, Any], names.StreamName]:
        """The table description of a stream ARN (the table's latest stream)."""
        name = names.parse_stream_arn(arn)
        description = self.directory.description(name.table)
        if description is None or description.get("LatestStreamArn") != arn:
            raise _stream_not_found(str(arn))
        return description, name

    def _endpoint(self, table: str, partition: int) -> str:
        route = self.directory.route(table)
        if route is None or not 0 <= partition < len(route.endpoints):
            raise ResourceNotFoundException(f"Requested resource not found: Table: {table} not found")
        return route.endpoints[partition]

    def _shard(self, description: dict[str, Any], shard: Any) -> int:
        parsed = names.parse_shard_id(shard)
        created_ms = int(description["CreationDateTime"] * 1000)
        if parsed is None or parsed[0] != created_ms or not 0 <= parsed[1] < description.get("PartitionCount", 1):
            raise ResourceNotFoundException(f"Requested resource not found: Shard: {shard} not found")
        return parsed[1]

    @staticmethod
    def _secret(description: dict[str, Any]) -> str:
        return str(description.get("TableId", description["TableName"]))

    # ---- operations ----------------------------------------------------------------------------

    async def _op_ListStreams(self, request: dict[str, Any]) -> dict[str, Any]:
        limit = _limit(request, 100)
        table = request.get("TableName")
        if table is not None:
            check_table_name(table)
            if self.directory.description(table) is None:
                raise ResourceNotFoundException(f"Requested resource not found: Table: {table} not found")
        streams = []
        for name in [table] if table is not None else self.directory.table_names():
            description = self.directory.description(name)
            if description is not None and description.get("LatestStreamArn"):
                streams.append(
                    {
                        "StreamArn": description["LatestStreamArn"],
                        "TableName": name,
                        "StreamLabel": description["LatestStreamLabel"],
                    }
                )
        start = request.get("ExclusiveStartStreamArn")
        if start is not None:
            names.parse_stream_arn(start, "exclusiveStartStreamArn")
            streams = [s for s in streams if s["StreamArn"] > start]
        streams.sort(key=lambda s: s["StreamArn"])
        out: dict[str, Any] = {"Streams": streams[:limit]}
        if len(streams) > limit:
            out["LastEvaluatedStreamArn"] = streams[limit - 1]["StreamArn"]
        return out

    async def _op_DescribeStream(self, request: dict[str, Any]) -> dict[str, Any]:
        description, name = self._stream(request.get("StreamArn"))
        limit = _limit(request, 100)
        count = description.get("PartitionCount", 1)
        created = description["CreationDateTime"]
        start = request.get("ExclusiveStartShardId")
        first_partition = 0
        if start is not None:
            first_partition = self._shard(description, start) + 1
        is_enabled = specification.enabled(description)
        shards = []
        for partition in range(first_partition, min(count, first_partition + limit)):
            page = await reader.read(self.client, self._endpoint(name.table, partition), after=0, limit=1)
            first = page.first if page.first is not None else page.last + 1
            span: dict[str, str] = {"StartingSequenceNumber": names.sequence_number(first)}
            if not is_enabled:
                span["EndingSequenceNumber"] = names.sequence_number(max(page.last, first))
            shards.append({"ShardId": names.shard_id(created, partition), "SequenceNumberRange": span})
        stream: dict[str, Any] = {
            "StreamArn": description["LatestStreamArn"],
            "StreamLabel": description["LatestStreamLabel"],
            "StreamStatus": "ENABLED" if is_enabled else "DISABLED",
            "StreamViewType": specification.view_type(description),
            "CreationRequestDateTime": names.label_time(description["LatestStreamLabel"]),
            "TableName": name.table,
            "KeySchema": description["KeySchema"],
            "Shards": shards,
        }
        if first_partition + limit < count:
            stream["LastEvaluatedShardId"] = shards[-1]["ShardId"]
        return {"StreamDescription": stream}

    async def _op_GetShardIterator(self, request: dict[str, Any]) -> dict[str, Any]:
        description, name = self._stream(request.get("StreamArn"))
        partition = self._shard(description, request.get("ShardId"))
        kind = request.get("ShardIteratorType")
        if kind not in ITERATOR_TYPES:
            raise ValidationException(
                f"1 validation error detected: Value '{kind}' at 'shardIteratorType' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(ITERATOR_TYPES)}]"
            )
        now = self.clock()
        page = await reader.read(self.client, self._endpoint(name.table, partition), after=0, limit=1)
        if kind == "TRIM_HORIZON":
            after = page.first - 1 if page.first is not None else page.last
        elif kind == "LATEST":
            after = page.last
        else:
            if request.get("SequenceNumber") is None:
                raise ValidationException(f"SequenceNumber is required for ShardIteratorType {kind}")
            seq = names.parse_sequence_number(request["SequenceNumber"])
            if seq > page.last or seq < 1:
                raise ValidationException(
                    f"Invalid SequenceNumber {request['SequenceNumber']} for shard {request.get('ShardId')}: "
                    "beyond the last record of the shard"
                )
            after = seq - 1 if kind == "AT_SEQUENCE_NUMBER" else seq
            start, _ = specification.window(description)
            if reader.trimmed(seq - 1, page.first, page.last, start, now):
                raise DynamoError(
                    "TrimmedDataAccessException", f"The sequence number {seq} is beyond the stream's retention"
                )
        position = iterators.Position(name.table, name.label, partition, after, now)
        return {"ShardIterator": iterators.encode(position, self._secret(description))}

    async def _op_GetRecords(self, request: dict[str, Any]) -> dict[str, Any]:
        text = request.get("ShardIterator")
        table = iterators.peek_table(text)
        description = self.directory.description(table)
        if description is None:
            raise ResourceNotFoundException(f"Requested resource not found: Table: {table} not found")
        now = self.clock()
        position = iterators.decode(text, self._secret(description), now)
        if position.label != description.get("LatestStreamLabel"):
            raise _stream_not_found(names.stream_arn(description["TableArn"], position.label))
        limit = _limit(request, 1000)
        page = await reader.read(self.client, self._endpoint(table, position.partition), position.after, limit)
        window = specification.window(description)
        if reader.trimmed(position.after, page.first, page.last, window[0], now):
            raise DynamoError(
                "TrimmedDataAccessException",
                "The operation attempted to read past the oldest stream record in a shard",
            )
        shard = names.shard_id(description["CreationDateTime"], position.partition)
        view = specification.view_type(description) or "KEYS_ONLY"
        out_records: list[dict[str, Any]] = []
        size = 0
        after = position.after
        for change in page.records:
            if records.in_window(change, window):
                record = records.stream_record(change, shard=shard, view_type=view, region=self.region)
                size += record["dynamodb"]["SizeBytes"]
                if out_records and size > MAX_RECORDS_BYTES:
                    break
                out_records.append(record)
            after = change["seq"]
        out: dict[str, Any] = {"Records": out_records}
        closed = window[1] is not None and after >= page.last
        if not closed:
            next_position = position._replace(after=after, issued=now)
            out["NextShardIterator"] = iterators.encode(next_position, self._secret(description))
        return out
