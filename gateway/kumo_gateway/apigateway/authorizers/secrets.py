"""Where an HS256 authorizer's secret (``secretRef: {name, key}``) comes from.

Local mode (:class:`LocalSecrets`): the environment variable ``KUMO_SECRET_<NAME>_<KEY>`` (upper-cased,
``-`` and ``.`` → ``_``), else the file ``<state-dir>/secrets/<name>/<key>`` (one trailing newline
dropped). In a cluster the gateway reads the Kubernetes Secret (``kumo_gateway.kubernetes.secrets``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol


class SecretSource(Protocol):
    async def get(self, name: str, key: str, namespace: str | None = None) -> bytes | None:
        """The secret's bytes, or None when it does not exist (``namespace``: the Api's, in a cluster)."""
        ...


def env_name(name: str, key: str) -> str:
    """``partners-jwt``, ``secret`` -> ``KUMO_SECRET_PARTNERS_JWT_SECRET``."""
    return re.sub(r"[^A-Z0-9_]", "_", f"KUMO_SECRET_{name}_{key}".upper())


class LocalSecrets:
    """Environment first, then ``<state-dir>/secrets/<name>/<key>``."""

    def __init__(self, state_dir: Path | None = None, environ: dict[str, str] | None = None) -> None:
        self.state_dir = state_dir
        self.environ = os.environ if environ is None else environ

    async def get(self, name: str, key: str, namespace: str | None = None) -> bytes | None:
        value = self.environ.get(env_name(name, key))
        if value is not None:
            return value.encode()
        if self.state_dir is None or "/" in name or "/" in key or name.startswith(".") or key.startswith(".."):
            return None
        path = self.state_dir / "secrets" / name / key
        try:
            return path.read_bytes().rstrip(b"\r\n")  # `echo secret > file` adds a newline
        except OSError:
            return None
