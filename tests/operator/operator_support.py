"""Helpers for the operator's tests: polling, the operator subprocess, paths."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kube"))

from cluster import REPO, KubeApi
from support import wait_until

CRDS = REPO / "charts" / "kumo" / "crds"
NS = "/apis/kumo.dev/v1alpha1/namespaces/default"
LAUNCH = "import sys; from kumo_operator.main import main; sys.exit(main(sys.argv[1:]))"


def wait_for(check: Callable[[], Any], *, timeout_s: float = 20.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy (bounded); return that value.

    ``support.wait_until`` where an exception means "not yet" (the object may not exist yet).
    """
    return wait_until(check, timeout=timeout_s, interval=0.1, what=what, ignore=(Exception,))


class OperatorProcess:
    """Starts and stops ``kumo_operator`` as a subprocess against the emulator."""

    def __init__(
        self, api: KubeApi, tmp_path: Path, extra_env: dict[str, str] | None = None, user: str | None = None
    ) -> None:
        """``user``: the service account the operator calls the API as (``None``: the test's admin user)."""
        self.api, self.tmp_path = api, tmp_path
        self.env = (
            (api.env_as(user) if user else api.env)
            | {"KUMO_GATEWAY_PUBLIC_URL": "http://gw.test:8080"}
            | (extra_env or {})
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.args: list[str] = []

    def start(self, *args: str) -> OperatorProcess:
        self.args = list(args) or self.args
        self.starts += 1
        log = open(self.tmp_path / f"operator-{self.starts}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def current_log(self) -> str:
        return (self.tmp_path / f"operator-{self.starts}.log").read_text(errors="replace")

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.tmp_path.glob("operator-*.log")))
