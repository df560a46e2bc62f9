"""Invoke benchmark (``make bench``): warm invocations through the gateway vs directly against an
instance's invoke endpoint vs a bare ASGI echo (the ceiling), warm invocations through an alias with a
90/10 routing configuration vs ``$LATEST`` of the same function, and cold-start latency: of a hello
function, and of a function whose package carries a ~10 MB dependency set (``code.path``, built into
the content-addressed package cache) against a hello in the same run, interleaved — the dependency must
cost no more than its own import (no per-start copy or unpack). ``--cold-only`` runs just the cold starts.

The alias comparison is noisy on a shared machine, so it runs ``--rounds`` (default 5) rounds per
concurrency, interleaved (``$LATEST``, alias, then alias, ``$LATEST``, … so a drift in the machine's
speed hits both), and reports the medians and the median of the per-round ratios. ``--alias-only`` runs
just that comparison. Run: ``.venv/bin/python bench/invoke.py [--rounds 5] [--alias-only]``.

Load comes from ``wrk`` (Debian package) in its own process; everything runs on 127.0.0.1 and
every process started here is stopped here. Figures are printed as ratios against the baselines
measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
# start, stop, wrk and DURATION_S are imported from here by the other benches too.
from bench_support import (
    DURATION_S,
    ROOT,
    free_port,
    interleaved,
    p99,
    paired_medians,
    start,
    stop,
    write_post_script,
    wrk,
)

HELLO = (ROOT / "examples/hello/function.yaml").read_text()
PAYLOAD = '{"name": "bench"}'
CONCURRENCY = [1, 4, 16]
COLD_SAMPLES = int(os.environ.get("BENCH_COLD_SAMPLES", "25"))
SPLIT_SAMPLES = 200  # invocations of split:live counted by executed version before the wrk runs


def cold_starts(url: str, idle_s: float) -> list[float]:
    samples = []
    with httpx.Client(timeout=30) as client:
        for _ in range(COLD_SAMPLES):
            time.sleep(idle_s + 0.4)  # let the reaper stop the instance (scale to zero)
            began = time.perf_counter()
            response = client.post(url, content=PAYLOAD)
            elapsed = (time.perf_counter() - began) * 1000
            body = response.json()
            if response.status_code != 200 or body.get("count") != 1:
                raise RuntimeError(f"expected a cold start, got {response.status_code} {body}")
            samples.append(elapsed)
    return samples


#: The generated dependency: a small package importing a few modules, beside ~10 MB of data files and
#: modules it does not import (as real dependency sets are: botocore's JSON, unused submodules).
DEP_MODULES, DEP_DATA_FILES, DEP_FILE_BYTES = 20, 36, 256 * 1024


def write_heavy_function(root: Path) -> int:
    """``root``: app.py + bigdep/ (~10 MB); the total bytes written."""
    dep = root / "bigdep"
    (dep / "data").mkdir(parents=True)
    total = 0
    for i in range(DEP_MODULES):
        text = f"NAME = 'mod{i}'\n" + "".join(f"def f{j}(x):\n    return x + {j}\n" for j in range(200))
        total += (dep / f"mod{i}.py").write_text(text)
    for i in range(DEP_DATA_FILES):
        total += (dep / "data" / f"blob{i}.bin").write_bytes(os.urandom(DEP_FILE_BYTES))
    total += (dep / "__init__.py").write_text("from bigdep import mod0, mod1, mod2\n")
    total += (root / "app.py").write_text(
        "import time\n_t = time.perf_counter()\nimport bigdep\nIMPORT_MS = (time.perf_counter() - _t) * 1000\n"
        "COUNT = 0\n\ndef handler(event, context):\n    global COUNT\n    COUNT += 1\n"
        "    return {'count': COUNT, 'import_ms': IMPORT_MS}\n"
    )
    return total


def paired_cold_starts(urls: dict[str, str], idle_s: float) -> tuple[dict[str, list[float]], list[float]]:
    """Cold-start latency of each function, alternating which goes first; the heavy one's import times."""
    samples: dict[str, list[float]] = {name: [] for name in urls}
    imports: list[float] = []
    with httpx.Client(timeout=60) as client:
        for i in range(COLD_SAMPLES):
            order = list(urls) if i % 2 == 0 else list(reversed(urls))
            time.sleep(idle_s + 0.4)  # let the reaper stop both instances (scale to zero)
            for name in order:
                began = time.perf_counter()
                response = client.post(urls[name], content=PAYLOAD)
                elapsed = (time.perf_counter() - began) * 1000
                body = response.json()
                if response.status_code != 200 or body.get("count") != 1:
                    raise RuntimeError(f"{name}: expected a cold start, got {response.status_code} {body}")
                samples[name].append(elapsed)
                if "import_ms" in body:
                    imports.append(body["import_ms"])
    return samples, imports


