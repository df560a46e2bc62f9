"""Local mode (``kumo up``): load manifests, serve the gateway with the local provider and local tables,
stop everything on exit. The twin of :mod:`kumo_gateway.kubernetes.serve`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kumo.catalog import Catalog
from kumo.event_loop import loop_factory
from kumo.manifests import ManifestError, Manifests, load_manifests
from kumo.redis_server import PrivateRedis, RedisServerNotFoundError
from kumo_gateway.local.banner import banner
from kumo_gateway.local.manifest_watch import DEFAULT_WATCH_INTERVAL_S, Fingerprint, ManifestWatcher, fingerprint
from kumo_gateway.local.process_provider import LocalProvider
from kumo_gateway.local.reload import Reloader
from kumo_gateway.local.versions_store import LocalVersions

log = logging.getLogger("kumo.local")


def platform_environment(base_url: str) -> dict[str, str]:
    """What every function gets so unchanged AWS SDK code talks to this Kumo."""
    return {
        "AWS_ENDPOINT_URL": base_url,
        "AWS_ENDPOINT_URL_LAMBDA": base_url,
        "AWS_ENDPOINT_URL_DYNAMODB": base_url,
        "AWS_ACCESS_KEY_ID": "kumo",
        "AWS_SECRET_ACCESS_KEY": "kumo",
        "AWS_SESSION_TOKEN": "kumo",
    }


def client_host(host: str) -> str:
    """The address clients use for a listen address (a wildcard listen is reached on loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def build_catalog(manifests: Manifests) -> Catalog:
    catalog = Catalog()
    for function in manifests.functions.values():
        catalog.set_function(function)
    for api in manifests.apis.values():
        catalog.set_api(api)
    return catalog


def run_up(
    paths: Sequence[Path],
    *,
    host: str,
    port: int,
    state_dir: Path,
    watch_interval_s: float = DEFAULT_WATCH_INTERVAL_S,
    redis_url: str | None = None,
) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    watch = Watch(list(paths), watch_interval_s, fingerprint(paths)) if watch_interval_s > 0 and paths else None
    try:
        manifests = load_manifests(paths)
    except ManifestError as exc:
        print(f"kumo up: invalid manifests:\n{exc}", file=sys.stderr)
        return 2
    for warning in manifests.check_references():
        log.warning("%s", warning)
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            return runner.run(
                serve_local(manifests, host=host, port=port, state_dir=state_dir, watch=watch, redis_url=redis_url)
            )
    except KeyboardInterrupt:
        return 0


@dataclass(frozen=True)
class Watch:
    """Follow edits of ``paths`` (polled every ``interval_s``; ``seen`` as they were when loaded)."""

    paths: list[Path]
    interval_s: float
    seen: Fingerprint


async def serve_local(
    manifests: Manifests,
    *,
    host: str,
    port: int,
    state_dir: Path,
    watch: Watch | None = None,
    redis_url: str | None = None,
) -> int:
    """``redis_url``: an external Redis for the shared state (several ``kumo up`` share one limit);
    without it a private one is started under ``<state-dir>/redis``."""
    from kumo_gateway.app import serve_gateway
    from kumo_gateway.local.tables import LocalTables

    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    base_url = f"http://{client_host(host)}:{port}"
    catalog = build_catalog(manifests)
    versions = LocalVersions(catalog, state_dir, manifests.config_maps)
    versions.load()
    for function in manifests.functions.values():
        versions.apply_manifest(function)  # spec.publish, spec.aliases
    provider = LocalProvider(
        catalog,
        state_dir=state_dir,
        config_maps=manifests.config_maps,
        platform_environment=platform_environment(base_url),
        versions=versions,
    )
    tables = LocalTables(state_dir, manifests.tables)
    shared_state = PrivateRedis(state_dir / "redis") if redis_url is None else None
    if shared_state is not None:
        try:
            shared_state.start()
        except (RedisServerNotFoundError, RuntimeError) as exc:
            print(f"kumo up: could not start its private Redis: {exc}", file=sys.stderr)
            return 1
        redis_url = shared_state.url

    def announce() -> None:
        print(
            banner(base_url, manifests.functions.values(), manifests.apis.values(), tables.table_names()),
            flush=True,
        )

    watcher: asyncio.Task[None] | None = None
    if watch is not None:
        reloader = Reloader(watch.paths, manifests, catalog, provider, versions)
        follow = ManifestWatcher(watch.paths, reloader.reload, interval_s=watch.interval_s, seen=watch.seen)
        watcher = asyncio.create_task(follow.run(), name="manifest-watch")
    try:
        return await serve_gateway(
            catalog,
            provider,
            tables,
            host,
            port,
            name="kumo up",
            on_ready=announce,
            admin=True,
            versions=versions,
            redis_url=redis_url,
        )
    finally:
        if shared_state is not None:
            shared_state.stop()
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        log.info("stopped")
