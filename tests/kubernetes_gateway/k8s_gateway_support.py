"""Test helpers: the gateway subprocess, and ``kumo runtime`` processes standing in for pods."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from cluster import KubeApi
from signing import TEST_KEY
from support import free_port, wait_http

from kumo.access_keys import ACCESS_KEY_LABEL, AccessKey, secret_string_data

KUMO = [sys.executable, "-m", "kumo_cli"]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def ensure_test_key(api: KubeApi, key: AccessKey = TEST_KEY, namespace: str = "default") -> None:
    """The access-key Secret holding ``key`` (what the gateway accepts signatures of)."""
    name = f"key-{key.access_key_id.lower()}"
    path = f"/api/v1/namespaces/{namespace}/secrets"
    if api.request("GET", f"{path}/{name}").status_code == 200:
        return
    api.create(
        path,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "labels": {ACCESS_KEY_LABEL: "true"}},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in secret_string_data(key).items()},
        },
    )


class GatewayProcess:
    """``kumo gateway --kubernetes`` against the emulator, on a free port."""

    def __init__(self, api: KubeApi, tmp_path: Path, user: str | None = None) -> None:
        """``user``: the service account the gateway calls the API as (``None``: the test's admin user)."""
        self.api, self.tmp_path, self.user = api, tmp_path, user
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, *args: str, env: dict[str, str] | None = None) -> GatewayProcess:
        self.starts += 1
        ensure_test_key(self.api)
        log = open(self.tmp_path / "gateway.log", "wb")  # noqa: SIM115
        command = [*KUMO, "gateway", "--kubernetes", "--namespace=default", f"--port={self.port}", *args]
        self.proc = subprocess.Popen(command, env=self._env | (env or {}), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_http(f"{self.url}/healthz", timeout_s=30, proc=self.proc)
        return self

    @property
    def _env(self) -> dict[str, str]:
        return self.api.env_as(self.user) if self.user else self.api.env

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None

    def log(self) -> str:
        path = self.tmp_path / "gateway.log"
        return path.read_text(errors="replace") if path.exists() else ""


class PodFarm:
    """``endpoints_for`` for :class:`controllers.DeploymentController`: keeps ``spec.replicas`` real
    ``kumo runtime`` processes per Deployment, configured from its pod template and ConfigMap."""

    def __init__(self, api: KubeApi, root: Path) -> None:
        self.api, self.root = api, root
        self.procs: dict[str, list[tuple[subprocess.Popen[bytes], int]]] = {}
        #: When False, Deployments get no ready endpoints at all (pods that never become ready).
        self.start_pods = True
        self.started = 0
        self._lock = threading.Lock()

    def endpoints_for(self, obj: dict[str, Any]) -> list[tuple[str, int]]:
        name = obj["metadata"]["name"]
        replicas = int((obj.get("spec") or {}).get("replicas") or 0) if self.start_pods else 0
        with self._lock:
            running = self.procs.setdefault(name, [])
            while len(running) > replicas:
                _stop(running.pop()[0])
            while len(running) < replicas:
                running.append(self._start(obj, len(running)))
            return [("127.0.0.1", port) for _, port in running]

    def _start(self, obj: dict[str, Any], index: int) -> tuple[subprocess.Popen[bytes], int]:
        name = obj["metadata"]["name"]
        pod = obj["spec"]["template"]["spec"]
        container = pod["containers"][0]
        env = {e["name"]: e["value"].replace("$$", "$") for e in container.get("env", []) if "value" in e}
        env |= self._secret_env(container)
        code_dir = self.root / f"{name}-{index}" / "code"
        code_dir.mkdir(parents=True, exist_ok=True)
        fetch = next((c for c in pod.get("initContainers") or [] if c["name"] == "fetch-package"), None)
        if fetch is not None:  # a code.package pod: its init container, for real, into local dirs
            opt_dir = self.root / f"{name}-{index}" / "opt"
            self._fetch(name, index, fetch, code_dir, opt_dir)
            platform = env.get("KUMO_PLATFORM_ENVIRONMENT")
            if platform:  # /opt is the fetched layers' dir here
                env["KUMO_PLATFORM_ENVIRONMENT"] = platform.replace('"/opt', f'"{opt_dir}').replace(
                    ":/opt", f":{opt_dir}"
                )
        else:
            config_map = self.api.get(f"/api/v1/namespaces/default/configmaps/{name}")
            volume = next(v for v in pod["volumes"] if "configMap" in v)
            for item in volume["configMap"]["items"]:
                target = code_dir / item["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(config_map["data"][item["key"]])
        port = free_port()
        env |= {"KUMO_CODE_DIR": str(code_dir), "KUMO_HOST": "127.0.0.1", "KUMO_PORT": str(port)}
        log = open(self.root / f"{name}-{index}" / "runtime.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [*KUMO, "runtime", "--host=127.0.0.1", f"--port={port}"],
            env=os.environ | env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout_s=30, proc=proc)
        self.started += 1
        return proc, port

    def _fetch(self, name: str, index: int, container: dict[str, Any], code_dir: Path, opt_dir: Path) -> None:
        """``kumo package fetch`` as the init container runs it, with the pod's emptyDirs as local dirs."""
        command = list(container["command"])
        assert command[:3] == ["kumo", "package", "fetch"], command
        for flag, local in (("--code-dir", code_dir), ("--opt-dir", opt_dir)):
            if flag in command:
                command[command.index(flag) + 1] = str(local)
        env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e} | self._secret_env(container)
        with open(self.root / f"{name}-{index}" / "fetch.log", "wb") as log:
            done = subprocess.run(
                [*KUMO, *command[1:]], env=os.environ | env, stdout=log, stderr=subprocess.STDOUT, timeout=120
            )
        assert done.returncode == 0, (self.root / f"{name}-{index}" / "fetch.log").read_text()

    def _secret_env(self, container: dict[str, Any]) -> dict[str, str]:
        """What the kubelet puts in the environment for ``valueFrom.secretKeyRef`` entries."""
        env = {}
        for entry in container.get("env", []):
            ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
            if ref is not None:
                secret = self.api.get(f"/api/v1/namespaces/default/secrets/{ref['name']}")
                env[entry["name"]] = base64.b64decode(secret["data"][ref["key"]]).decode()
        return env

    def stop_all(self) -> None:
        with self._lock:
            for running in self.procs.values():
                for proc, _ in running:
                    _stop(proc)
            self.procs.clear()

    def running(self, name: str) -> int:
        with self._lock:
            return sum(1 for proc, _ in self.procs.get(name, []) if proc.poll() is None)
