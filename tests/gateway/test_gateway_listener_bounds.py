"""The gateway's listener bounds, Host allow-list and cross-site refusals, on a real server (raw sockets).

Two gateways: ``quick`` with short timeouts (0.5 s) to watch slow and idle connections being closed,
``capped`` with long timeouts and a cap of 50 connections to watch a flood of idle connections.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import signing
from gateway_fakes import InProcessProvider, echo
from gateway_server import ThreadedServer

from kumo.allowed_hosts import allowed_hosts
from kumo.catalog import Catalog
from kumo.listeners import ListenerLimits
from kumo.models import Function
from kumo_gateway.app import create_app

INVOKE = "/2015-03-31/functions/echo/invocations"
QUICK = ListenerLimits(header_timeout_s=0.5, body_timeout_s=0.5, keepalive_timeout_s=0.5, max_header_bytes=4096)
CAPPED = ListenerLimits(header_timeout_s=30, body_timeout_s=30, keepalive_timeout_s=30, max_connections=50)


class EmptyTables:
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def route(self, name: str) -> None:
        return None

    def description(self, name: str) -> None:
        return None

    def table_names(self) -> list[str]:
        return []


@dataclass
class Gateway:
    port: int
    provider: InProcessProvider

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _serve(limits: ListenerLimits) -> Iterator[Gateway]:
    catalog = Catalog()
    catalog.set_function(
        Function.model_validate(
            {
                "apiVersion": "kumo.dev/v1alpha1",
                "kind": "Function",
                "metadata": {"name": "echo"},
                "spec": {"runtime": "python3.11", "handler": "app.handler", "code": {"inline": {"app.py": ""}}},
            }
        )
    )
    provider = InProcessProvider({"echo": echo})
    app = create_app(catalog, provider, auth=signing.make_authenticator(), tables=EmptyTables())  # type: ignore[arg-type]
    server = ThreadedServer(app, limits=limits, allowed_hosts=allowed_hosts("127.0.0.1", environ={}))
    server.start()
    try:
        yield Gateway(server.port, provider)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def quick() -> Iterator[Gateway]:
    yield from _serve(QUICK)


@pytest.fixture(scope="module")
def capped() -> Iterator[Gateway]:
    yield from _serve(CAPPED)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def closed_after(sock: socket.socket, limit_s: float = 5.0) -> tuple[float, bytes]:
    """Seconds until the server closed ``sock`` (reading everything it sent), and what it sent."""
    start = time.monotonic()
    sock.settimeout(limit_s)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return time.monotonic() - start, received


def is_closed(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        sock.setblocking(True)


def answer(sock: socket.socket, request: bytes, limit_s: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` and read one answer (status, lower-case headers, body)."""
    sock.settimeout(limit_s)
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed without an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return int(lines[0].split()[1]), headers, body


def healthz(host: str = "127.0.0.1") -> bytes:
    return f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


# -- timeouts ---------------------------------------------------------------------------------------


def test_a_connection_that_sends_nothing_is_closed(quick: Gateway) -> None:
    with connect(quick.port) as sock:
        elapsed, received = closed_after(sock)
    assert 0.3 < elapsed < 3.0 and received == b""


def test_an_idle_keep_alive_connection_is_closed(quick: Gateway) -> None:
    with connect(quick.port) as sock:
        status, _, _ = answer(sock, healthz())
        assert status == 200
        elapsed, _ = closed_after(sock)
    assert 0.3 < elapsed < 3.0


