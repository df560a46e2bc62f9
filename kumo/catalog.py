"""The registry of current resources: every ``Function`` and ``Api`` the platform serves, by name.

Local mode fills it from manifests; the Kubernetes provider fills it from watches. Readers (the
gateway's hot path) only do dict look-ups; writers replace whole objects. Mutations hold a lock so
that writers in other threads (watch callbacks) are safe too, and never await, so they are atomic
with respect to the event loop.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from kumo.versions import FunctionVersions, Resolution

if TYPE_CHECKING:
    from kumo.models import Api, Function

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "000000000000"


class Catalog:
    """In-memory map of the current ``Function`` and ``Api`` objects, keyed by ``metadata.name``."""

    def __init__(
        self,
        *,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.region = region
        self.account_id = account_id
        self._functions: dict[str, Function] = {}
        self._versions: dict[str, FunctionVersions] = {}
        #: The random draw in [0, 1) for weighted alias routing (injectable for tests).
        self._draw = draw
        self._apis: dict[str, Api] = {}
        self._lock = threading.Lock()
        #: Increases on every change; lets caches tell cheaply whether anything moved.
        self.generation = 0

    # Functions

    def set_function(self, function: Function) -> None:
        with self._lock:
            self._functions[function.metadata.name] = function
            self.generation += 1

    def remove_function(self, name: str) -> Function | None:
        with self._lock:
            removed = self._functions.pop(name, None)
            self.generation += 1
            return removed

    def function(self, name: str) -> Function | None:
        return self._functions.get(name)

    def functions(self) -> list[Function]:
        return list(self._functions.values())

    # Versions and aliases (kumo.versions)

    def versions(self, name: str) -> FunctionVersions:
        """The published versions and aliases of ``name`` (an empty registry, kept, if none yet)."""
        registry = self._versions.get(name)
        if registry is None:
            with self._lock:
                registry = self._versions.setdefault(name, FunctionVersions())
        return registry

    def set_versions(self, name: str, registry: FunctionVersions) -> None:
        with self._lock:
            self._versions[name] = registry
            self.generation += 1

    def resolve(self, name: str, qualifier: str | None) -> Resolution | None:
        """The version a call of ``name`` with ``qualifier`` (None, ``$LATEST``, a number, an alias) runs:
        an alias with a routing configuration draws its version. None when function or qualifier is unknown."""
        if name not in self._functions:
            return None
        registry = self._versions.get(name)
        if registry is None:
            registry = FunctionVersions()
        return registry.resolve(qualifier, self._draw)

    # Apis

    def set_api(self, api: Api) -> None:
        with self._lock:
            self._apis[api.metadata.name] = api
            self.generation += 1

    def remove_api(self, name: str) -> Api | None:
        with self._lock:
            removed = self._apis.pop(name, None)
            self.generation += 1
            return removed

    def api(self, name: str) -> Api | None:
        return self._apis.get(name)

    def apis(self) -> list[Api]:
        return list(self._apis.values())

    # Names

    def function_arn(self, name: str, qualifier: str | None = None) -> str:
        """``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]``."""
        arn = f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"
        return f"{arn}:{qualifier}" if qualifier else arn
