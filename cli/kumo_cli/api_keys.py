"""``kumo api-keys create|list|delete``: API keys of a running gateway, through its admin API
(``/_kumo/apis/{api}/keys``, :mod:`kumo_gateway.admin_keys`). Each returns ``(exit code, output)``.

In a cluster, keys come from Secrets labelled for a usage plan (see docs/usage-plans.md).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from kumo_cli.platform_access import admin_result


def _keys_path(api: str) -> str:
    return f"/apis/{quote(api, safe='')}/keys"


def create(url: str, api: str, plan: str, name: str | None, headers: dict[str, str]) -> tuple[int, str]:
    body: dict[str, Any] = {"plan": plan}
    if name:
        body["name"] = name

    def created(data: dict[str, Any]) -> str:
        return (
            f"created API key {data['id']} ({data['name']}) on plan {data['plan']} of Api {api}\n"
            f"{data['value']}\n"
            "(the key is shown only now; send it as the x-api-key header)"
        )

    return admin_result("kumo api-keys create", "POST", url, _keys_path(api), headers, created, body)


def list_keys(url: str, api: str, headers: dict[str, str]) -> tuple[int, str]:
    def table(data: dict[str, Any]) -> str:
        items = data.get("items") or []
        if not items:
            return f"Api {api} has no API keys"
        lines = [f"{'ID':<12} {'PLAN':<16} {'ENABLED':<8} {'SOURCE':<8} NAME"]
        for item in items:
            enabled = "yes" if item.get("enabled") else "no"
            lines.append(f"{item['id']:<12} {item['plan']:<16} {enabled:<8} {item.get('source', ''):<8} {item['name']}")
        return "\n".join(lines)

    return admin_result("kumo api-keys list", "GET", url, _keys_path(api), headers, table)


def delete(url: str, api: str, key_id: str, headers: dict[str, str]) -> tuple[int, str]:
    path = f"{_keys_path(api)}/{quote(key_id, safe='')}"
    return admin_result(
        "kumo api-keys delete", "DELETE", url, path, headers, lambda _: f"deleted API key {key_id} of Api {api}"
    )
