"""The operator's own settings (images, URLs, sizes, autoscaler timings), read from ``KUMO_*`` variables."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from kumo.packages.node_cache import DEFAULT_MAX_BYTES

DEFAULT_RUNTIME_IMAGE = "kumo-runtime-python:{version}"


class OperatorConfigError(ValueError):
    """A setting is malformed."""


@dataclass(frozen=True)
class NodeCacheSetting:
    """The node's archive cache (chart: codeStore.nodeCache): a hostPath directory, the size fetch trims it to."""

    host_path: str
    max_bytes: int


@dataclass(frozen=True)
class OperatorConfig:
    """Everything the builders need that is not in the resources themselves."""

    #: runtime (``python3.12``) -> image; missing runtimes use ``kumo-runtime-python:<x.y>``.
    runtime_images: Mapping[str, str] = field(default_factory=dict)
    #: Image serving ``kumo partition`` (and every other ``kumo`` command).
    kumo_image: str = "kumo:latest"
    #: The gateway as pods reach it (``AWS_ENDPOINT_URL`` of every function).
    gateway_internal_url: str = "http://kumo-gateway.kumo-system.svc:8080"
    #: The gateway as clients reach it (Api and Function status URLs).
    gateway_public_url: str = "http://localhost:8080"
    region: str = "us-east-1"
    table_storage_size: str = "1Gi"
    table_storage_class: str | None = None
    redis_url: str | None = None
    #: Scale down only to the highest demand seen over this many seconds.
    stable_window_s: float = 60.0
    #: How often the autoscaler looks at each Function.
    autoscale_interval_s: float = 2.0
    #: The platform credential runtime and partition pods check (``KUMO_PLATFORM_CREDENTIAL``; the
    #: chart's Secret); ``None``: pods are given none and check none.
    platform_credential: str | None = None
    #: The code store runtime pods fetch ``code.package`` from (``KUMO_CODE_STORE_URL``; ``None``: the
    #: chart runs none and such Functions are not deployed).
    code_store_url: str | None = None
    #: Seconds between the code store's garbage collection passes (``KUMO_CODE_STORE_GC_INTERVAL_S``;
    #: ``None``, set as ``0``: no collection).
    code_store_gc_interval_s: float | None = 600.0
    #: Unreferenced archives uploaded within this many seconds are kept (``KUMO_CODE_STORE_GC_GRACE_S``).
    code_store_gc_grace_s: float = 3600.0
    #: The node's directory caching fetched archives (``KUMO_NODE_CACHE_DIR``, a hostPath mounted into
    #: the fetch init container; ``None``: no cache, the default) and its size bound in bytes.
    node_cache_dir: str | None = None
    node_cache_max_bytes: int = DEFAULT_MAX_BYTES

    @property
    def node_cache(self) -> NodeCacheSetting | None:
        """The fetch init container's node cache, when ``KUMO_NODE_CACHE_DIR`` is set."""
        return NodeCacheSetting(self.node_cache_dir, self.node_cache_max_bytes) if self.node_cache_dir else None

    def runtime_image(self, runtime: str) -> str:
        """The image for a runtime such as ``python3.12`` (``provided*``: the ``kumo`` image, which runs any
        ``bootstrap``)."""
        if runtime in self.runtime_images:
            return self.runtime_images[runtime]
        if runtime.startswith("provided"):
            return self.kumo_image
        version = runtime.removeprefix("python")
        return DEFAULT_RUNTIME_IMAGE.format(version=version)


