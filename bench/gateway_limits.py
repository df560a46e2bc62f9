"""Usage-plan benchmark (``make bench``): warm requests to an Api route with ``apiKeyRequired`` and a
usage plan (throttle + quota, limits far above the load, so every request runs the Redis script and
passes) vs the same function on a route without, in the same ``kumo up`` (its private Redis).

Load comes from ``wrk``; the two routes are measured in interleaved rounds (A B B A …) and compared
by the median of the per-round ratios keyed / open (each round's two runs back to back, so a drift in
a shared machine's speed moves it least), target >= 0.85; the ratio of the medians is printed too.
Each round also measures CPU per request (from ``/proc``): the gateway process, its descendants (the
private Redis, the function runtimes) and wrk; their totals' ratio (open / keyed) is what the
throughput ratio would be on a machine that nothing else shares, which the wall-clock ratio is not
when other work competes for the cores. Everything runs on 127.0.0.1; every process started here is
stopped here.
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
from bench_support import paired_medians  # noqa: E402
from invoke import DURATION_S, start, stop, wrk  # noqa: E402
from process_cpu import children, cpu_seconds, print_cpu_per_request, waited_children_seconds  # noqa: E402
from support import free_port  # noqa: E402

from kumo_gateway.auth.admin_token import ADMIN_TOKEN_FILE  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "8"))
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


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        found += kids
        todo += kids
    return found


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def measured(pid: int, url: str, script: Path) -> tuple[dict[str, float], dict[str, float]]:
    """One wrk round: its figures and the CPU microseconds per request of each process group."""

    def snapshot() -> dict[str, float]:
        kids = descendants(pid)
        redis = [c for c in kids if _name(c) == "redis-server"]
        return {
            "gateway": cpu_seconds(pid),
            "redis": sum(cpu_seconds(c) for c in redis),
            "runtimes": sum(cpu_seconds(c) for c in kids if c not in redis),
            "wrk": waited_children_seconds(),
        }

    before = snapshot()
    run = wrk(url, CONNECTIONS, script)
    after = snapshot()
    requests = max(run["rps"] * DURATION_S, 1.0)
    return run, {name: (after[name] - before[name]) / requests * 1e6 for name in before}


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
            cpu: dict[str, list[dict[str, float]]] = {"open": [], "keyed": []}
            series = {
                "open": (f"{url}/pets/prod/open", plain, opened),
                "keyed": (f"{url}/pets/prod/keyed", script, keyed),
            }
            for i in range(ROUNDS):  # A B B A …: neither side always runs first
                for side in ("open", "keyed") if i % 4 in (0, 3) else ("keyed", "open"):
                    target, lua, rps = series[side]
                    run, used = measured(proc.pid, target, lua)
                    assert run["errors"] == 0, run
                    rps.append(run["rps"])
                    cpu[side].append(used)
        finally:
            stop(proc)
    k, o, ratios = paired_medians(keyed, opened)
    ratio = statistics.median(ratios)
    print(f"\nApi route with API key + usage plan vs without ({ROUNDS} interleaved rounds, wrk -c{CONNECTIONS}):")
    print(f"  without: median {o:.0f} req/s  {[round(r) for r in opened]}")
    print(f"  keyed:   median {k:.0f} req/s  {[round(r) for r in keyed]}")
    print(f"  keyed/without: ratio of medians {k / o:.2f}; per round {[round(r, 2) for r in ratios]}")
    print(f"  keyed/without, median of the per-round ratios: {ratio:.2f} (target >= {TARGET})")
    totals = print_cpu_per_request(cpu)
    cpu_ratio = totals["open"] / totals["keyed"]
    print(f"  CPU ratio without/keyed (throughput ratio on an unshared machine): {cpu_ratio:.2f}")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