def alias_rounds(latest: str, alias: str, c: int, script: Path, rounds: int) -> dict[str, list[float]]:
    """Req/s of ``$LATEST`` and the alias, ``rounds`` each, interleaved and alternating which goes first."""
    urls = {"$LATEST": latest, "live": alias}
    return interleaved(rounds, "$LATEST", "live", lambda name: wrk(urls[name], c, script)["rps"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the alias comparison (medians)")
    parser.add_argument("--alias-only", action="store_true", help="run only the alias vs $LATEST comparison")
    parser.add_argument("--cold-only", action="store_true", help="run only the cold starts (hello and 10 MB deps)")
    args = parser.parse_args()
    rounds = max(1, args.rounds)
    if not shutil.which("wrk") and not args.cold_only:
        print("bench/invoke.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="kumo-bench-"))
    script = write_post_script(work / "post.lua", PAYLOAD)
    hello = yaml.safe_load(HELLO)
    cold = json.loads(json.dumps(hello))
    cold["metadata"]["name"] = "cold"
    cold["spec"]["code"]["inline"]["app.py"] = (
        "COUNT = 0\n\ndef handler(event, context):\n    global COUNT\n    COUNT += 1\n    return {'count': COUNT}\n"
    )
    cold["spec"]["scaling"]["idleTimeout"] = "200ms"
    # "split": hello's code with versions 1 and 2 (spec.publish; RELEASE differs) and alias live, 90/10.
    # Version 1 comes from a first start of kumo up over the same state dir (as in examples/shop).
    split_v1 = json.loads(json.dumps(hello))
    split_v1["metadata"]["name"] = "split"
    split_v1["spec"].update(publish=True, environment={"RELEASE": "1"})
    split = json.loads(json.dumps(split_v1))
    split["spec"]["environment"]["RELEASE"] = "2"
    split["spec"]["aliases"] = {"live": {"version": 1, "routing": {"2": 0.1}}}
    (work / "split-v1").mkdir()
    (work / "split-v1" / "manifests.yaml").write_text(yaml.safe_dump_all([split_v1]))
    heavy_bytes = write_heavy_function(work / "heavy")
    heavy = json.loads(json.dumps(cold))
    heavy["metadata"]["name"] = "heavy"
    heavy["spec"]["code"] = {"path": "heavy"}  # relative to manifests.yaml: built once into the package cache
    (work / "manifests.yaml").write_text(yaml.safe_dump_all([hello, cold, heavy, split]))
    code_dir = work / "code"
    code_dir.mkdir()
    (code_dir / "app.py").write_text(hello["spec"]["code"]["inline"]["app.py"])

    procs: list[subprocess.Popen] = []
    try:
        echo_port, gw_port, direct_port = free_port(), free_port(), free_port()
        echo_url = f"http://127.0.0.1:{echo_port}/"
        procs.append(start([sys.executable, "bench/echo_app.py", str(echo_port)], echo_url, work / "echo.log"))
        gw = f"http://127.0.0.1:{gw_port}"
        # Unsigned wrk load: this bench measures the invoke path; bench/gateway.py prices authentication.
        up = [
            sys.executable, "-m", "kumo_cli", "up", "--insecure-no-auth", "--port", str(gw_port),
            "--state-dir", str(work / "state"),
        ]  # fmt: skip
        stop(start([*up, str(work / "split-v1")], f"{gw}/healthz", work / "up-v1.log"))  # publishes split 1
        procs.append(
            start(
                [
                    sys.executable,
                    "-m",
                    "kumo_cli",
                    "up",
                    "--insecure-no-auth",
                    str(work / "manifests.yaml"),
                    "--port",
                    str(gw_port),
                    "--state-dir",
                    str(work / "state"),
                ],
                f"{gw}/healthz",
                work / "up.log",
            )
        )
        direct = f"http://127.0.0.1:{direct_port}"
        procs.append(
            start(
                [
                    sys.executable,
                    "-m",
                    "kumo_cli",
                    "runtime",
                    "--function-name",
                    "hello",
                    "--handler",
                    "app.handler",
                    "--runtime",
                    hello["spec"]["runtime"],
                    "--code-dir",
                    str(code_dir),
                    "--port",
                    str(direct_port),
                ],
                f"{direct}/healthz",
                work / "direct.log",
            )
        )
        gw_invoke = f"{gw}/2015-03-31/functions/hello/invocations"
        direct_invoke = f"{direct}/2015-03-31/functions/function/invocations"
        httpx.post(gw_invoke, content=PAYLOAD, timeout=30).raise_for_status()  # warm up
        httpx.post(direct_invoke, content=PAYLOAD, timeout=30).raise_for_status()
        latest_invoke = f"{gw}/2015-03-31/functions/split/invocations"
        alias_invoke = f"{gw}/2015-03-31/functions/split:live/invocations"
        for qualifier in ("$LATEST", "1", "2"):  # warm up one instance of each version
            response = httpx.post(latest_invoke, params={"Qualifier": qualifier}, content=PAYLOAD, timeout=30)
            response.raise_for_status()
            if response.headers["x-amz-executed-version"] != qualifier:
                raise RuntimeError(f"split:{qualifier} ran {response.headers['x-amz-executed-version']}")
        executed = [
            httpx.post(alias_invoke, content=PAYLOAD, timeout=30).headers["x-amz-executed-version"]
            for _ in range(SPLIT_SAMPLES)
        ]

        results: dict[tuple[str, int], dict[str, float]] = {}
        cold_urls = {name: f"{gw}/2015-03-31/functions/{name}/invocations" for name in ("cold", "heavy")}
        if args.cold_only:
            paired, imports = paired_cold_starts(cold_urls, 0.2)
            report_heavy(paired, imports, heavy_bytes)
            return 0
        splits = {c: alias_rounds(latest_invoke, alias_invoke, c, script, rounds) for c in CONCURRENCY}
        if not args.alias_only:
            for c in CONCURRENCY:
                results[("echo", c)] = wrk(echo_url, c, script)
                results[("gateway", c)] = wrk(gw_invoke, c, script)
            # One instance takes one invocation at a time, so the direct endpoint is measured at c=1.
            results[("direct", 1)] = wrk(direct_invoke, 1, script)
            colds = cold_starts(f"{gw}/2015-03-31/functions/cold/invocations", 0.2)
            paired, imports = paired_cold_starts(cold_urls, 0.2)
    finally:
        for proc in reversed(procs):
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nAlias live (90 % version 1, 10 % version 2) vs $LATEST of the same function, {rounds} interleaved")
    print(f"rounds of {DURATION_S}s per target and concurrency (wrk -t1); req/s medians, ratio target >= 0.95")
    print(f"{'conc':>5}{'$LATEST':>10}{'live':>10}{'ratio':>8}{'paired':>8}   per-round live/$LATEST")
    for c, runs in splits.items():
        live, latest, ratios = paired_medians(runs["live"], runs["$LATEST"])
        listed = " ".join(f"{r:.2f}" for r in ratios)
        print(f"{c:>5}{latest:>10.0f}{live:>10.0f}{live / latest:>8.2f}{statistics.median(ratios):>8.2f}   {listed}")
    share = executed.count("2") / len(executed)
    print(f"  split:live ran version 2 in {share:.0%} of {len(executed)} invocations (weight 10 %)")
    if args.alias_only:
        return 0
    print(
        f"\nWarm invocations ({DURATION_S}s per run, wrk -t1, payload {len(PAYLOAD)} B): gateway and direct run hello"
    )
    print(f"{'target':<10}{'conc':>5}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for (target, c), r in results.items():
        print(f"{target:<10}{c:>5}{r['rps']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['errors']:>8}")
    print("\nRatios")
    for c in CONCURRENCY:
        ratio = results[("gateway", c)]["rps"] / results[("echo", c)]["rps"]
        print(f"  gateway / bare echo throughput at c={c}: {ratio:.2f}  (target >= 0.50)")
    added = results[("gateway", 1)]["p50"] - results[("direct", 1)]["p50"]
    print(f"  gateway p50 - direct p50 at c=1: {added:+.2f} ms  (target <= 1 ms)")
    colds.sort()
    p50 = statistics.median(colds)
    print(f"\nCold start (request -> response, no instance running), {len(colds)} samples:")
    print(f"  p50 {p50:.1f} ms  p99 {p99(colds):.1f} ms  min {colds[0]:.1f} ms  (target p50 <= 100 ms, goal 50 ms)")
    print(f"  cold p50 / warm gateway p50 at c=1: {p50 / results[('gateway', 1)]['p50']:.1f}x")
    report_heavy(paired, imports, heavy_bytes)
    return 0


def report_heavy(paired: dict[str, list[float]], imports: list[float], heavy_bytes: int) -> None:
    hello_p50, heavy_p50 = statistics.median(paired["cold"]), statistics.median(paired["heavy"])
    import_p50 = statistics.median(imports)
    extra = heavy_p50 - hello_p50
    print(f"\nCold start with a {heavy_bytes / 1e6:.1f} MB dependency set vs hello, {len(paired['cold'])} interleaved")
    print("samples each (the first of each includes the function's one-time sandbox link of its package):")
    print(f"  hello  p50 {hello_p50:.1f} ms  first {paired['cold'][0]:.1f} ms")
    print(f"  heavy  p50 {heavy_p50:.1f} ms  first {paired['heavy'][0]:.1f} ms")
    print(f"  heavy / hello p50: {heavy_p50 / hello_p50:.2f}x; extra {extra:+.1f} ms vs the import itself")
    print(f"  {import_p50:.1f} ms (p50 measured in the function): target extra <= import + noise")


if __name__ == "__main__":
    raise SystemExit(main())
