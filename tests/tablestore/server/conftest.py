"""Fixtures: an in-process partition server on 127.0.0.1 and a client for the internal protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from partition_support import Client, describe

from kumo_tablestore.server import PartitionServer


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[PartitionServer]:
    srv = PartitionServer(data_dir=tmp_path / "p0", ttl_interval_s=0.2)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def client(server: PartitionServer, session: aiohttp.ClientSession) -> Client:
    c = Client(server.url, session)
    await c.create(describe())
    return c
