"""Start the operator: kopf with the Function, Table and Api handlers, the autoscaler timer and the code
store's garbage collection."""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
from typing import Any

import kopf

from kumo.kube.client import KubeClient
from kumo.kube.config import load_configuration
from kumo_operator import (
    api_handlers,
    archive_gc_loop,
    autoscale_timer,
    child_handlers,
    function_handlers,
    table_handlers,
)
from kumo_operator.config import OperatorConfig, OperatorConfigError, config_from_env
from kumo_operator.state import OperatorState, state_of

HANDLER_MODULES = (function_handlers, api_handlers, table_handlers, child_handlers, autoscale_timer, archive_gc_loop)


@kopf.on.startup()
def _configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 30


@kopf.on.startup()
async def connect(memo: Any, **_: Any) -> None:
    """Open the API client in kopf's event loop (the one every handler awaits it in)."""
    state = state_of(memo)
    if state.client is None:
        state.client = KubeClient(state.kube_configuration)


@kopf.on.cleanup()
async def disconnect(memo: Any, **_: Any) -> None:
    state = state_of(memo)
    if state.client is not None:
        await state.client.aclose()
        state.client = None


def run_operator(
    *,
    namespace: str | None = None,
    standalone: bool = True,
    redis_url: str | None = None,
    liveness_endpoint: str | None = None,
    config: OperatorConfig | None = None,
    stop_flag: threading.Event | None = None,
    ready_flag: threading.Event | None = None,
) -> int:
    """Run until stopped (SIGINT/SIGTERM or ``stop_flag``); returns the exit code.

    ``namespace=None`` watches every namespace (cluster-wide); ``standalone`` skips kopf's peering
    (one operator replica); ``redis_url`` enables the autoscaler (else the gateway alone scales);
    ``liveness_endpoint`` e.g. ``http://0.0.0.0:8081/healthz``. Other settings come from
    ``KUMO_*`` variables (see :func:`kumo_operator.config.config_from_env`).
    """
    try:
        settings = config or config_from_env()
    except OperatorConfigError as exc:
        print(f"kumo operator: {exc}", file=sys.stderr)
        return 2
    if redis_url:
        settings = dataclasses.replace(settings, redis_url=redis_url)
    assert all(HANDLER_MODULES)  # imported for their kopf registrations
    state = OperatorState(config=settings, kube_configuration=load_configuration(), namespace=namespace)
    kopf_settings = kopf.OperatorSettings()
    # A namespaced install's RBAC is a Role in its namespace only (the chart grants list/watch on
    # namespaces and CRDs to cluster-wide installs alone): kopf must not observe those, else it retries
    # the 403s for minutes before serving anything. Resources are then discovered once, at startup.
    kopf_settings.scanning.disabled = namespace is not None
    kopf.run(
        settings=kopf_settings,
        standalone=standalone,
        clusterwide=namespace is None,
        namespaces=[namespace] if namespace else (),
        liveness_endpoint=liveness_endpoint,
        memo=kopf.Memo(state=state),
        stop_flag=stop_flag,
        ready_flag=ready_flag,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m kumo_operator.main [--namespace NS] [--redis-url URL] [--liveness URL]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="kumo operator")
    parser.add_argument("--namespace", default=None, help="watch one namespace (default: all)")
    parser.add_argument("--redis-url", default=None, help="Redis with the gateways' load reports")
    parser.add_argument("--liveness", default=None, help="e.g. http://0.0.0.0:8081/healthz")
    parser.add_argument("--peering", action="store_true", help="use kopf peering (several replicas)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return run_operator(
        namespace=args.namespace,
        standalone=not args.peering,
        redis_url=args.redis_url,
        liveness_endpoint=args.liveness,
    )


if __name__ == "__main__":
    sys.exit(main())
