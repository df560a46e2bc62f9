"""What the handlers share in one operator process: settings, the API client, autoscaler windows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import Configuration

from kumo.kube.client import KubeClient
from kumo_operator.autoscaler import ScalingWindow
from kumo_operator.config import OperatorConfig


@dataclass
class OperatorState:
    config: OperatorConfig
    #: API server and credentials (loaded before kopf starts, so bad credentials fail at once).
    kube_configuration: Configuration | None = None
    #: The API client; opened in kopf's event loop by :func:`kumo_operator.main.connect`, closed at cleanup.
    client: KubeClient | None = None
    #: (namespace, function, version) -> observations.
    windows: dict[tuple[str, str, str], ScalingWindow] = field(default_factory=dict)
    #: (namespace, function, version) -> replicas the autoscaler last saw or set.
    last_replicas: dict[tuple[str, str, str], int] = field(default_factory=dict)
    redis: Any = None
    #: (read time, loads by field) shared by every Function's timer within one interval.
    loads_cache: tuple[float, dict[str, list[Any]]] | None = None
    #: The namespace the operator watches (``None``: every namespace).
    namespace: str | None = None
    #: The code store's garbage collection (kumo_operator.archive_gc_loop), while it runs.
    gc_task: Any = None

    @property
    def kube(self) -> KubeClient:
        if self.client is None:
            raise RuntimeError("the Kubernetes client is not open (the operator's startup handler opens it)")
        return self.client


def state_of(memo: Any) -> OperatorState:
    """The :class:`OperatorState` kept in kopf's memo (``memo.state``)."""
    state = getattr(memo, "state", None)
    if not isinstance(state, OperatorState):
        raise RuntimeError("the operator was started without its state; use kumo_operator.main.run_operator")
    return state


def plain(value: Any) -> Any:
    """A kopf body (or any mapping view) as plain dicts and lists (what the pure builders take)."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value
