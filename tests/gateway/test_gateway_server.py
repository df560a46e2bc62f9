"""The embedded server (ready event, cancellation, port in use) and the catalog."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from gateway_fakes import InProcessProvider, api, function
from signing import make_authenticator

from kumo.catalog import Catalog
from kumo_gateway.apigateway.route_matching import RouteSpec
from kumo_gateway.app import create_app, serve_gateway
from kumo_gateway.server import free_port, serve


async def test_serve_until_cancelled_runs_lifespan() -> None:
    provider = InProcessProvider({})
    port = free_port()
    ready = asyncio.Event()
    task = asyncio.create_task(
        serve(create_app(Catalog(), provider, auth=make_authenticator()), "127.0.0.1", port, ready=ready)
    )
    try:
        await asyncio.wait_for(ready.wait(), 15)
        assert provider.started
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/healthz")
        assert response.json() == {"status": "ok"}
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert provider.stopped
    with socket.socket() as sock:  # the port is free again
        sock.bind(("127.0.0.1", port))


async def test_port_in_use_is_an_os_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(OSError, match="could not listen"):
            await asyncio.wait_for(
                serve(create_app(Catalog(), InProcessProvider({}), auth=make_authenticator()), "127.0.0.1", port), 15
            )


def test_catalog() -> None:
    catalog = Catalog()
    assert (catalog.region, catalog.account_id) == ("us-east-1", "000000000000")
    catalog.set_function(function("a"))
    catalog.set_function(function("b"))
    catalog.set_api(api("shop", [RouteSpec("GET", "/", "a")]))
    assert catalog.function("a").metadata.name == "a"
    assert sorted(f.metadata.name for f in catalog.functions()) == ["a", "b"]
    assert catalog.api("shop").metadata.name == "shop"
    generation = catalog.generation
    assert catalog.remove_function("a").metadata.name == "a"
    assert catalog.function("a") is None
    assert catalog.remove_function("a") is None
    assert catalog.remove_api("shop") is not None
    assert catalog.apis() == []
    assert catalog.generation > generation
    assert catalog.function_arn("b") == "arn:aws:lambda:us-east-1:000000000000:function:b"
    assert Catalog(region="eu-west-1", account_id="123456789012").function_arn("b", "live") == (
        "arn:aws:lambda:eu-west-1:123456789012:function:b:live"
    )


class RecordingTables:
    """A table directory with no tables that records its lifecycle (``fail`` makes start raise)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.events: list[str] = []

    async def start(self) -> None:
        self.events.append("start")
        if self.fail:
            raise RuntimeError("no partitions")

    async def stop(self) -> None:
        self.events.append("stop")

    def route(self, name: str) -> None:
        return None

    def description(self, name: str) -> None:
        return None

    def table_names(self) -> list[str]:
        return []


async def test_serve_gateway_stops_the_tables_when_they_cannot_start(capsys: pytest.CaptureFixture[str]) -> None:
    provider, tables = InProcessProvider({}), RecordingTables(fail=True)
    code = await serve_gateway(
        Catalog(), provider, tables, "127.0.0.1", free_port(), auth=make_authenticator(), name="kumo test"
    )  # type: ignore[arg-type]
    assert code == 1
    assert tables.events == ["start", "stop"]
    assert not provider.started
    assert "kumo test: could not start the tables: no partitions" in capsys.readouterr().err


async def test_serve_gateway_stops_everything_when_the_port_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    provider, tables = InProcessProvider({}), RecordingTables()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code = await serve_gateway(
            Catalog(), provider, tables, "127.0.0.1", port, auth=make_authenticator(), name="kumo test"
        )  # type: ignore[arg-type]
    assert code == 1
    assert tables.events == ["start", "stop"]
    assert (provider.started, provider.stopped) == (True, True)  # lifespan ran, and serve_gateway stopped it
    assert f"kumo test: the gateway could not serve on 127.0.0.1:{port}" in capsys.readouterr().err
