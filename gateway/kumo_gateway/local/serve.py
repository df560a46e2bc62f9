"""Local mode (``kumo up``): load manifests, serve the gateway with the local provider and local tables,
stop everything on exit. The twin of :mod:`kumo_gateway.kubernetes.serve`."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kumo import platform_credential
from kumo.allowed_hosts import allowed_hosts as allowed_host_list
from kumo.catalog import Catalog
from kumo.event_loop import loop_factory
from kumo.manifests import ManifestError, Manifests, load_manifests
from kumo.packages.storage_limit import DEFAULT_CODE_STORAGE_BYTES
from kumo.redis_server import PrivateRedis, RedisServerNotFoundError
from kumo.runtime.sandbox import SandboxConfigError, make_non_dumpable
from kumo.sam.outputs import output_lines
from kumo_gateway.apigateway.authorizers.secrets import LocalSecrets
from kumo_gateway.auth.admin_token import local_admin_token
from kumo_gateway.auth.authenticator import NO_AUTH, Auth, Authenticator
from kumo_gateway.auth.local_store import DEFAULT_KEY_NAME, LocalKeyStore, private_dir
from kumo_gateway.concurrency.rules import DEFAULT_ACCOUNT_LIMIT, check_account_limit
from kumo_gateway.dynamodb.table_directory import TableDirectory
from kumo_gateway.local.async_workers import AsyncOptions, WorkerProcesses
from kumo_gateway.local.banner import INSECURE_WARNING, banner
from kumo_gateway.local.manifest_watch import DEFAULT_WATCH_INTERVAL_S, Fingerprint, ManifestWatcher, fingerprint
from kumo_gateway.local.process_provider import LocalProvider
from kumo_gateway.local.reload import Reloader
from kumo_gateway.local.sandbox import sandbox_from_environment
from kumo_gateway.local.versions_store import LocalVersions
from kumo_gateway.server import client_host

log = logging.getLogger("kumo.local")


def platform_environment(base_url: str) -> dict[str, str]:
    """What every function gets so unchanged AWS SDK code talks to this Kumo (credentials come per
    function: :func:`function_credentials`). No session token: Kumo's keys are long-term keys."""
    return {
        "AWS_ENDPOINT_URL": base_url,
        "AWS_ENDPOINT_URL_LAMBDA": base_url,
        "AWS_ENDPOINT_URL_DYNAMODB": base_url,
    }


#: Credentials functions get when the gateway checks none (``--insecure-no-auth``).
NO_AUTH_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "kumo", "AWS_SECRET_ACCESS_KEY": "kumo"}


