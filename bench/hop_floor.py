"""The floor of a two-hop path: client → Python proxy → Python server, with no work on either hop.

``python bench/hop_floor.py server PORT`` answers every request with a constant GetItem-sized JSON;
``python bench/hop_floor.py proxy PORT UPSTREAM_PORT`` forwards each request's body to it, pipelined
on one keep-alive connection with coalesced writes (as Kumo's router does), and relays the answer.
Both run on uvloop + httptools like the gateway and partition servers. Whatever this pair reaches
is the most any design with Kumo's process topology (gateway process + partition process) can
reach on this machine; ``bench/tables.py`` measures it as the ``hop-floor`` target.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque

import httptools
import uvloop

ANSWER = b'{"Item":{"pk":{"S":"p1"},"sk":{"N":"1"},"v":{"S":"' + b"x" * 100 + b'"}}}'
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: %d\r\n\r\n"


class Server(asyncio.Protocol):
    """Constant answers, written once per read."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)
        self.out: list[bytes] = []

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)
        if self.out:
            self.transport.write(b"".join(self.out))  # type: ignore[attr-defined]
            self.out = []

    def on_message_complete(self) -> None:
        self.out.append(HEAD % len(ANSWER) + ANSWER)


class Upstream(asyncio.Protocol):
    """One pipelined connection to the server; requests queued in one loop iteration go out together."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.waiters: deque[asyncio.Future[bytes]] = deque()
        self.body: list[bytes] = []
        self.out: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.waiters.popleft().set_result(b"".join(self.body))
        self.body = []

    def send(self, data: bytes) -> asyncio.Future[bytes]:
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self.waiters.append(waiter)
        if not self.out:
            loop.call_soon(self.flush)
        self.out.append(data)
        return waiter

    def flush(self) -> None:
        self.transport.write(b"".join(self.out))  # type: ignore[attr-defined]
        self.out = []


class Proxy(asyncio.Protocol):
    upstream: Upstream

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)
        self.body: list[bytes] = []

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body, self.body = b"".join(self.body), []
        asyncio.get_running_loop().create_task(self.relay(body))

    async def relay(self, body: bytes) -> None:
        request = b"POST /op/GetItem HTTP/1.1\r\nHost: p\r\ncontent-length: %d\r\n\r\n" % len(body) + body
        answer = await self.upstream.send(request)
        if not self.transport.is_closing():
            self.transport.write(HEAD % len(answer) + answer)  # type: ignore[attr-defined]


async def main(role: str, port: int, upstream_port: int | None) -> None:
    loop = asyncio.get_running_loop()
    if role == "server":
        await loop.create_server(Server, "127.0.0.1", port)
    else:
        assert upstream_port is not None
        _, Proxy.upstream = await loop.create_connection(Upstream, "127.0.0.1", upstream_port)
        await loop.create_server(Proxy, "127.0.0.1", port)
    print("ready", flush=True)
    await asyncio.sleep(3600)  # the benchmark kills the process when done


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else None))
