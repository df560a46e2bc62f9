"""How CLI commands that talk to a running platform (``--url``) identify themselves.

- Lambda and SQS API calls (``kumo invoke``, ``kumo publish``, ``kumo queue send``) are SigV4-signed
  with the default access key of the state directory (``<state-dir>/credentials.json``, what ``kumo up``
  created), else with ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` from the environment; unsigned
  when neither exists.
- Admin API calls (``kumo api promote``, ``kumo credentials``, ``kumo api-keys``) send
  ``Authorization: Bearer <token>`` from ``KUMO_ADMIN_TOKEN``, else ``<state-dir>/admin-token``;
  :func:`admin_result` turns one into a command's ``(exit code, output)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from kumo.aws_signing import SigV4Auth

#: The state directory ``kumo up`` uses by default (relative to where it runs).
DEFAULT_STATE_DIR = Path(".kumo")
ADMIN_TOKEN_ENV = "KUMO_ADMIN_TOKEN"


def lambda_auth(state_dir: Path | None = None, service: str = "lambda") -> httpx.Auth | None:
    """SigV4 for ``service`` (``lambda``, ``sqs``) with the key the module docstring describes."""
    from kumo_gateway.auth.local_store import DEFAULT_KEY_NAME, read_keys

    try:
        keys = read_keys(state_dir or DEFAULT_STATE_DIR)
    except (OSError, ValueError, KeyError):
        keys = []
    default = next((key for key in keys if key.name == DEFAULT_KEY_NAME), None)
    if default is not None:
        return SigV4Auth(default.access_key_id, default.secret_access_key, service)
    key_id, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key_id and secret:
        return SigV4Auth(key_id, secret, service, os.environ.get("AWS_REGION") or "us-east-1")
    return None


def admin_headers(state_dir: Path | None = None) -> dict[str, str]:
    """``{"Authorization": "Bearer ..."}``, or nothing when no token is known (the platform then says 401)."""
    from kumo_gateway.auth.admin_token import read_admin_token

    token = os.environ.get(ADMIN_TOKEN_ENV) or read_admin_token(state_dir or DEFAULT_STATE_DIR)
    return {"Authorization": f"Bearer {token}"} if token else {}


def admin_call(
    method: str, url: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, Any, str | None]:
    """One admin API call (``<url>/_kumo<path>``): ``(status, JSON body or None, problem or None)``.

    The problem is a sentence for the user: the platform unreachable, an answer that is not the admin
    API's (a gateway without one, such as ``kumo gateway --kubernetes``, or not Kumo), or the admin
    API's own ``message`` for a 4xx. ``headers`` carry the admin token (:func:`admin_headers`).
    """
    target = f"{url.rstrip('/')}/_kumo{path}"
    try:
        response = httpx.request(method, target, json=body, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        return 0, None, f"cannot reach {url}: {exc}"
    if response.status_code == 204:
        return 204, None, None
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict) or (response.status_code >= 400 and "error" not in data):
        return (
            response.status_code,
            None,
            (f"{url} serves no admin API (HTTP {response.status_code}); use kumo up, or --kubernetes for a cluster"),
        )
    if response.status_code >= 400:
        return response.status_code, data, str(data.get("message") or f"HTTP {response.status_code}")
    return response.status_code, data, None


def admin_result(
    command: str,
    method: str,
    url: str,
    path: str,
    headers: dict[str, str],
    answer: Callable[[Any], str],
    body: Any = None,
) -> tuple[int, str]:
    """One admin API call as a command's ``(exit code, output)``: ``(0, answer(data))`` (``data`` is None
    for a 204), or ``(1, "<command>: <problem>")`` (:func:`admin_call`'s problem)."""
    _, data, problem = admin_call(method, url, path, headers, body)
    if problem is not None:
        return 1, f"{command}: {problem}"
    return 0, answer(data)