def function_credentials(store: LocalKeyStore | None) -> Callable[[str], dict[str, str]]:
    """Each function's own access key (``function:<name>``, policy ``*``, created on first need)."""

    def credentials(name: str) -> dict[str, str]:
        if store is None:
            return dict(NO_AUTH_CREDENTIALS)
        key = store.ensure(f"function:{name}")
        return {"AWS_ACCESS_KEY_ID": key.access_key_id, "AWS_SECRET_ACCESS_KEY": key.secret_access_key}

    return credentials


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    insecure_no_auth: bool = False,
    redis_url: str | None = None,
    allowed_hosts: Sequence[str] = (),
    concurrency_limit: int = DEFAULT_ACCOUNT_LIMIT,
    async_options: AsyncOptions | None = None,
    parameters: Mapping[str, str] | None = None,
    code_storage_limit: int = DEFAULT_CODE_STORAGE_BYTES,
) -> int:
    """``parameters``: SAM template parameter overrides (docs/sam.md)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if insecure_no_auth:
        if not is_loopback(host):
            print(
                f"kumo up: --insecure-no-auth serves without authentication and only on a loopback address; "
                f"refusing to listen on {host!r} (use --host 127.0.0.1, or drop --insecure-no-auth)",
                file=sys.stderr,
            )
            return 2
        print(INSECURE_WARNING, file=sys.stderr, flush=True)
    problem = check_account_limit(concurrency_limit)
    if problem is not None:
        print(f"kumo up: --concurrency-limit: {problem}", file=sys.stderr)
        return 2
    parameters = dict(parameters or {})
    watch = (
        Watch(list(paths), watch_interval_s, fingerprint(paths), parameters) if watch_interval_s > 0 and paths else None
    )
    try:
        manifests = load_manifests(paths, parameters)
    except ManifestError as exc:
        print(f"kumo up: invalid manifests:\n{exc}", file=sys.stderr)
        return 2
    for item in manifests.unmapped:
        log.warning("SAM template: not mapped: %s", item)
    stages = {name: [stage.name for stage in api.spec.effective_stages] for name, api in manifests.apis.items()}
    for line in output_lines(manifests.outputs, f"http://{client_host(host)}:{port}", stages):
        log.info("SAM template: output %s", line)
    for warning in manifests.check_references():
        log.warning("%s", warning)
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            return runner.run(
                serve_local(
                    manifests,
                    host=host,
                    port=port,
                    state_dir=state_dir,
                    watch=watch,
                    insecure_no_auth=insecure_no_auth,
                    redis_url=redis_url,
                    allowed_hosts=allowed_hosts,
                    concurrency_limit=concurrency_limit,
                    async_options=async_options,
                    code_storage_limit=code_storage_limit,
                )
            )
    except KeyboardInterrupt:
        return 0


async def stream_pollers(
    catalog: Catalog, tables: TableDirectory, redis_url: str, base_url: str, store: LocalKeyStore | None
) -> None:
    """The table-stream event source (``kumo_gateway.async_.stream_source``), reading this process's
    partitions and invoking through this gateway with its own key."""
    from kumo.aws_signing import SigV4Auth
    from kumo_gateway.async_.stream_source import POLLERS_KEY_NAME, serve_stream_pollers

    key = store.ensure(POLLERS_KEY_NAME) if store is not None else None
    auth = SigV4Auth(key.access_key_id, key.secret_access_key, "lambda", catalog.region) if key else None
    await serve_stream_pollers(catalog, tables, redis_url, base_url, auth)


@dataclass(frozen=True)
class Watch:
    """Follow edits of ``paths`` (polled every ``interval_s``; ``seen`` as they were when loaded)."""

    paths: list[Path]
    interval_s: float
    seen: Fingerprint
    #: SAM template parameter overrides, applied again on every reload.
    parameters: Mapping[str, str] = field(default_factory=dict)


async def serve_local(
    manifests: Manifests,
    *,
    host: str,
    port: int,
    state_dir: Path,
    watch: Watch | None = None,
    insecure_no_auth: bool = False,
    redis_url: str | None = None,
    allowed_hosts: Sequence[str] = (),
    concurrency_limit: int = DEFAULT_ACCOUNT_LIMIT,
    async_options: AsyncOptions | None = None,
    code_storage_limit: int = DEFAULT_CODE_STORAGE_BYTES,
) -> int:
    """``redis_url``: an external Redis for the shared state (several ``kumo up`` share one limit);
    without it a private one is started under ``<state-dir>/redis``. ``allowed_hosts``: Host names
    served besides loopback and ``host`` (:mod:`kumo.allowed_hosts`). ``async_options``: the async
    workers to run and their settings (``kumo worker``; default one)."""
    from kumo_gateway.app import serve_gateway
    from kumo_gateway.local.api_functions import ApiFunctions
    from kumo_gateway.local.layer_versions import LocalLayerVersions
    from kumo_gateway.local.packages import LocalPackages
    from kumo_gateway.local.tables import LocalTables

    state_dir = private_dir(state_dir.resolve())
    make_non_dumpable()  # functions cannot read this process's /proc/<pid>/environ, mem or fds
    try:
        sandbox = sandbox_from_environment(state_dir)
    except SandboxConfigError as exc:
        print(f"kumo up: {exc}", file=sys.stderr)
        return 2
    # Partitions (spawned with this environment) check it; partition clients send it (kumo.platform_credential).
    os.environ[platform_credential.ENV_VAR] = platform_credential.load_or_create(state_dir)
    base_url = f"http://{client_host(host)}:{port}"
    catalog = build_catalog(manifests)
    store: LocalKeyStore | None = None
    auth: Auth = NO_AUTH
    credentials: tuple[str, str] | None = None
    if not insecure_no_auth:
        store = LocalKeyStore(state_dir)
        store.load()
        default = store.ensure(DEFAULT_KEY_NAME)
        credentials = (default.access_key_id, default.secret_access_key)
        auth = Authenticator(store.ring, account_id=catalog.account_id)
    packages = LocalPackages(state_dir)
    packages.build(manifests)  # before any instance starts; a failed package only affects its function
    versions = LocalVersions(catalog, state_dir, manifests.config_maps)
    versions.packages = packages  # a version of a package function freezes its package and layers
    versions.load()
    for function in manifests.functions.values():
        versions.apply_manifest(function)  # spec.publish, spec.aliases
    api_functions = ApiFunctions(
        catalog,
        state_dir,
        packages,
        versions,
        storage_limit=code_storage_limit,
        manifest_sources={name: path for (kind, name), path in manifests.sources.items() if kind == "Function"},
    )
    api_functions.load()  # functions created through the Lambda API (CreateFunction), built like the others
    versions.api_functions = api_functions
    provider = LocalProvider(
        catalog,
        state_dir=state_dir,
        packages=packages,
        config_maps=manifests.config_maps,
        platform_environment=platform_environment(base_url),
        versions=versions,
        credentials=function_credentials(store),
        sandbox=sandbox,
    )
    versions.on_deleted = provider.retire_version
    api_functions.provider = provider
    tables = LocalTables(state_dir, manifests.tables)
    async_options = async_options or AsyncOptions()
    shared_state = PrivateRedis(state_dir / "redis", async_options.appendfsync) if redis_url is None else None
    if shared_state is not None:
        try:
            shared_state.start()
        except (RedisServerNotFoundError, RuntimeError) as exc:
            print(f"kumo up: could not start its private Redis: {exc}", file=sys.stderr)
            if sandbox is not None:
                sandbox.close()
            return 1
        redis_url = shared_state.url

    pollers: list[asyncio.Task[None]] = []  # the table-stream event source (it reads this process's tables)

    def announce() -> None:
        print(
            banner(base_url, manifests.functions.values(), manifests.apis.values(), tables.table_names(), credentials),
            flush=True,
        )
        pollers.append(
            asyncio.create_task(stream_pollers(catalog, tables, redis_url, base_url, store), name="stream-pollers")
        )

    workers = WorkerProcesses(async_options, redis_url, base_url, store)
    workers.start()  # they wait for the gateway themselves (an unreachable gateway is retried)
    watcher: asyncio.Task[None] | None = None
    if watch is not None:
        reloader = Reloader(
            watch.paths, manifests, catalog, provider, versions, tables, watch.parameters, api_owned=api_functions.owns
        )
        follow = ManifestWatcher(watch.paths, reloader.reload, interval_s=watch.interval_s, seen=watch.seen)
        watcher = asyncio.create_task(follow.run(), name="manifest-watch")
    try:
        return await serve_gateway(
            catalog,
            provider,
            tables,
            host,
            port,
            auth=auth,
            name="kumo up",
            on_ready=announce,
            admin=True,
            admin_token=local_admin_token(state_dir),
            keys=store,
            versions=versions,
            redis_url=redis_url,
            secrets=LocalSecrets(state_dir),
            allowed_hosts=allowed_host_list(host, allowed_hosts),
            concurrency_limit=concurrency_limit,
            layers=LocalLayerVersions(packages.layers),
            functions=api_functions,
        )
    finally:
        began = time.monotonic()
        workers.stop()  # they run the async events, the schedules and the queue pollers
        for task in pollers:
            task.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)
        log.info("async workers and stream pollers stopped in %.1fs", time.monotonic() - began)
        if sandbox is not None:
            sandbox.close()
        if shared_state is not None:
            shared_state.stop()
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        log.info("stopped")
