"""A real `kumo codestore` process on 127.0.0.1 (a free port, a temporary root), stopped by the caller."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support import free_port, wait_http

from kumo import platform_credential


@dataclass
class CodeStore:
    url: str
    root: Path
    credential: str
    proc: subprocess.Popen


@contextmanager
def running_code_store(
    root: Path, credential: str = "test-credential-0123456789", *, args: tuple[str, ...] = ()
) -> Iterator[CodeStore]:
    port = free_port()
    env = dict(os.environ, **{platform_credential.ENV_VAR: credential})
    cmd = [sys.executable, "-m", "kumo_cli", "codestore", "--root", str(root), "--host", "127.0.0.1"]
    proc = subprocess.Popen([*cmd, "--port", str(port), *args], env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/healthz", proc=proc)
        yield CodeStore(url, root, credential, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
