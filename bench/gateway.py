"""Gateway authentication bench (``make bench``): a SigV4-signed Invoke vs an unsigned one (target >= 0.9),
then an Api route with API key + usage plan vs the same route without (:mod:`gateway_limits`, target
>= 0.85); each pair measured in the same run, interleaved.

Two ``kumo up`` processes serve the same warm function: one checks signatures (its default key), one
runs with ``--insecure-no-auth``. Load comes from ``wrk`` (``BENCH_CONNECTIONS`` keep-alive connections,
``BENCH_DURATION`` seconds a round); rounds alternate A B B A … between the two, so neither side always
runs first. The signed requests carry a signature computed once per round (valid 15 minutes; the gateway
still verifies every request in full: canonical request, payload hash, HMAC), so the client's signing
cost is not measured. Reported: the median throughput of each side, the ratio of those medians, and the
median of the per-round ratios (each round's two runs back to back) — the target (>= 0.9) applies to
that paired figure, which a drift in the shared machine's speed moves least (as ``bench/invoke.py``'s
alias comparison) — and CPU per request of each side's processes (gateway, private Redis, function
runtimes, wrk) from ``/proc``: their ratio is what the throughput ratio would be on a machine nothing
else shares.
Everything runs on 127.0.0.1; every process started is stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
import gateway_limits  # noqa: E402
from bench_support import paired_medians  # noqa: E402
from gateway_limits import measured  # noqa: E402
from invoke import start, stop, wrk  # noqa: E402
from process_cpu import print_cpu_per_request  # noqa: E402
from support import free_port  # noqa: E402

from kumo.aws_signing import sign_headers  # noqa: E402
from kumo_gateway.auth.local_store import DEFAULT_KEY_NAME, read_keys  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
TARGET = 0.9
PAYLOAD = b'{"name": "bench"}'


def wrk_script(path: Path, headers: dict[str, str]) -> Path:
    """A wrk script POSTing ``PAYLOAD`` with ``headers``."""
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(PAYLOAD.decode())}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def signed_vs_unsigned() -> int:
    if not shutil.which("wrk"):
        print("bench/gateway.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    hello = yaml.safe_load((ROOT / "examples/hello/function.yaml").read_text())
    with tempfile.TemporaryDirectory(prefix="kumo-bench-auth-") as tmp:
        work = Path(tmp)
        (work / "manifests.yaml").write_text(yaml.safe_dump(hello))
        signed_port, open_port = free_port(), free_port()
        up = [sys.executable, "-m", "kumo_cli", "up", str(work / "manifests.yaml"), "--watch-interval", "0"]
        procs = {}
        try:
            procs["signed"] = start(
                [*up, "--port", str(signed_port), "--state-dir", str(work / "signed")],
                f"http://127.0.0.1:{signed_port}/healthz",
                work / "signed.log",
            )
            procs["unsigned"] = start(
                [*up, "--insecure-no-auth", "--port", str(open_port), "--state-dir", str(work / "open")],
                f"http://127.0.0.1:{open_port}/healthz",
                work / "open.log",
            )
            key = next(k for k in read_keys(work / "signed") if k.name == DEFAULT_KEY_NAME)
            name = hello["metadata"]["name"]
            urls = {
                "signed": f"http://127.0.0.1:{signed_port}/2015-03-31/functions/{name}/invocations",
                "unsigned": f"http://127.0.0.1:{open_port}/2015-03-31/functions/{name}/invocations",
            }

            def headers_for(side: str) -> dict[str, str]:
                headers = {"content-type": "application/json"}
                if side == "signed":
                    headers |= sign_headers(
                        "POST", urls[side], PAYLOAD, headers, key_id=key.access_key_id,
                        secret=key.secret_access_key, service="lambda",
                    )  # fmt: skip
                return headers

            def script(side: str) -> Path:
                return wrk_script(work / f"{side}.lua", headers_for(side))

            for side in urls:  # a signature the gateway accepts, then warm every instance
                httpx.post(urls[side], content=PAYLOAD, headers=headers_for(side), timeout=30).raise_for_status()
                wrk(urls[side], CONNECTIONS, script(side))
            rps: dict[str, list[float]] = {"signed": [], "unsigned": []}
            cpu: dict[str, list[dict[str, float]]] = {"signed": [], "unsigned": []}
            for i in range(ROUNDS):
                order = ("signed", "unsigned") if i % 4 in (0, 3) else ("unsigned", "signed")
                for side in order:
                    run, used = measured(procs[side].pid, urls[side], script(side))
                    assert run["errors"] == 0, run
                    rps[side].append(run["rps"])
                    cpu[side].append(used)
        finally:
            for proc in reversed(procs.values()):
                stop(proc)
    s, u, ratios = paired_medians(rps["signed"], rps["unsigned"])
    paired = statistics.median(ratios)
    print(f"\nInvoke, wrk -c{CONNECTIONS}, {ROUNDS} interleaved rounds (A B B A …), median req/s:")
    print(f"  signed (SigV4 verified):       {s:8.0f}  {[round(r) for r in rps['signed']]}")
    print(f"  unsigned (--insecure-no-auth): {u:8.0f}  {[round(r) for r in rps['unsigned']]}")
    print(f"  signed / unsigned: ratio of medians {s / u:.2f}; per round {[round(r, 2) for r in ratios]}")
    print(f"  signed / unsigned, median of the per-round ratios: {paired:.2f}  (target >= {TARGET})")
    totals = print_cpu_per_request(cpu)
    cpu_ratio = totals["unsigned"] / totals["signed"]
    print(f"  CPU ratio unsigned/signed (throughput ratio on an unshared machine): {cpu_ratio:.2f}")
    return 0 if paired >= TARGET else 1


def main() -> int:
    signed = signed_vs_unsigned()
    keyed = gateway_limits.main()
    return max(signed, keyed)


if __name__ == "__main__":
    raise SystemExit(main())
