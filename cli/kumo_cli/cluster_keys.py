"""``kumo credentials ... --kubernetes`` and ``kumo api-keys ... --kubernetes``: the labelled Secrets the
cluster's gateways read, written, listed and deleted through the user's kubeconfig (the one client,
:class:`kumo.kube.client.KubeClient`). The Secrets' shapes are the readers' own definitions
(:func:`kumo.access_keys.secret_manifest`, :func:`kumo_gateway.kubernetes.api_key_secrets.key_secret`).

Every command returns ``(exit code, output)``; a secret or key value is printed only by ``create``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from kumo.access_keys import ACCESS_KEY_LABEL, from_secret, new_access_key, secret_manifest
from kumo.kube.client import KubeClient, KubeError, collection_path, object_path
from kumo.policy import Policy, PolicyError

Result = tuple[int, str]


def _run(command: str, body: Callable[[KubeClient], Awaitable[Result]]) -> Result:
    async def main() -> Result:
        try:
            client = KubeClient()
        except Exception as exc:  # no kubeconfig, no in-cluster credentials
            return 1, f"{command}: no Kubernetes credentials: {exc}"
        try:
            return await body(client)
        except KubeError as exc:
            return 1, f"{command}: {exc}"
        except OSError as exc:
            return 1, f"{command}: cannot reach the Kubernetes API: {exc}"
        finally:
            await client.aclose()

    return asyncio.run(main())


# ---- access keys (SigV4) --------------------------------------------------------------------------


def access_key_secret_name(key_id: str) -> str:
    return f"kumo-key-{key_id.lower()}"


def create_credential(namespace: str, name: str, actions: Sequence[str], resources: Sequence[str]) -> Result:
    command = "kumo credentials create"
    try:
        policy = Policy.from_json({"actions": list(actions) or ["*"], "resources": list(resources) or ["*"]})
    except PolicyError as exc:
        return 2, f"{command}: {exc}"
    key = new_access_key(name, policy)
    secret = secret_manifest(key, access_key_secret_name(key.access_key_id), namespace)

    async def body(client: KubeClient) -> Result:
        await client.create(collection_path("Secret", namespace), secret)
        return 0, (
            f"AWS_ACCESS_KEY_ID={key.access_key_id}\nAWS_SECRET_ACCESS_KEY={key.secret_access_key}\n"
            f"(Secret {namespace}/{secret['metadata']['name']}; the secret is not shown again)"
        )

    return _run(command, body)


async def _access_key_secrets(client: KubeClient, namespace: str) -> list[dict[str, Any]]:
    return await client.list(collection_path("Secret", namespace), f"{ACCESS_KEY_LABEL}=true")


def list_credentials(namespace: str) -> Result:
    async def body(client: KubeClient) -> Result:
        lines = []
        for secret in await _access_key_secrets(client, namespace):
            key = from_secret(secret)
            if key is not None:
                lines.append(json.dumps({**key.public(), "secret": secret["metadata"]["name"]}))
        return 0, "\n".join(lines) if lines else f"no access keys in namespace {namespace}"

    return _run("kumo credentials list", body)


def revoke_credential(namespace: str, key_id: str) -> Result:
    command = "kumo credentials revoke"

    async def body(client: KubeClient) -> Result:
        for secret in await _access_key_secrets(client, namespace):
            key = from_secret(secret)
            if key is not None and key.access_key_id == key_id:
                name = secret["metadata"]["name"]
                await client.delete(object_path("Secret", namespace, name))
                return 0, f"revoked {key_id} (deleted Secret {namespace}/{name})"
        return 1, f"{command}: no access key {key_id} in namespace {namespace}"

    return _run(command, body)


# ---- API keys (usage plans) -----------------------------------------------------------------------


def _api_key_selector(api: str) -> str:
    from kumo_gateway.kubernetes.api_key_secrets import API_LABEL, SELECTOR

    return f"{SELECTOR},{API_LABEL}={api}"


def create_api_key(namespace: str, api: str, plan: str, name: str | None) -> Result:
    from kumo_gateway.apigateway.api_keys import new_key_id, new_key_value
    from kumo_gateway.kubernetes.api_key_secrets import key_secret, secret_id

    command = "kumo api-keys create"

    async def body(client: KubeClient) -> Result:
        found = await client.get(object_path("Api", namespace, api))
        if found is None:
            return 1, f"{command}: Api {namespace}/{api} not found"
        plans = [str(p.get("name")) for p in (found.get("spec") or {}).get("usagePlans") or []]
        if plan not in plans:
            return 1, f"{command}: Api {api} has no usage plan {plan!r} (plans: {', '.join(plans) or 'none'})"
        value = new_key_value()
        secret = key_secret(name or f"{api}-key-{new_key_id()}", namespace, api, plan, value)
        await client.create(collection_path("Secret", namespace), secret)
        return 0, (
            f"created API key {secret_id(secret)} on plan {plan} of Api {api}\n{value}\n"
            "(the key is shown only now; send it as the x-api-key header)"
        )

    return _run(command, body)


def list_api_keys(namespace: str, api: str) -> Result:
    from kumo_gateway.kubernetes.api_key_secrets import PLAN_LABEL, secret_id

    async def body(client: KubeClient) -> Result:
        secrets = await client.list(collection_path("Secret", namespace), _api_key_selector(api))
        if not secrets:
            return 0, f"Api {api} has no API keys in namespace {namespace}"
        lines = [f"{'ID':<40} PLAN"]
        for secret in secrets:
            lines.append(f"{secret_id(secret):<40} {secret['metadata']['labels'].get(PLAN_LABEL, '')}")
        return 0, "\n".join(lines)

    return _run("kumo api-keys list", body)


def delete_api_key(namespace: str, api: str, key_id: str) -> Result:
    """``key_id`` is ``<namespace>.<Secret name>`` (as listed) or the Secret's name."""
    from kumo_gateway.kubernetes.api_key_secrets import API_LABEL, KEY_LABEL

    command = "kumo api-keys delete"
    name = key_id.removeprefix(f"{namespace}.")

    async def body(client: KubeClient) -> Result:
        path = object_path("Secret", namespace, name)
        secret = await client.get(path)
        labels = ((secret or {}).get("metadata") or {}).get("labels") or {}
        if secret is None or labels.get(KEY_LABEL) != "true" or labels.get(API_LABEL) != api:
            return 1, f"{command}: no API key {key_id} of Api {api} in namespace {namespace}"
        await client.delete(path)
        return 0, f"deleted API key {namespace}.{name} of Api {api}"

    return _run(command, body)
