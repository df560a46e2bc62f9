"""``kumo gateway --kubernetes``: the gateway app with :class:`KubernetesProvider`, until SIGINT/SIGTERM.

Tuning comes from the environment: ``KUMO_WAKE_TIMEOUT_S`` (hold a request while waking from zero,
default 30), ``KUMO_QUEUE_TIMEOUT_S`` (wait behind busy endpoints, default 30), ``KUMO_QUEUE_LIMIT``
(waiting requests per version, default 100), ``KUMO_REPORT_INTERVAL_S`` (load reports, default 1).
``KUMO_ADMIN_TOKEN`` (the chart sets it from its ``<release>-admin-token`` Secret) is the bearer token
``/metrics`` asks for; without it ``/metrics`` answers 401 to everyone. With ``KUMO_CODE_STORE_URL`` the
Lambda management API creates and changes Functions (``kubernetes/api_functions.py``) and serves the
layer calls (``kubernetes/layer_versions.py``).
``KUMO_PARTITION_ENDPOINT_TEMPLATE`` overrides where partition ``index`` of a table answers (a
``str.format`` template with ``statefulset``, ``service``, ``namespace``, ``index``, ``table``; default
the StatefulSet pod's DNS name under ``cluster.local``), e.g. for another cluster domain.
With ``--redis-url`` the gateway also runs the table-stream event source (``kubernetes/stream_pollers.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Mapping

from kumo.catalog import Catalog
from kumo.event_loop import loop_factory
from kumo_gateway.concurrency.rules import DEFAULT_ACCOUNT_LIMIT, check_account_limit


class SettingsError(ValueError):
    pass


def _number(env: Mapping[str, str], name: str, default: float, *, integer: bool = False) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a {'whole ' if integer else ''}number, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {raw!r}")
    return value


def settings_from_env(env: Mapping[str, str]) -> dict[str, float]:
    """Provider keyword arguments from ``KUMO_*`` variables (pure); raises :class:`SettingsError`."""
    return {
        "wake_timeout_s": _number(env, "KUMO_WAKE_TIMEOUT_S", 30.0),
        "queue_timeout_s": _number(env, "KUMO_QUEUE_TIMEOUT_S", 30.0),
        "queue_limit": int(_number(env, "KUMO_QUEUE_LIMIT", 100, integer=True)),
        "report_interval_s": _number(env, "KUMO_REPORT_INTERVAL_S", 1.0),
    }


def admin_token_from_env(env: Mapping[str, str]) -> str | None:
    """``KUMO_ADMIN_TOKEN`` without surrounding whitespace; None when unset or blank (pure)."""
    token = (env.get("KUMO_ADMIN_TOKEN") or "").strip()
    return token or None


def concurrency_limit_from_env(env: Mapping[str, str]) -> int:
    """``KUMO_CONCURRENCY_LIMIT`` (the chart's ``concurrencyLimit``): the account's concurrent executions."""
    text = (env.get("KUMO_CONCURRENCY_LIMIT") or "").strip()
    if not text:
        return DEFAULT_ACCOUNT_LIMIT
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"KUMO_CONCURRENCY_LIMIT must be a whole number, got {text!r}") from None
    problem = check_account_limit(value)
    if problem is not None:
        raise SettingsError(f"KUMO_CONCURRENCY_LIMIT: {problem}")
    return value


def endpoint_template_from_env(env: Mapping[str, str]) -> str | None:
    """``KUMO_PARTITION_ENDPOINT_TEMPLATE``, checked against the fields it may use (pure); None when unset."""
    template = (env.get("KUMO_PARTITION_ENDPOINT_TEMPLATE") or "").strip()
    if not template:
        return None
    try:
        template.format(statefulset="s", service="s", namespace="n", index=0, table="t")
    except (KeyError, IndexError, ValueError) as exc:
        raise SettingsError(f"KUMO_PARTITION_ENDPOINT_TEMPLATE: not a valid template ({exc!r})") from None
    return template


def run_kubernetes_gateway(*, host: str, port: int, namespace: str | None, redis_url: str | None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_from_env(os.environ)
        concurrency_limit = concurrency_limit_from_env(os.environ)
        endpoint_template = endpoint_template_from_env(os.environ)
    except SettingsError as exc:
        print(f"kumo gateway: {exc}", file=sys.stderr)
        return 2
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            return runner.run(_serve(host, port, namespace, redis_url, settings, concurrency_limit, endpoint_template))
    except KeyboardInterrupt:
        return 0


async def _serve(
    host: str,
    port: int,
    namespace: str | None,
    redis_url: str | None,
    settings: dict,
    concurrency_limit: int,
    endpoint_template: str | None,
) -> int:
    from kumo_gateway.app import serve_gateway
    from kumo_gateway.auth.authenticator import Authenticator
    from kumo_gateway.auth.keys import KeyRing
    from kumo_gateway.kubernetes.access_keys import SecretKeys
    from kumo_gateway.kubernetes.pod_provider import KubernetesProvider
    from kumo_gateway.kubernetes.table_descriptions import HOST_TEMPLATE
    from kumo_gateway.kubernetes.tables import KubernetesTables
    from kumo_gateway.kubernetes.watched_functions import WatchedFunctions

    catalog = Catalog(region=os.environ.get("KUMO_REGION") or os.environ.get("AWS_REGION") or "us-east-1")
    provider = KubernetesProvider(catalog, namespace=namespace, redis_url=redis_url, **settings)
    # Tables are namespaced resources but DynamoDB has no namespaces: serve one namespace's tables.
    tables_namespace = namespace or os.environ.get("KUMO_TABLES_NAMESPACE") or "default"
    tables = KubernetesTables(tables_namespace, endpoint_template=endpoint_template or HOST_TEMPLATE)
    from kumo_gateway.kubernetes.secrets import KubeSecrets

    secrets = KubeSecrets(namespace or "default")
    # Access keys: labelled Secrets where Functions live (the watched namespace, or all of them).
    ring = KeyRing()
    keys = SecretKeys(ring, namespace)
    await keys.start()
    api_keys = _api_key_secrets(redis_url, namespace)
    code_store_url = os.environ.get("KUMO_CODE_STORE_URL") or None
    functions = None
    # GetFunction's State & co. come from the watched Functions, with or without a code store
    view = WatchedFunctions(catalog, provider, namespace or "default")
    if code_store_url is not None:  # CreateFunction & co. write Function resources and the code store
        from kumo import platform_credential
        from kumo_gateway.kubernetes.api_functions import ClusterFunctions

        functions = view = ClusterFunctions(
            catalog, provider, namespace or "default", code_store_url, platform_credential.from_env()
        )
    pollers: list[asyncio.Task[None]] = []

    def start_pollers() -> None:  # once the gateway listens: the pollers invoke through it
        if redis_url is not None:
            from kumo_gateway.kubernetes.stream_pollers import start_stream_pollers

            pollers.append(start_stream_pollers(catalog, tables, ring, redis_url, host, port))

    try:
        auth = Authenticator(ring, account_id=catalog.account_id)
        admin_token = admin_token_from_env(os.environ)
        if admin_token is None:
            logging.getLogger("kumo.gateway").warning("no KUMO_ADMIN_TOKEN: /metrics is refused to everyone")
        return await serve_gateway(
            catalog,
            provider,
            tables,
            host,
            port,
            auth=auth,
            name="kumo gateway",
            on_ready=start_pollers,
            redis_url=redis_url,
            concurrency_limit=concurrency_limit,
            secrets=secrets,
            admin_token=admin_token,
            code_store_url=code_store_url,
            functions=functions,
            function_view=view,
            layers=functions.layers if functions is not None else None,
        )
    finally:
        for task in pollers:
            task.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)
        await keys.stop()
        if functions is not None:
            functions.close()
        if api_keys is not None:
            api_keys.cancel()
            await asyncio.gather(api_keys, return_exceptions=True)


def _api_key_secrets(redis_url: str | None, namespace: str | None) -> asyncio.Task[None] | None:
    """Follow the Secrets labelled as API keys into Redis (``kubernetes/api_key_secrets.py``)."""
    if redis_url is None:
        logging.getLogger("kumo.gateway").warning("no --redis-url: API keys and usage plans cannot be enforced")
        return None
    from redis.asyncio import Redis

    from kumo.kube.client import KubeClient
    from kumo_gateway.apigateway.limits_store import LimitsStore
    from kumo_gateway.kubernetes.api_key_secrets import ApiKeySecrets

    async def follow() -> None:
        kube, redis = KubeClient(), Redis.from_url(redis_url)
        try:
            await ApiKeySecrets(kube, LimitsStore(redis), namespace).run()
        finally:
            await kube.aclose()
            await redis.aclose()

    return asyncio.create_task(follow(), name="api-key-secrets")
