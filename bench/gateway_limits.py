"""Usage-plan benchmark (``make bench``): warm requests to an Api route with ``apiKeyRequired`` and a
usage plan (throttle + quota, limits far above the load, so every request runs the Redis script and
passes) vs the same function on a route without, in the same ``kumo up`` (its private Redis).

Load comes from ``wrk``; the two routes are measured in interleaved rounds and the median requests/s
of each is compared: keyed / open, target >= 0.85. Everything runs on 127.0.0.1; every process
started here is stopped here.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
from invoke import start, stop, wrk  # noqa: E402
from support import free_port  # noqa: E402

from kumo_gateway.auth.admin_token import ADMIN_TOKEN_FILE  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
TARGET = 0.85
FUNCTION = {
    "apiVersion": "kumo.dev/v1alpha1",
    "kind": "Function",
    "metadata": {"name": "pets"},
    "spec": {
        "runtime": "python3.11",
        "handler": "app.handler",
        "code": {"inline": {"app.py": "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"}},
        "scaling": {"maxInstances": CONNECTIONS},
    },
}
API = {
    "apiVersion": "kumo.dev/v1alpha1",
    "kind": "Api",
    "metadata": {"name": "pets"},
    "spec": {
        "routes": [
            {"method": "GET", "path": "/keyed", "function": "pets", "apiKeyRequired": True},
            {"method": "GET", "path": "/open", "function": "pets"},
        ],
        "stages": [{"name": "prod"}],
        "usagePlans": [
            {
                "name": "bench",
                "stages": ["prod"],
                "throttle": {"rate": 1000000, "burst": 1000000},
                "quota": {"limit": 2000000000, "period": "MONTH"},
            }
        ],
    },
}


def main() -> int:
    if not shutil.which("wrk"):
        print("bench/gateway_limits.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="kumo-bench-limits-") as tmp:
        work = Path(tmp)
        (work / "manifests.yaml").write_text(yaml.safe_dump_all([FUNCTION, API], sort_keys=False))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        args = [sys.executable, "-m", "kumo_cli", "up", str(work / "manifests.yaml"), "--port", str(port)]
        proc = start([*args, "--state-dir", str(work / "state")], f"{url}/healthz", work / "kumo-up.log")
        try:
            token = (work / "state" / ADMIN_TOKEN_FILE).read_text().strip()
            created = httpx.post(
                f"{url}/_kumo/apis/pets/keys",
                json={"plan": "bench"},
                headers={"authorization": f"Bearer {token}"},
                timeout=30,
            )
            created.raise_for_status()
            key = created.json()["value"]
            script = work / "keyed.lua"
            script.write_text(f"wrk.headers['x-api-key'] = '{key}'\n")
            plain = work / "open.lua"
            plain.write_text("-- no headers\n")
            for path in ("/pets/prod/keyed", "/pets/prod/open"):  # warm every instance
                wrk(f"{url}{path}", CONNECTIONS, script)
            keyed, opened = [], []
            for _ in range(ROUNDS):
                run = wrk(f"{url}/pets/prod/open", CONNECTIONS, plain)
                assert run["errors"] == 0, run
                opened.append(run["rps"])
                run = wrk(f"{url}/pets/prod/keyed", CONNECTIONS, script)
                assert run["errors"] == 0, run
                keyed.append(run["rps"])
        finally:
            stop(proc)
    ratio = statistics.median(keyed) / statistics.median(opened)
    print(f"\nApi route with API key + usage plan vs without ({ROUNDS} interleaved rounds, wrk -c{CONNECTIONS}):")
    print(f"  without: median {statistics.median(opened):.0f} req/s  {[round(r) for r in opened]}")
    print(f"  keyed:   median {statistics.median(keyed):.0f} req/s  {[round(r) for r in keyed]}")
    print(f"  ratio keyed/without: {ratio:.2f} (target >= {TARGET})")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
