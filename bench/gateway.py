"""Gateway authentication bench: a SigV4-signed Invoke vs an unsigned one, same run, interleaved.

Two ``kumo up`` processes serve the same warm function: one checks signatures (its default key), one
runs with ``--insecure-no-auth``. Rounds alternate between them; each round sends sequential
invocations for ``BENCH_ROUND_S`` seconds over one keep-alive connection. The signed requests carry
a signature computed once per round (valid 15 minutes; the gateway still verifies every request in
full), so the client's signing cost is not measured. Reported: the median throughput of each side
and their ratio (target >= 0.9). Everything runs on 127.0.0.1; every process started is stopped.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from invoke import start, stop  # noqa: E402
from support import free_port  # noqa: E402

from kumo.aws_signing import sign_headers  # noqa: E402
from kumo_gateway.auth.local_store import DEFAULT_KEY_NAME, read_keys  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "6"))
ROUND_S = float(os.environ.get("BENCH_ROUND_S", "2"))
PAYLOAD = b'{"name": "bench"}'


def round_rps(client: httpx.Client, url: str, headers: dict[str, str]) -> float:
    count, began = 0, time.perf_counter()
    deadline = began + ROUND_S
    while time.perf_counter() < deadline:
        client.post(url, content=PAYLOAD, headers=headers).raise_for_status()
        count += 1
    return count / (time.perf_counter() - began)


def main() -> int:
    hello = yaml.safe_load((ROOT / "examples/hello/function.yaml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "manifests.yaml").write_text(yaml.safe_dump(hello))
        signed_port, open_port = free_port(), free_port()
        up = [sys.executable, "-m", "kumo_cli", "up", str(work / "manifests.yaml"), "--watch-interval", "0"]
        procs = []
        try:
            procs.append(
                start([*up, "--port", str(signed_port), "--state-dir", str(work / "signed")],
                      f"http://127.0.0.1:{signed_port}/healthz", work / "signed.log")
            )  # fmt: skip
            procs.append(
                start([*up, "--insecure-no-auth", "--port", str(open_port), "--state-dir", str(work / "open")],
                      f"http://127.0.0.1:{open_port}/healthz", work / "open.log")
            )  # fmt: skip
            key = next(k for k in read_keys(work / "signed") if k.name == DEFAULT_KEY_NAME)
            name = hello["metadata"]["name"]
            signed_url = f"http://127.0.0.1:{signed_port}/2015-03-31/functions/{name}/invocations"
            open_url = f"http://127.0.0.1:{open_port}/2015-03-31/functions/{name}/invocations"
            signed, unsigned = [], []
            with httpx.Client(timeout=30) as client:
                for url in (signed_url, open_url):  # warm both instances
                    headers = sign_headers(
                        "POST", url, PAYLOAD, {}, key_id=key.access_key_id, secret=key.secret_access_key,
                        service="lambda",
                    ) if url == signed_url else {}  # fmt: skip
                    client.post(url, content=PAYLOAD, headers=headers).raise_for_status()
                for _ in range(ROUNDS):
                    headers = sign_headers(
                        "POST", signed_url, PAYLOAD, {}, key_id=key.access_key_id, secret=key.secret_access_key,
                        service="lambda",
                    )  # fmt: skip
                    signed.append(round_rps(client, signed_url, headers))
                    unsigned.append(round_rps(client, open_url, {}))
        finally:
            for proc in reversed(procs):
                stop(proc)
    s, u = statistics.median(signed), statistics.median(unsigned)
    print(f"Invoke, sequential, {ROUNDS} interleaved rounds of {ROUND_S:g}s (median req/s)")
    print(f"  signed (SigV4 verified):  {s:8.0f}")
    print(f"  unsigned (--insecure-no-auth): {u:8.0f}")
    print(f"  signed / unsigned: {s / u:.2f}  (target >= 0.90)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
