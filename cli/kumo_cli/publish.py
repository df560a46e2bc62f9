"""``kumo publish``: PublishVersion over a running platform's Lambda API (as ``aws lambda publish-version``)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx


class PublishError(Exception):
    """The platform refused or could not be reached (the message says which, in Lambda's words)."""


def publish_version(
    url: str, name: str, description: str = "", timeout_s: float = 60.0, auth: httpx.Auth | None = None
) -> dict[str, Any]:
    """``POST /2015-03-31/functions/{name}/versions``; the new (or unchanged) version's configuration."""
    endpoint = f"{url.rstrip('/')}/2015-03-31/functions/{quote(name, safe='')}/versions"
    body = {"Description": description} if description else {}
    try:
        response = httpx.post(endpoint, json=body, timeout=timeout_s, auth=auth or httpx.USE_CLIENT_DEFAULT)
    except httpx.HTTPError as exc:
        raise PublishError(f"cannot reach the platform at {url}: {exc}") from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code >= 400 or not isinstance(data, dict):
        if isinstance(data, dict) and ("Message" in data or "message" in data):
            kind = response.headers.get("x-amzn-ErrorType", "Error").split(":")[0]
            raise PublishError(f"{kind}: {data.get('Message') or data.get('message')}")
        raise PublishError(f"HTTP {response.status_code} from {endpoint}: {response.text[:200]}")
    return data


def summary(configuration: dict[str, Any]) -> str:
    return json.dumps(
        {k: configuration.get(k) for k in ("FunctionName", "Version", "FunctionArn", "CodeSha256", "Description")}
    )
