"""``kumo api-keys create|list|delete``: API keys of a running gateway, through its admin API
(``/_kumo/apis/{api}/keys``, :mod:`kumo_gateway.admin_keys`). Each returns ``(exit code, output)``.

In a cluster, keys come from Secrets labelled for a usage plan (see docs/usage-plans.md).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote


def _keys_url(url: str, api: str) -> str:
    return f"{url.rstrip('/')}/_kumo/apis/{quote(api, safe='')}/keys"


def _call(
    method: str, target: str, url: str, headers: dict[str, str], body: dict[str, Any] | None = None
) -> tuple[int, Any, str | None]:
    """``(status, JSON body or None, error text or None)``; ``headers`` carry the admin token."""
    import httpx

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
    if not isinstance(data, dict):
        return response.status_code, None, f"{url} serves no admin API (HTTP {response.status_code}); use kumo up"
    if response.status_code >= 400:
        return response.status_code, data, str(data.get("message") or f"HTTP {response.status_code}")
    return response.status_code, data, None


def create(url: str, api: str, plan: str, name: str | None, headers: dict[str, str]) -> tuple[int, str]:
    body: dict[str, Any] = {"plan": plan}
    if name:
        body["name"] = name
    _, data, problem = _call("POST", _keys_url(url, api), url, headers, body)
    if problem is not None:
        return 1, f"kumo api-keys create: {problem}"
    return 0, (
        f"created API key {data['id']} ({data['name']}) on plan {data['plan']} of Api {api}\n"
        f"{data['value']}\n"
        "(the key is shown only now; send it as the x-api-key header)"
    )


def list_keys(url: str, api: str, headers: dict[str, str]) -> tuple[int, str]:
    _, data, problem = _call("GET", _keys_url(url, api), url, headers)
    if problem is not None:
        return 1, f"kumo api-keys list: {problem}"
    items = data.get("items") or []
    if not items:
        return 0, f"Api {api} has no API keys"
    lines = [f"{'ID':<12} {'PLAN':<16} {'ENABLED':<8} {'SOURCE':<8} NAME"]
    for item in items:
        enabled = "yes" if item.get("enabled") else "no"
        lines.append(f"{item['id']:<12} {item['plan']:<16} {enabled:<8} {item.get('source', ''):<8} {item['name']}")
    return 0, "\n".join(lines)


def delete(url: str, api: str, key_id: str, headers: dict[str, str]) -> tuple[int, str]:
    _, _, problem = _call("DELETE", f"{_keys_url(url, api)}/{quote(key_id, safe='')}", url, headers)
    if problem is not None:
        return 1, f"kumo api-keys delete: {problem}"
    return 0, f"deleted API key {key_id} of Api {api}"
