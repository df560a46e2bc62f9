"""Fixtures for gateway tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gateway_server import ThreadedServer


@pytest.fixture
def run_server() -> Iterator[Any]:
    """Call with an app; every server started is stopped at teardown."""
    servers: list[ThreadedServer] = []

    def start(app: Any) -> ThreadedServer:
        server = ThreadedServer(app)
        servers.append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
