"""What concurrency leases cost per invocation: warm invocations of hello through two ``kumo up``
gateways, one counting leases (the default account limit) and one with ``--concurrency-limit 0`` (no
leases), in interleaved rounds (with, without, then without, with, …) so a drift in the machine's speed
hits both. Reports req/s and p50 medians and the median of the per-round ratios (with / without).

Run: ``.venv/bin/python bench/leases.py [--rounds 3]`` (``BENCH_DURATION`` seconds per run, default 5).
Uses bench/bench_support.py (wrk in its own process, interleaved rounds); every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_support import DURATION_S, free_port, interleaved, paired_medians, start, stop, write_post_script, wrk
from invoke import HELLO, PAYLOAD

CONCURRENCY = [1, 4, 16]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("bench/leases.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="kumo-bench-leases-"))
    script = write_post_script(work / "post.lua", PAYLOAD)
    (work / "manifests.yaml").write_text(HELLO)
    procs = []
    runs: dict[int, dict[str, list[dict[str, float]]]] = {}
    try:
        urls = {}
        for label, extra in (("with", []), ("without", ["--concurrency-limit", "0"])):
            port = free_port()
            gw = f"http://127.0.0.1:{port}"
            up = [
                sys.executable, "-m", "kumo_cli", "up", "--insecure-no-auth", str(work / "manifests.yaml"),
                "--port", str(port), "--state-dir", str(work / f"state-{label}"), *extra,
            ]  # fmt: skip
            procs.append(start(up, f"{gw}/healthz", work / f"up-{label}.log"))
            urls[label] = f"{gw}/2015-03-31/functions/hello/invocations"
            for _ in range(20):  # warm up an instance per gateway
                httpx.post(urls[label], content=PAYLOAD, timeout=30).raise_for_status()
        for c in CONCURRENCY:
            runs[c] = interleaved(args.rounds, "with", "without", lambda label, c=c: wrk(urls[label], c, script))
    finally:
        for proc in reversed(procs):
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nWarm invocations of hello, with leases vs --concurrency-limit 0 (no leases), {args.rounds} interleaved")
    print(f"rounds of {DURATION_S}s per gateway and concurrency (wrk -t1); medians")
    print(f"{'conc':>5}{'with r/s':>10}{'w/o r/s':>10}{'ratio':>8}{'paired':>8}{'p50 with':>10}{'p50 w/o':>10}")
    for c, both in runs.items():
        rps = {label: [x["rps"] for x in both[label]] for label in both}
        with_rps, without_rps, ratios = paired_medians(rps["with"], rps["without"])
        per_round = statistics.median(ratios)
        p50w = statistics.median(x["p50"] for x in both["with"])
        p50o = statistics.median(x["p50"] for x in both["without"])
        errors = sum(x["errors"] for x in both["with"] + both["without"])
        print(
            f"{c:>5}{with_rps:>10.0f}{without_rps:>10.0f}{with_rps / without_rps:>8.2f}{per_round:>8.2f}"
            f"{p50w:>9.2f}ms{p50o:>8.2f}ms" + (f"  ({errors} non-2xx)" if errors else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
