"""HTTP layer of the partition server: the internal protocol of :mod:`kumo_tablestore.protocol`.

Served by the lean :mod:`.http_protocol` server on uvloop: :func:`dispatch` answers one request,
:class:`PartitionServer` listens, :func:`run_partition` is ``kumo partition``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

from kumo import platform_credential
from kumo.event_loop import loop_factory
from kumo.listeners import ConnectionGuard, ListenerLimits
from kumo_tablestore import protocol, wire_json
from kumo_tablestore.errors import DynamoError, InternalServerError, ResourceNotFoundException
from kumo_tablestore.indexes import endpoints as index_endpoints
from kumo_tablestore.server import json_body, stream_reader
from kumo_tablestore.server.http_protocol import HttpServerProtocol
from kumo_tablestore.server.operations import HANDLERS
from kumo_tablestore.server.partition import Partition
from kumo_tablestore.storage import Durability

log = logging.getLogger(__name__)
_JSON = "application/x-amz-json-1.0"
MAX_BODY_BYTES = 32 * 1024 * 1024
Answer = tuple[int, bytes]
#: Served without the platform credential: the readiness probe (table name, partition, item count).
_OPEN_PATHS = frozenset({protocol.HEALTH_PATH.encode()})


def _json(body: Any, status: int = 200) -> Answer:
    return status, json_body.encode(body)


def _error(exc: DynamoError) -> Answer:
    return _json(protocol.error_body(exc), exc.status)


def _body(raw: bytes) -> dict[str, Any]:
    try:
        body = wire_json.loads(raw) if raw else {}
    except ValueError:  # also invalid UTF-8 and unpaired surrogate escapes
        raise DynamoError("SerializationException", "Start of structure or map found where not expected") from None
    if not isinstance(body, dict):
        raise DynamoError("SerializationException", "Request body must be a JSON object")
    return body


def _too_large(limit: int) -> bytes:
    return _error(DynamoError("ValidationException", f"Request size exceeds the maximum allowed ({limit} bytes)"))[1]


async def _operation(part: Partition, name: str, raw: bytes) -> Answer:
    handler = HANDLERS.get(name)
    if handler is None:
        raise DynamoError("UnknownOperationException", f"Unknown operation: {name}")
    body = _body(raw)
    if any(k.startswith(protocol.ROUTER_FIELD_PREFIX) for k in body):
        client, router = protocol.split_router_fields(body)
    else:
        client, router = body, {}
    out = await handler(part, client, router)
    return (200, out) if isinstance(out, bytes) else _json(out)


async def _route(part: Partition, method: str, path: str, raw: bytes) -> Answer:
    if method == "POST" and path.startswith(protocol.OP_PREFIX):
        return await _operation(part, path[len(protocol.OP_PREFIX) :], raw)
    if method == "POST" and path == protocol.STREAM_PATH:
        part.require_meta()
        return _json(await stream_reader.read(lambda: part.engine, _body(raw)))
    if path == protocol.TABLE_PATH:
        if method == "GET":
            return _json(part.require_meta().description)
        if method == "PUT":
            return _json(await part.set_description(_body(raw)))
        if method == "DELETE":
            await part.delete_table()
            return _json({})
    if path.startswith(protocol.INDEX_PREFIX):
        return _json(await index_endpoints.handle(part, method, path, raw))
    if method == "GET" and path == protocol.HEALTH_PATH:
        return _json({"table": part.name, "partition": part.index, "items": part.engine.count()})
    if method == "GET" and path == protocol.STATS_PATH:
        s = part.writer.stats
        return _json(
            {
                "commits": s.commits,
                "writes": s.writes,
                "largest_batch": s.largest_batch,
                "last_sequence": part.engine.last_sequence,
            }
        )
    raise ResourceNotFoundException(f"No such path: {method} {path}")


async def dispatch(part: Partition, method: str, path: str, raw: bytes) -> Answer:
    """``(status, body)`` for one request to ``part``; never raises (errors are DynamoDB-shaped)."""
    try:
        return await _route(part, method, path, raw)
    except DynamoError as exc:
        return _error(exc)
    except Exception:
        log.exception("partition server: unexpected error on %s %s", method, path)
        return _error(InternalServerError())


class PartitionServer:
    """A running partition server: ``await start()``, use :attr:`url`, ``await stop()``."""

    def __init__(
        self,
        *,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        table: str | None = None,
        partition: int = 0,
        durability: Durability = "full",
        ttl_interval_s: float = 1.0,
        limits: ListenerLimits | None = None,
        credential: str | None = None,
    ) -> None:
        """``limits``: the listener's bounds (default from ``KUMO_*``, internal keep-alive); ``credential``:
        the platform credential requests must carry (default ``KUMO_PLATFORM_CREDENTIAL``; none: not checked)."""
        self.host = host
        self.guard = ConnectionGuard(limits or ListenerLimits.from_env(internal=True))
        self.credential = credential or platform_credential.from_env()
        self.port = port
        self.partition = Partition(
            Path(data_dir), table=table, partition=partition, durability=durability, ttl_interval_s=ttl_interval_s
        )
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        await self.partition.start()
        part = self.partition

        async def handler(method: str, path: str, body: bytes) -> Answer:
            return await dispatch(part, method, path, body)

        def protocol_factory() -> HttpServerProtocol:
            return HttpServerProtocol(
                handler,
                content_type=_JSON,
                max_body=MAX_BODY_BYTES,
                too_large=_too_large,
                guard=self.guard,
                credential=self.credential,
                open_paths=_OPEN_PATHS,
            )

        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(protocol_factory, self.host, self.port, reuse_address=True)
        except BaseException:
            await self.partition.close()
            raise
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for connection in list(self.guard.connections):  # idle keep-alive links would hold wait_closed
                connection.transport.close()
            await self._server.wait_closed()
            self._server = None
        self.guard.close()
        await self.partition.close()

    async def __aenter__(self) -> PartitionServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def serve_partition(
    *,
    data_dir: Path,
    host: str,
    port: int,
    table: str | None,
    partition: int,
    durability: Durability = "full",
    ttl_interval_s: float = 1.0,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until ``stop`` is set (or forever), then close the engine cleanly."""
    server = PartitionServer(
        data_dir=data_dir,
        host=host,
        port=port,
        table=table,
        partition=partition,
        durability=durability,
        ttl_interval_s=ttl_interval_s,
    )
    await server.start()
    if server.credential is None:
        log.warning("no %s set: serving without checking the platform credential", platform_credential.ENV_VAR)
    print(f"kumo partition {partition} listening on {server.url}", flush=True)
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        await server.stop()


def run_partition(
    *,
    data_dir: Path,
    host: str,
    port: int,
    table: str | None,
    partition: int,
    durability: str = "full",
    ttl_interval_s: float = 1.0,
) -> int:
    """Run a partition server until SIGTERM/SIGINT; returns the process exit code."""
    if durability not in ("full", "normal", "off"):
        log.error("durability must be full, normal or off, not %r", durability)
        return 2

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve_partition(
            data_dir=data_dir,
            host=host,
            port=port,
            table=table,
            partition=partition,
            durability=durability,  # type: ignore[arg-type]
            ttl_interval_s=ttl_interval_s,
            stop=stop,
        )

    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(main())
    except (ValueError, OSError) as exc:
        log.error("kumo partition: %s", exc)
        print(f"kumo partition: {exc}", flush=True)
        return 1
    return 0
