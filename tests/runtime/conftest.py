"""Fixtures for function-instance tests: handler code in tmp dirs, hosts that are always stopped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from runtime_support import write_function

from kumo.runtime.config import FunctionConfig
from kumo.runtime.host import RuntimeHost


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., FunctionConfig]:
    counter = iter(range(1000))

    def make(code: str | dict[str, str], handler: str = "app.handler", **kw: Any) -> FunctionConfig:
        files = {"app.py": code} if isinstance(code, str) else code
        code_dir = write_function(tmp_path / f"fn{next(counter)}", files)
        kw.setdefault("runtime", "python3.11")
        return FunctionConfig(name=kw.pop("name", "fn"), handler=handler, code_dir=code_dir, **kw)

    return make


@pytest.fixture
async def hosts(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """``await hosts(config)`` → a started :class:`RuntimeHost`; every one is stopped afterwards."""
    started: list[RuntimeHost] = []

    async def start(config: FunctionConfig, **kw: Any) -> RuntimeHost:
        kw.setdefault("tmp_root", tmp_path / "tmp")
        (tmp_path / "tmp").mkdir(exist_ok=True)
        host = RuntimeHost(config, **kw)
        started.append(host)
        await host.start()
        return host

    try:
        yield start
    finally:
        for host in started:
            await host.stop()
