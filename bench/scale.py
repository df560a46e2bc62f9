"""Scale-from-zero and warm-forwarding benchmark for ``kumo gateway --kubernetes``.

Runs the API-server emulator, the operator, the gateway and ``kumo runtime`` stand-in pods (all on
127.0.0.1, all stopped here) and prints:

- cold path: request to a scaled-to-zero function -> response, split into the emulated pod start
  (the stand-in controller starting a runtime host until it answers /healthz) and the part Kumo
  controls (scale call, EndpointSlice watch latency, forwarding, the first invocation);
- warm path: the same invocation through the gateway vs straight to the runtime host's endpoint
  (sequential, keep-alive), p50/p99 and the gateway's added latency.

Usage: ``.venv/bin/python bench/scale.py [--cold N] [--warm N]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
for folder in ("tests", "tests/kube", "tests/operator", "tests/kubernetes_gateway"):
    sys.path.insert(0, str(ROOT / folder))

import signing  # noqa: E402
from cluster import KubeApi, ensure_kube_tools  # noqa: E402
from controllers import DeploymentController  # noqa: E402
from k8s_gateway_support import GatewayProcess, PodFarm  # noqa: E402
from operator_support import CRDS, NS, OperatorProcess, wait_for  # noqa: E402

INVOKE = "/2015-03-31/functions/hello/invocations"
DIRECT = "/2015-03-31/functions/function/invocations"


class TimedFarm(PodFarm):
    """Records how long each emulated pod start took."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.pod_starts: list[float] = []
        self.lock = threading.Lock()

    def _start(self, obj, index):  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        result = super()._start(obj, index)
        with self.lock:
            self.pod_starts.append(time.perf_counter() - began)
        return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed_posts(client: httpx.Client, path: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        began = time.perf_counter()
        response = client.post(path, content=b'{"name":"bench"}')
        times.append(time.perf_counter() - began)
        assert response.status_code == 200, response.text
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=3, help="cold starts to measure")
    parser.add_argument("--warm", type=int, default=500, help="warm invocations per path")
    args = parser.parse_args()
    ensure_kube_tools()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        api = KubeApi(workdir=tmp_path).start()
        operator = OperatorProcess(api, tmp_path, {"KUMO_AUTOSCALE_INTERVAL_S": "0.5"})
        gateway = GatewayProcess(api, tmp_path)
        farm = TimedFarm(api, tmp_path / "pods")
        try:
            assert api.kubectl("apply", "-f", str(CRDS)).returncode == 0
            operator.start()
            gateway.start()
            with (
                DeploymentController(api.url, farm.endpoints_for),
                httpx.Client(base_url=gateway.url, timeout=60, auth=signing.auth()) as gw,
            ):
                manifest = (ROOT / "examples/hello/function.yaml").read_text()
                assert api.kubectl("apply", "-f", "-", input=manifest).returncode == 0
                version = wait_for(lambda: api.get(f"{NS}/functions/hello").get("status", {}).get("version"))
                scale = f"/apis/apps/v1/namespaces/default/deployments/hello-{version}/scale"
                wait_for(lambda: gw.post(INVOKE, content=b"{}").status_code != 404, timeout_s=30)  # wakes it once
                totals: list[float] = []
                for _ in range(args.cold):
                    api.patch(scale, {"spec": {"replicas": 0}})
                    wait_for(lambda: farm.running(f"hello-{version}") == 0, what="scaled to zero")
                    time.sleep(0.5)  # let the gateway see the EndpointSlice go
                    began = time.perf_counter()
                    response = gw.post(INVOKE, content=b'{"name":"cold"}')
                    totals.append(time.perf_counter() - began)
                    assert response.status_code == 200, response.text
                pods = farm.pod_starts[-args.cold :]
                kumo = [t - p for t, p in zip(totals, pods, strict=True)]
                print(f"cold start (n={args.cold}), median ms:")
                print(f"  total request -> response  {statistics.median(totals) * 1000:8.1f}")
                print(f"  emulated pod start         {statistics.median(pods) * 1000:8.1f}")
                print(f"  Kumo (scale+watch+forward) {statistics.median(kumo) * 1000:8.1f}")

                _, port = farm.procs[f"hello-{version}"][0]
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as direct:
                    timed_posts(direct, DIRECT, 50)
                    timed_posts(gw, INVOKE, 50)
                    d = timed_posts(direct, DIRECT, args.warm)
                    g = timed_posts(gw, INVOKE, args.warm)
                dp50, dp99, gp50, gp99 = (
                    percentile(d, 0.5),
                    percentile(d, 0.99),
                    percentile(g, 0.5),
                    percentile(g, 0.99),
                )
                print(f"warm invoke (n={args.warm}, sequential, keep-alive), ms:")
                print(f"  direct to runtime host  p50 {dp50 * 1000:6.2f}  p99 {dp99 * 1000:6.2f}")
                print(f"  through the gateway     p50 {gp50 * 1000:6.2f}  p99 {gp99 * 1000:6.2f}")
                print(f"  gateway added p50 {(gp50 - dp50) * 1000:.2f} ms (ratio {gp50 / dp50:.2f}x)")
        finally:
            gateway.stop()
            operator.stop()
            farm.stop_all()
            api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
