"""Run ``kumo up`` as a real subprocess on a free port with manifests written for a test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.config import Config
from support import free_port, wait_http

from kumo.access_keys import AccessKey
from kumo.aws_signing import SigV4Auth
from kumo_gateway.auth.local_store import DEFAULT_KEY_NAME, read_keys

KUMO = [sys.executable, "-m", "kumo_cli"]
#: A stop slower than this prints the end of the log (pytest shows it when the test fails).
SLOW_STOP_S = 8.0


def function_manifest(
    name: str, source: str, *, runtime: str = "python3.11", handler: str = "app.handler", **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": name},
        "spec": {"runtime": runtime, "handler": handler, "code": {"inline": {"app.py": source}}, **spec},
    }


class KumoUp:
    """A ``kumo up`` process: start it, talk to it, stop it (SIGTERM, then SIGKILL if it hangs)."""

    def __init__(
        self,
        manifests: list[dict[str, Any]],
        workdir: Path,
        *,
        paths: list[Path] | None = None,
        args: list[str] | None = None,
        command: Callable[[int, Path], list[str]] | None = None,
    ) -> None:
        """``command(port, state_dir)`` replaces ``kumo up`` (e.g. ``make run``); it runs in its own
        process group, and ``stop`` signals that group."""
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        manifest_dir = workdir / "manifests"
        manifest_dir.mkdir(parents=True, exist_ok=True)
        #: The manifest file ``kumo up`` serves (tests that edit it use ``write_manifests``).
        self.manifest_path = manifest_dir / "all.yaml"
        self.write_manifests(manifests)
        self.state_dir = workdir / "state"
        self.log_path = workdir / "kumo-up.log"
        self._log = self.log_path.open("wb")
        sources = [str(p) for p in paths] if paths else [str(manifest_dir)]
        self.group = command is not None
        argv = (
            command(self.port, self.state_dir)
            if command is not None
            else [*KUMO, "up", *sources, "--port", str(self.port), "--state-dir", str(self.state_dir)]
        )
        self.proc = subprocess.Popen(
            [*argv, *(args or [])],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=self.group,
        )
        try:
            # bounded; generous because 2 shared cores under load start many partition processes slowly
            wait_http(f"{self.url}/healthz", timeout_s=60.0, proc=self.proc)
        except Exception:
            self.stop()
            raise RuntimeError(f"kumo up did not start:\n{self.log_path.read_text()}") from None

    def write_manifests(self, manifests: list[dict[str, Any]]) -> None:
        """Replace the manifest file's content (atomically, as editors save)."""
        staging = self.manifest_path.with_suffix(".tmp")
        staging.write_text(yaml.safe_dump_all(manifests, sort_keys=False))
        staging.replace(self.manifest_path)

    @property
    def key(self) -> AccessKey:
        """The default access key ``kumo up`` created in its state directory (policy ``*``)."""
        return next(key for key in read_keys(self.state_dir) if key.name == DEFAULT_KEY_NAME)

    @property
    def admin_token(self) -> str:
        return (self.state_dir / "admin-token").read_text().strip()

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def auth(self, service: str = "lambda") -> SigV4Auth:
        """httpx auth signing with the default key."""
        return SigV4Auth(self.key.access_key_id, self.key.secret_access_key, service)

    def aws_env(self) -> dict[str, str]:
        """Environment for the AWS CLI (and any SDK) pointed at this Kumo with the default key."""
        return {
            **os.environ,
            "AWS_ACCESS_KEY_ID": self.key.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.key.secret_access_key,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_PAGER": "",
        }

    def client(self, service: str, key: AccessKey | None = None, **config: Any):
        if key is None and config.get("signature_version") is None:
            key = self.key
        key = key or AccessKey("unused", "unused")
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=120, **config),
        )

    def lambda_client(self, **config: Any):
        return self.client("lambda", **config)

    def _signal(self, signum: int) -> None:
        if self.group:
            os.killpg(self.proc.pid, signum)  # its own group (start_new_session): make and its kumo up
        else:
            self.proc.send_signal(signum)

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout_s: float = 40.0) -> int:
        """SIGTERM, then the exit code. ``timeout_s`` covers kumo up's own bounded shutdown steps (the
        gateway's 5 s graceful close, instances, async workers' 15 s) on a loaded machine; past it the
        process is killed and the end of its log is printed, so a hang can be told from a slow stop."""
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            began = time.monotonic()
            try:
                self.proc.wait(timeout_s)
                if time.monotonic() - began > SLOW_STOP_S:  # not a failure: say where the time went
                    self._log.flush()
                    print(
                        f"kumo up took {time.monotonic() - began:.1f}s to stop; its log ends:\n{self.output()[-4000:]}"
                    )
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait()
                self._log.flush()
                print(f"kumo up did not stop within {timeout_s}s; its log ends:\n{self.output()[-4000:]}")
        self._log.close()
        return self.proc.returncode


def shared_dir(parent: Path) -> Path:
    """A directory under ``parent`` that functions can write to (to tell a test something), also
    under the instance sandbox, where each function runs as its own uid: world-writable, sticky."""
    path = parent / "shared"
    path.mkdir(parents=True, exist_ok=True)
    for directory in (path, *path.parents):
        if directory == Path(tempfile.gettempdir()) or directory == directory.parent:
            break
        os.chmod(directory, os.stat(directory).st_mode | 0o711)  # every parent passable
    os.chmod(path, 0o1777)
    return path
