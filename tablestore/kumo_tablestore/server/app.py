"""HTTP layer of the partition server (aiohttp): the internal protocol of :mod:`kumo_tablestore.protocol`."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from pathlib import Path
from typing import Any

from aiohttp import web

from kumo_tablestore import protocol
from kumo_tablestore.errors import DynamoError, InternalServerError, ResourceNotFoundException
from kumo_tablestore.server.operations import HANDLERS
from kumo_tablestore.server.partition import Partition
from kumo_tablestore.storage import Durability

log = logging.getLogger(__name__)
PARTITION_KEY = web.AppKey("partition", Partition)
_JSON = "application/x-amz-json-1.0"


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(), status=status, content_type=_JSON
    )


def _error(exc: DynamoError) -> web.Response:
    return _json(protocol.error_body(exc), exc.status)


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw) if raw else {}
    except (ValueError, UnicodeDecodeError):
        raise DynamoError("SerializationException", "Start of structure or map found where not expected") from None
    if not isinstance(body, dict):
        raise DynamoError("SerializationException", "Request body must be a JSON object")
    return body


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """DynamoDB-shaped errors; anything unexpected is logged and answered as a 500 InternalServerError."""
    try:
        return await handler(request)
    except DynamoError as exc:
        return _error(exc)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("partition server: unexpected error on %s %s", request.method, request.path)
        return _error(InternalServerError())


async def _healthz(request: web.Request) -> web.Response:
    part = request.app[PARTITION_KEY]
    return _json({"table": part.name, "partition": part.index, "items": part.engine.count()})


async def _stats(request: web.Request) -> web.Response:
    part = request.app[PARTITION_KEY]
    s = part.writer.stats
    return _json(
        {
            "commits": s.commits,
            "writes": s.writes,
            "largest_batch": s.largest_batch,
            "last_sequence": part.engine.last_sequence,
        }
    )


async def _get_table(request: web.Request) -> web.Response:
    return _json(request.app[PARTITION_KEY].require_meta().description)


async def _put_table(request: web.Request) -> web.Response:
    return _json(await request.app[PARTITION_KEY].set_description(await _body(request)))


async def _delete_table(request: web.Request) -> web.Response:
    await request.app[PARTITION_KEY].delete_table()
    return _json({})


async def _operation(request: web.Request) -> web.Response:
    name = request.match_info["operation"]
    handler = HANDLERS.get(name)
    if handler is None:
        raise DynamoError("UnknownOperationException", f"Unknown operation: {name}")
    client, router = protocol.split_router_fields(await _body(request))
    return _json(await handler(request.app[PARTITION_KEY], client, router))


async def _not_found(request: web.Request) -> web.Response:
    raise ResourceNotFoundException(f"No such path: {request.method} {request.path}")


def make_app(part: Partition) -> web.Application:
    """The aiohttp application serving ``part`` (the caller starts and closes ``part``)."""
    app = web.Application(middlewares=[_errors], client_max_size=32 * 1024 * 1024)
    app[PARTITION_KEY] = part
    app.router.add_get(protocol.HEALTH_PATH, _healthz)
    app.router.add_get(protocol.STATS_PATH, _stats)
    app.router.add_get(protocol.TABLE_PATH, _get_table)
    app.router.add_put(protocol.TABLE_PATH, _put_table)
    app.router.add_delete(protocol.TABLE_PATH, _delete_table)
    app.router.add_post(protocol.OP_PREFIX + "{operation}", _operation)
    app.router.add_route("*", "/{tail:.*}", _not_found)
    return app


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
    ) -> None:
        self.host = host
        self.port = port
        self.partition = Partition(
            Path(data_dir), table=table, partition=partition, durability=durability, ttl_interval_s=ttl_interval_s
        )
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        await self.partition.start()
        self._runner = web.AppRunner(make_app(self.partition), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
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
        asyncio.run(main())
    except (ValueError, OSError) as exc:
        log.error("kumo partition: %s", exc)
        print(f"kumo partition: {exc}", flush=True)
        return 1
    return 0
