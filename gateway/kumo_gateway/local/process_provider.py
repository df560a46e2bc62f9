"""The local provider: function instances as processes on this machine, one pool per function version."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

from kumo.catalog import Catalog
from kumo.models import FunctionSpec
from kumo.packages.layers import opt_environment
from kumo.packages.plan import PackageError
from kumo.runtime.environment import DEFAULT_PATH
from kumo.runtime.host import FunctionConfig, RuntimeHost
from kumo.runtime.invocation import Invocation, InvocationResult
from kumo.scaling.decisions import PoolLimits, effective_max_instances
from kumo.versions import LATEST
from kumo_gateway.local.code import CodeUnavailable, code_files, materialize
from kumo_gateway.local.packages import LocalPackages, custom_runtime_command, is_package
from kumo_gateway.local.pool import InstancePool, PoolThrottled
from kumo_gateway.local.sandbox import LocalSandbox
from kumo_gateway.local.versions_store import LocalVersions
from kumo_gateway.metrics import InstanceCount
from kumo_gateway.provider import FunctionNotFound, FunctionNotReady, InstanceUnavailable, TooManyRequests

log = logging.getLogger("kumo.local")


class LocalInstance:
    """An acquired instance; remembers whether it may be reused after the invocation."""

    def __init__(self, host: RuntimeHost) -> None:
        self.host = host
        self.reusable = True

    async def invoke(self, invocation: Invocation) -> InvocationResult:
        try:
            result = await self.host.invoke(invocation)
        except BaseException:
            self.reusable = False
            raise
        self.reusable = result.instance_reusable
        return result


class LocalProvider:
    """Starts instances on demand (cold start), reuses them warm and stops them when idle."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        state_dir: Path,
        config_maps: Mapping[str, Mapping[str, str]] | None = None,
        platform_environment: Mapping[str, str] | None = None,
        queue_limit: int = 100,
        queue_timeout_s: float = 30.0,
        versions: LocalVersions | None = None,
        credentials: Callable[[str], Mapping[str, str]] | None = None,
        sandbox: LocalSandbox | None = None,
        packages: LocalPackages | None = None,
    ) -> None:
        self.catalog = catalog
        #: Built deployment packages (code.path/zip/requirements): used in place as the code dir.
        self.packages = packages
        self.state_dir = state_dir
        self.config_maps = dict(config_maps or {})
        self.platform_environment = dict(platform_environment or {})
        self.queue_limit = queue_limit
        self.queue_timeout_s = queue_timeout_s
        self.pools: dict[tuple[str, str], InstancePool] = {}
        self.versions = versions
        #: Each function's own credentials (added to ``platform_environment`` for its instances).
        self.credentials = credentials
        #: Runs each function as its own uid when set (``kumo up`` as root), see ``local/sandbox.py``.
        self.sandbox = sandbox
        #: Pools retired by ``roll``/``remove``, finishing their in-flight invocations.
        self._draining: dict[asyncio.Task[None], InstancePool] = {}

    async def start(self) -> None:
        for function in self.catalog.functions():
            if function.spec.scaling.min_instances > 0:
                await self._pool(function.metadata.name, LATEST).start()

    async def stop(self) -> None:
        pools, self.pools = list(self.pools.values()), {}
        for pool in pools:
            await pool.stop()
        for pool in list(self._draining.values()):
            await pool.stop()  # kills what is still running; its drain task then ends
        if self._draining:
            await asyncio.gather(*self._draining, return_exceptions=True)

    async def roll(self, name: str) -> None:
        """``$LATEST`` of ``name`` changed (in the catalog): new requests get instances of the new code and
        configuration, in-flight invocations finish on the old instances, which then stop. Published
        versions keep their pools."""
        self._retire((name, LATEST))
        function = self.catalog.function(name)
        if function is not None and function.spec.scaling.min_instances > 0:
            await self._pool(name, LATEST).start()

    def remove(self, name: str) -> None:
        """``name`` was removed from the catalog: retire every pool of it (in-flight invocations finish)."""
        for key in [key for key in self.pools if key[0] == name]:
            self._retire(key)

    def retire_version(self, name: str, version: str) -> None:
        """Published version ``version`` of ``name`` was deleted: retire its pool (in-flight ones finish)."""
        self._retire((name, version))

    def _retire(self, key: tuple[str, str]) -> None:
        pool = self.pools.pop(key, None)
        if pool is None:
            return
        task = asyncio.create_task(pool.drain(), name=f"drain:{pool.name}")
        self._draining[task] = pool
        task.add_done_callback(lambda done: self._draining.pop(done, None))

    def instance_counts(self) -> list[InstanceCount]:
        """Each serving pool's instances and cold starts, for ``/metrics``."""
        return [
            InstanceCount(function, version, pool.total, pool.cold_starts)
            for (function, version), pool in list(self.pools.items())
        ]

    @contextlib.asynccontextmanager
    async def acquire(self, function: str, version: str) -> AsyncIterator[LocalInstance]:
        pool = self._pool(function, version)
        try:
            host = await pool.acquire()
        except PoolThrottled as exc:
            raise TooManyRequests(str(exc)) from None
        instance = LocalInstance(host)  # type: ignore[arg-type]
        try:
            yield instance
        except BaseException:
            instance.reusable = False
            raise
        finally:
            pool.release(host, reusable=instance.reusable)

    def _opt_dir(self, name: str, version: str, spec: FunctionSpec) -> Path | None:
        if self.packages is None:
            return None
        try:
            if version == LATEST:
                return self.packages.opt_dir(name)
            return self.packages.layers.merged(spec.layers)  # a version's pinned NAME:N layers
        except (CodeUnavailable, PackageError) as exc:
            raise InstanceUnavailable(f"function {name}:{version}: {exc}") from None

    def _version_code_dir(self, name: str, version: str, package: str | None) -> Path:
        """A published version's code: its frozen package (by content address) or its own copy of the files."""
        if self.versions is None:
            raise FunctionNotFound(f"{name}:{version}")
        if package is None:
            return self.versions.code_dir(name, version)
        path = self.state_dir / "packages" / package
        if not path.is_dir():
            raise InstanceUnavailable(f"function {name}:{version}: package {package[:12]} is missing from the cache")
        return path

    def _pool(self, name: str, version: str) -> InstancePool:
        pool = self.pools.get((name, version))
        if pool is not None:
            return pool
        function = self.catalog.function(name)
        if function is None:
            raise FunctionNotFound(name)
        scaling, concurrency = function.spec.scaling, function.spec.concurrency  # the function's, every version's
        min_instances = scaling.min_instances
        if version == LATEST:
            spec = function.spec
            if self.packages is not None and name in self.packages.not_ready:
                raise FunctionNotReady(self.packages.not_ready[name])
            if self.packages is not None and name in self.packages.problems:
                raise FunctionNotReady("Failed", self.packages.problems[name])  # its package or layers did not build
            try:
                if self.packages is not None and is_package(spec):
                    code_dir = self.packages.code_dir(name)
                else:
                    code_dir = materialize(code_files(spec.code, self.config_maps), self.state_dir / "code" / name)
            except CodeUnavailable as exc:
                raise InstanceUnavailable(f"function {name}: {exc}") from None
        else:
            # A published version: its frozen configuration and immutable code; scales to zero on its own.
            published = self.catalog.versions(name).get(version)
            if published is None:
                raise FunctionNotFound(f"{name}:{version}")
            spec, min_instances = published.snapshot.spec, 0
            code_dir = self._version_code_dir(name, version, published.snapshot.package)
        config = FunctionConfig(
            name=name,
            handler=spec.handler,
            runtime=spec.runtime,
            code_dir=code_dir,
            version=version,
            memory_mb=spec.memory,
            timeout_s=spec.timeout,
            environment=dict(spec.environment),
            platform_environment={**self.platform_environment, **(self.credentials(name) if self.credentials else {})},
            region=self.catalog.region,
            account_id=self.catalog.account_id,
        )
        limits = PoolLimits(
            max_instances=effective_max_instances(scaling.max_instances, concurrency.reserved),
            min_instances=min_instances,
            idle_timeout_s=scaling.idle_timeout,
            queue_limit=self.queue_limit,
            queue_timeout_s=self.queue_timeout_s,
        )
        log_dir = self.state_dir / "logs"
        tmp_root = self.state_dir / "tmp"
        identity = self.sandbox.identity(name, spec.runtime) if self.sandbox is not None else None
        if self.sandbox is not None and identity is not None:
            config = dataclasses.replace(config, code_dir=self.sandbox.code_copy(name, identity, code_dir))
            tmp_root = self.sandbox.tmp_root(name, identity)
        config = dataclasses.replace(config, command=custom_runtime_command(spec.runtime, config.code_dir))
        opt_dir = self._opt_dir(name, version, spec)
        if opt_dir is not None:  # layers: the function's /opt (kumo.packages.layers)
            if self.sandbox is not None and identity is not None:
                opt_dir = self.sandbox.code_copy(name, identity, opt_dir)
            opt_env = opt_environment(opt_dir, os.environ.get("PATH") or DEFAULT_PATH)
            config = dataclasses.replace(config, platform_environment={**config.platform_environment, **opt_env})

        def host_factory() -> RuntimeHost:
            return RuntimeHost(config, log_dir=log_dir, tmp_root=tmp_root, sandbox=identity)

        pool = InstancePool(f"{name}:{version}", host_factory, limits)
        self.pools[(name, version)] = pool
        return pool
