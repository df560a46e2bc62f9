"""The admin API's bearer token: ``KUMO_ADMIN_TOKEN``, or (local mode) ``<state-dir>/admin-token`` (0600),
generated at first start. Checked in constant time."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from kumo_gateway.auth.local_store import private_dir, write_private

ADMIN_TOKEN_ENV = "KUMO_ADMIN_TOKEN"
ADMIN_TOKEN_FILE = "admin-token"


def read_admin_token(state_dir: Path) -> str | None:
    try:
        token = (state_dir / ADMIN_TOKEN_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return token or None


def local_admin_token(state_dir: Path) -> str:
    """``KUMO_ADMIN_TOKEN`` when set, else the state directory's token (created on first start)."""
    from_env = os.environ.get(ADMIN_TOKEN_ENV)
    if from_env:
        return from_env
    found = read_admin_token(state_dir)
    if found is not None:
        return found
    private_dir(state_dir)
    token = secrets.token_urlsafe(32)
    write_private(state_dir / ADMIN_TOKEN_FILE, token + "\n")
    return token


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <token>``."""
    if not authorization:
        return False
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode("utf-8", "replace"), token.encode("utf-8"))