def test_a_stalled_or_trickled_head_is_cut_off(quick: Gateway) -> None:
    with connect(quick.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
        elapsed, received = closed_after(sock)
    assert elapsed < 3.0 and received == b""
    with connect(quick.port) as sock:  # a byte every 0.1 s: progress, but the head's time is bounded
        start = time.monotonic()
        with pytest.raises(OSError):
            for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 100:
                sock.sendall(bytes([byte]))
                time.sleep(0.1)
        assert time.monotonic() - start < 3.0


def test_a_stalled_body_is_cut_off_and_nothing_runs(quick: Gateway) -> None:
    before = len(quick.provider.invocations)
    with connect(quick.port) as sock:
        sock.sendall(f"POST {INVOKE} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{{".encode())
        elapsed, received = closed_after(sock)
    assert elapsed < 3.0 and received == b""
    with connect(quick.port) as sock:  # the DynamoDB fast lane too
        head = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
        sock.sendall(f"{head}Content-Length: 100\r\n\r\n{{".encode())
        elapsed, received = closed_after(sock)
    assert elapsed < 3.0 and received == b""
    assert len(quick.provider.invocations) == before


def test_huge_headers_get_431(quick: Gateway) -> None:
    with connect(quick.port) as sock:
        status, headers, body = answer(
            sock, f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {'a' * 8000}\r\n\r\n".encode()
        )
    assert status == 431 and headers["connection"] == "close"
    assert json.loads(body) == {"message": "Request header fields too large"}


# -- the connection cap -----------------------------------------------------------------------------


def test_a_flood_of_idle_connections_leaves_room_for_fresh_ones(capped: Gateway) -> None:
    flood = [connect(capped.port) for _ in range(80)]  # 30 beyond the cap of 50
    try:
        time.sleep(0.3)  # let the server accept them all
        assert sum(is_closed(s) for s in flood) >= 30  # the oldest idle ones made room
        for _ in range(3):
            assert httpx.get(f"{capped.url}/healthz", timeout=5).status_code == 200
            lam = signing.client("lambda", capped.url)
            result = lam.invoke(FunctionName="echo", Payload=b'{"n": 1}')
            assert result["StatusCode"] == 200 and json.loads(result["Payload"].read())["event"] == {"n": 1}
            flood += [connect(capped.port) for _ in range(20)]  # and the flood goes on
    finally:
        for sock in flood:
            sock.close()


def test_beyond_the_cap_with_nothing_idle_a_new_connection_is_refused_cleanly(capped: Gateway) -> None:
    busy = [connect(capped.port) for _ in range(50)]
    try:
        for sock in busy:  # every connection is inside a request (a head not finished): none is idle
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        time.sleep(0.3)
        with connect(capped.port) as sock:
            _, received = closed_after(sock)
        assert received.startswith(b"HTTP/1.1 503 ") and b'{"message": "Too many connections"}' in received
    finally:
        for sock in busy:
            sock.close()
    time.sleep(0.3)  # once they are gone, fresh connections are served again
    assert httpx.get(f"{capped.url}/healthz", timeout=5).status_code == 200


# -- Content-Length over the endpoint's limit ------------------------------------------------------


@pytest.mark.parametrize("declared", [7 * 1024 * 1024, 10**12])
def test_an_oversized_invoke_is_refused_before_its_body(capped: Gateway, declared: int) -> None:
    with connect(capped.port) as sock:
        request = f"POST {INVOKE} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {declared}\r\n\r\n"
        status, headers, body = answer(sock, request.encode(), limit_s=5)
    assert status == 413 and headers["x-amzn-errortype"] == "RequestTooLargeException"
    assert json.loads(body)["message"].startswith("Request must be smaller than 6291456 bytes")


@pytest.mark.parametrize("declared", [17 * 1024 * 1024, 10**12])
def test_an_oversized_dynamodb_request_is_refused_before_its_body(capped: Gateway, declared: int) -> None:
    with connect(capped.port) as sock:
        head = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\n"
        status, _, body = answer(sock, f"{head}Content-Length: {declared}\r\n\r\n".encode(), limit_s=5)
    assert status == 413
    assert json.loads(body)["__type"].endswith("#ValidationException")


# -- Host allow-list and cross-site requests -------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "[::2]"])
def test_a_host_the_gateway_does_not_serve_gets_400(quick: Gateway, host: str) -> None:
    with connect(quick.port) as sock:
        status, _, body = answer(sock, healthz(host))
    assert status == 400 and json.loads(body) == {"message": "Invalid Host header"}
    with connect(quick.port) as sock:  # the fast lane too
        head = f"POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
        status, _, body = answer(sock, f"{head}Content-Length: 2\r\n\r\n{{}}".encode())
    assert status == 400 and json.loads(body) == {"message": "Invalid Host header"}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST:8080", "[::1]:80"])
def test_served_hosts_pass(quick: Gateway, host: str) -> None:
    with connect(quick.port) as sock:
        status, _, _ = answer(sock, healthz(host))
    assert status == 200


def test_cross_site_simple_posts_are_refused_and_run_nothing(quick: Gateway) -> None:
    before = len(quick.provider.invocations)
    browser = {"Content-Type": "text/plain", "Origin": "http://evil.example", "Host": "127.0.0.1"}
    invoke = httpx.post(f"{quick.url}{INVOKE}", content=b'{"x": 1}', headers=browser, timeout=5)
    assert 400 <= invoke.status_code < 500
    assert invoke.headers["x-amzn-errortype"].startswith("MissingAuthenticationToken")
    # a browser cannot send X-Amz-Target without a preflight; with or without it nothing is done
    for headers in (browser, {**browser, "X-Amz-Target": "DynamoDB_20120810.DeleteTable"}):
        dynamo = httpx.post(f"{quick.url}/", content=b'{"TableName": "t"}', headers=headers, timeout=5)
        assert 400 <= dynamo.status_code < 500
    assert len(quick.provider.invocations) == before
