"""The platform credential: what the gateway shows partition servers and instances' invoke endpoints.

Internal endpoints (partition servers, a pod's invoke endpoint) listen on 127.0.0.1 in local mode and
on the pod network in a cluster, where any local process or any pod could otherwise reach them past
the gateway. The gateway sends a shared secret in :data:`HEADER` on every internal request; the
servers compare it in constant time and answer 403 without it.

Where it comes from: ``kumo up`` generates one per state directory (``<state-dir>/platform-credential``,
mode 0600, kept across restarts) and hands it to the partitions it starts through
:data:`ENV_VAR`; in a cluster the chart generates a Secret and every gateway, runtime and partition
pod gets it as :data:`ENV_VAR` from a ``secretKeyRef``. A function's own environment never has it
(:mod:`kumo.runtime.environment` passes nothing of the host's environment but a few basics).
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

HEADER = "X-Kumo-Platform-Credential"
HEADER_LOWER = HEADER.lower().encode("ascii")
ENV_VAR = "KUMO_PLATFORM_CREDENTIAL"
FILE_NAME = "platform-credential"
#: The key of the chart's ``<release>-platform-credential`` Secret.
SECRET_KEY = "credential"


def generate() -> str:
    """A fresh credential: 256 random bits, URL-safe text."""
    return secrets.token_urlsafe(32)


def from_env(environ: Mapping[str, str] | None = None) -> str | None:
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    return value or None


def load_or_create(state_dir: Path) -> str:
    """The state directory's credential, created (mode 0600) on first use."""
    path = state_dir / FILE_NAME
    try:
        value = path.read_text().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    value = generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value)
    os.chmod(path, 0o600)
    return value


def matches(expected: str | None, presented: bytes | str | None) -> bool:
    """Whether ``presented`` is the credential (constant time). No credential configured: anything goes."""
    if expected is None:
        return True
    if presented is None:
        return False
    given = presented if isinstance(presented, bytes) else presented.encode("utf-8", "surrogateescape")
    return hmac.compare_digest(given, expected.encode("utf-8"))
