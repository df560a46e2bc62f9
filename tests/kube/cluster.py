"""Run the API-server emulator on 127.0.0.1 in a background thread; drive it with kubectl/httpx."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import kmock
import yaml
from access import ADMIN_TOKEN
from emulator import ApiServerEmulator

REPO = Path(__file__).resolve().parents[2]
KUBECTL = REPO / "hack" / "bin" / "kubectl"
HELM = REPO / "hack" / "bin" / "helm"
TOKEN = ADMIN_TOKEN


def ensure_kube_tools() -> None:
    """Install kubectl + helm into hack/bin via hack/install-kube-tools.sh when missing."""
    if not (KUBECTL.exists() and HELM.exists()):
        subprocess.run([str(REPO / "hack" / "install-kube-tools.sh")], check=True, capture_output=True, timeout=300)


def write_kubeconfig(path: Path, url: str, token: str = TOKEN) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "kumo-emulator",
        "clusters": [{"name": "kumo-emulator", "cluster": {"server": url}}],
        "users": [{"name": "kumo-test", "user": {"token": token}}],
        "contexts": [
            {
                "name": "kumo-emulator",
                "context": {"cluster": "kumo-emulator", "user": "kumo-test", "namespace": "default"},
            }
        ],
    }
    path.write_text(yaml.safe_dump(config))


@dataclass
class KubeApi:
    """A running emulator: its URL, a kubeconfig for it, and helpers to drive it."""

    workdir: Path
    emulator: ApiServerEmulator = field(default_factory=ApiServerEmulator)
    url: str = ""
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def env(self) -> dict[str, str]:
        """Environment for subprocesses (kubectl, helm, kopf) pointing at this emulator only."""
        return os.environ | {
            "KUBECONFIG": str(self.kubeconfig),
            "HOME": str(self.workdir),
            "KUBECACHEDIR": str(self.workdir / "cache"),
            "HELM_CACHE_HOME": str(self.workdir / "helm-cache"),
            "HELM_CONFIG_HOME": str(self.workdir / "helm-config"),
            "HELM_DATA_HOME": str(self.workdir / "helm-data"),
        }

    def start(self) -> KubeApi:
        ready = threading.Event()
        errors: list[BaseException] = []

        async def serve() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            try:
                async with self.emulator, kmock.Server(self.emulator, host="127.0.0.1") as server:
                    self.url = f"http://127.0.0.1:{server.port}"
                    ready.set()
                    await self._stop.wait()
            except BaseException as exc:  # surfaced to the caller of start()
                errors.append(exc)
                ready.set()

        self._thread = threading.Thread(target=asyncio.run, args=(serve(),), name="kube-emulator", daemon=True)
        self._thread.start()
        if not ready.wait(30) or errors:
            raise RuntimeError(f"the Kubernetes emulator did not start: {errors}")
        write_kubeconfig(self.kubeconfig, self.url)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(30)

    def env_as(self, user: str) -> dict[str, str]:
        """``env`` with a kubeconfig whose token the emulator maps to ``user`` (e.g. a service account)."""
        token = "sa-" + hashlib.sha256(user.encode()).hexdigest()[:32]
        self.emulator.access_control.add_token(token, user)
        path = self.workdir / f"kubeconfig-{user.replace(':', '_')}"
        write_kubeconfig(path, self.url, token)
        return self.env | {"KUBECONFIG": str(path)}

    def in_loop(self, fn: Callable[[], Any], timeout_s: float = 10.0) -> Any:
        """Run ``fn`` in the emulator's event loop (atomically with respect to its requests); its result."""
        assert self._loop is not None

        async def call() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout_s)

    # --- clients -----------------------------------------------------------------
    def kubectl(self, *args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against the emulator (never raises on a non-zero exit)."""
        return subprocess.run(
            [str(KUBECTL), "--kubeconfig", str(self.kubeconfig), *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
        )

    def helm(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(HELM), "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {TOKEN}"} | kwargs.pop("headers", {})
        with httpx.Client(base_url=self.url, timeout=30) as client:
            return client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str) -> dict[str, Any]:
        """GET a path (``/api/v1/namespaces/default/configmaps/x``) and return the JSON; raises on errors."""
        response = self.request("GET", path)
        response.raise_for_status()
        return response.json()

    def list(self, path: str, **params: str) -> list[dict[str, Any]]:
        """The ``items`` of a list path, with optional ``labelSelector=``/``fieldSelector=``."""
        response = self.request("GET", path, params=params)
        response.raise_for_status()
        return response.json()["items"]

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.request("POST", path, json=body)
        response.raise_for_status()
        return response.json()

    def patch(self, path: str, body: Any, content_type: str = "application/merge-patch+json") -> dict[str, Any]:
        response = self.request(
            "PATCH", path, content=__import__("json").dumps(body), headers={"Content-Type": content_type}
        )
        response.raise_for_status()
        return response.json()