def _number(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise OperatorConfigError(f"{key} must be a number, got {raw!r}") from None


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    value = _number(env, key, default)
    if value <= 0:
        raise OperatorConfigError(f"{key} must be positive, got {env.get(key)!r}")
    return value


def _non_negative(env: Mapping[str, str], key: str, default: float) -> float:
    value = _number(env, key, default)
    if not 0 <= value < float("inf"):
        raise OperatorConfigError(f"{key} must be a number of seconds >= 0, got {env.get(key)!r}")
    return value


def _node_cache_dir(env: Mapping[str, str]) -> str | None:
    raw = (env.get("KUMO_NODE_CACHE_DIR") or "").strip()
    if not raw:
        return None
    if not raw.startswith("/") or raw.rstrip("/") == "":
        raise OperatorConfigError(f"KUMO_NODE_CACHE_DIR must be an absolute directory on the node, got {raw!r}")
    return raw.rstrip("/")


def config_from_env(env: Mapping[str, str] | None = None) -> OperatorConfig:
    """Read the operator's settings.

    ``KUMO_RUNTIME_IMAGE_<RUNTIME>`` (e.g. ``KUMO_RUNTIME_IMAGE_PYTHON3_12``) and the JSON map
    ``KUMO_RUNTIME_IMAGES`` (``{"python3.12": "..."}``) pick runtime images; ``KUMO_IMAGE``,
    ``KUMO_GATEWAY_INTERNAL_URL``, ``KUMO_GATEWAY_PUBLIC_URL``, ``KUMO_REGION``,
    ``KUMO_TABLE_STORAGE_SIZE``, ``KUMO_TABLE_STORAGE_CLASS``, ``KUMO_REDIS_URL``,
    ``KUMO_STABLE_WINDOW_S``, ``KUMO_AUTOSCALE_INTERVAL_S``, ``KUMO_PLATFORM_CREDENTIAL``, ``KUMO_CODE_STORE_URL``,
    ``KUMO_CODE_STORE_GC_INTERVAL_S``, ``KUMO_CODE_STORE_GC_GRACE_S``, ``KUMO_NODE_CACHE_DIR``,
    ``KUMO_NODE_CACHE_MAX_BYTES``.
    """
    env = os.environ if env is None else env
    images: dict[str, str] = {}
    raw_map = env.get("KUMO_RUNTIME_IMAGES")
    if raw_map:
        try:
            parsed = json.loads(raw_map)
        except ValueError as exc:
            raise OperatorConfigError(f"KUMO_RUNTIME_IMAGES is not valid JSON: {exc}") from None
        if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
            raise OperatorConfigError("KUMO_RUNTIME_IMAGES must be a JSON object of strings")
        images.update(parsed)
    for key, value in env.items():
        if key.startswith("KUMO_RUNTIME_IMAGE_") and value:
            runtime = key.removeprefix("KUMO_RUNTIME_IMAGE_").lower().replace("_", ".")
            images[runtime] = value
    defaults = OperatorConfig()
    return OperatorConfig(
        runtime_images=images,
        kumo_image=env.get("KUMO_IMAGE") or defaults.kumo_image,
        gateway_internal_url=(env.get("KUMO_GATEWAY_INTERNAL_URL") or defaults.gateway_internal_url).rstrip("/"),
        gateway_public_url=(env.get("KUMO_GATEWAY_PUBLIC_URL") or defaults.gateway_public_url).rstrip("/"),
        region=env.get("KUMO_REGION") or defaults.region,
        table_storage_size=env.get("KUMO_TABLE_STORAGE_SIZE") or defaults.table_storage_size,
        table_storage_class=env.get("KUMO_TABLE_STORAGE_CLASS") or None,
        redis_url=env.get("KUMO_REDIS_URL") or None,
        stable_window_s=_float(env, "KUMO_STABLE_WINDOW_S", defaults.stable_window_s),
        autoscale_interval_s=_float(env, "KUMO_AUTOSCALE_INTERVAL_S", defaults.autoscale_interval_s),
        platform_credential=(env.get("KUMO_PLATFORM_CREDENTIAL") or "").strip() or None,
        code_store_url=(env.get("KUMO_CODE_STORE_URL") or "").strip().rstrip("/") or None,
        code_store_gc_interval_s=_non_negative(env, "KUMO_CODE_STORE_GC_INTERVAL_S", 600.0) or None,
        code_store_gc_grace_s=_non_negative(env, "KUMO_CODE_STORE_GC_GRACE_S", defaults.code_store_gc_grace_s),
        node_cache_dir=_node_cache_dir(env),
        node_cache_max_bytes=int(_float(env, "KUMO_NODE_CACHE_MAX_BYTES", defaults.node_cache_max_bytes)),
    )
