"""Tables benchmark: PutItem / GetItem / Query (and GSI puts and queries) through real DynamoDB-JSON HTTP requests.

Targets, side by side in one run, all driven by the same load generator, ``wrk`` (C, one thread,
a Lua script making the DynamoDB-JSON bodies; a Python client used to eat most of a core): Kumo
(``kumo up``, gateway router + durable partition processes) with 1 and 3 partitions, moto's server
mode (in memory), and the raw storage engine doing the same operations in-process (the ceiling;
durable puts group-committed ``--concurrency`` at a time, as the partition server does), and the
``hop-floor``: a proxy and a server doing no work (``bench/hop_floor.py``), Kumo's process topology
with nothing in it, to show how much of the gap to the raw engine is the hops themselves.

``PutGSI`` / ``QueryGSI`` use a second table, ``benchgsi``, with one GSI (``by-g``, partition key
``g``, 500 values, projection ALL): puts that maintain it, then ``Query`` with ``IndexName`` (Limit 10)
once the index holds every item (Kumo's GSIs are fed asynchronously; the wait is not timed). They run
for Kumo and moto (the raw engine and the hop floor have no GSIs; ``--no-gsi`` skips them).

Every target runs ``--rounds`` times (interleaved, so drifts in the machine's speed hit all of them)
and the median round is reported. For Kumo, the CPU each request costs in the gateway, the partition
servers and the load generator is measured too (``bench/process_cpu.py``); from it the report derives
the most that more partitions could add on this machine.

``--transactions``: TransactWriteItems instead (2 and 10 items, on one partition or spread over three;
``bench/transact_bench.py``), Kumo with 3 partitions beside moto, in the same run.

Run: ``.venv/bin/python bench/tables.py [--seconds 3] [--concurrency 32] [--rounds 3] [--only kumo-1p,moto]
[--baseline DIR]`` (DIR: another checkout, e.g. ``git archive HEAD | tar -x -C DIR``, measured in the same run).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_support import run_bench_script
from process_cpu import CpuMeter, scale_out_bound

HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    # moto picks the service and region from the credential scope; Kumo ignores it.
    "Authorization": "AWS4-HMAC-SHA256 Credential=kumo/20240101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0",
}
OPS = ("PutItem", "GetItem", "Query")
GSI_OPS = ("PutGSI", "QueryGSI")
PKS = 500
GSI_TABLE, GSI_NAME = "benchgsi", "by-g"
WRK = shutil.which("wrk") or "/usr/bin/wrk"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(url)


WRK_SCRIPT = r"""
local op, written, pks, pad = "%(op)s", %(written)d, %(pks)d, string.rep("x", 100)
local counter = 0
function init(args)
  math.randomseed(%(seed)d)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "%(content_type)s"
  wrk.headers["Authorization"] = "%(authorization)s"
  local target = op
  if op == "PutGSI" then target = "PutItem" elseif op == "QueryGSI" then target = "Query" end
  wrk.headers["X-Amz-Target"] = "DynamoDB_20120810." .. target
end
function request()
  local body
  if op == "PutGSI" then
    body = string.format('{"TableName":"%(gsi_table)s","Item":{"pk":{"S":"p%%d"},"sk":{"N":"%%d"},' ..
      '"g":{"S":"g%%d"},"v":{"S":"%%s"}}}', counter %% pks, counter, (counter * 7) %% pks, pad)
    counter = counter + 1
  elseif op == "QueryGSI" then
    local j = math.random(0, math.min(math.max(written, 1), pks) - 1)
    body = string.format('{"TableName":"%(gsi_table)s","IndexName":"%(gsi_name)s","KeyConditionExpression":' ..
      '"g = :g","ExpressionAttributeValues":{":g":{"S":"g%%d"}},"Limit":10}', j)
  elseif op == "PutItem" then
    body = string.format('{"TableName":"bench","Item":{"pk":{"S":"p%%d"},"sk":{"N":"%%d"},"v":{"S":"%%s"}}}',
      counter %% pks, counter, pad)
    counter = counter + 1
  else
    local j = math.random(0, math.max(written, 1) - 1)
    if op == "GetItem" then
      body = string.format('{"TableName":"bench","Key":{"pk":{"S":"p%%d"},"sk":{"N":"%%d"}}}', j %% pks, j)
    else
      body = string.format('{"TableName":"bench","KeyConditionExpression":"pk = :p",' ..
        '"ExpressionAttributeValues":{":p":{"S":"p%%d"}},"Limit":10}', j %% pks)
    end
  end
  return wrk.format(nil, nil, nil, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"ops":%%d,"elapsed_us":%%d,"non2xx":%%d,"socket_errors":%%d,' ..
    '"p50_us":%%d,"p99_us":%%d}\n', summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def run_client(url: str, op: str, seconds: float, concurrency: int, n_written: int) -> dict:
    """Drive ``op`` with ``wrk`` (one C thread; it needs a fraction of a core, so it is not the limit)."""
    script = WRK_SCRIPT % {
        "op": op,
        "written": n_written,
        "pks": PKS,
        "seed": random.randrange(2**31),
        "content_type": HEADERS["Content-Type"],
        "authorization": HEADERS["Authorization"],
        "gsi_table": GSI_TABLE,
        "gsi_name": GSI_NAME,
    }
    return run_bench_script(WRK, script, url, seconds, concurrency)


def summary(latencies: list[float], elapsed: float, errors: int = 0) -> dict:
    latencies.sort()
    n = len(latencies)
    return {
        "ops": n,
        "ops_s": n / elapsed if elapsed else 0.0,
        "p50_ms": latencies[n // 2] * 1000 if n else 0.0,
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0,
        "errors": errors,
    }


def call(url: str, operation: str, body: dict) -> dict:
    import httpx

    resp = httpx.post(url, json=body, headers={**HEADERS, "X-Amz-Target": f"DynamoDB_20120810.{operation}"}, timeout=60)
    resp.raise_for_status()
    return resp.json()


def create_gsi_table(url: str, partitions: int | None) -> None:
    body = {
        "TableName": GSI_TABLE,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [
            {
                "IndexName": GSI_NAME,
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }
    if partitions:
        body["Tags"] = [{"Key": "kumo:partitions", "Value": str(partitions)}]
    call(url, "CreateTable", body)


def wait_gsi(url: str, items: int, timeout_s: float = 120) -> float:
    """Seconds until Kumo's GSI holds ``items`` entries (DescribeTable ``ItemCount``, live from the partitions)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        table = call(url, "DescribeTable", {"TableName": GSI_TABLE})["Table"]
        if table["GlobalSecondaryIndexes"][0].get("ItemCount", 0) >= items:
            return time.monotonic() - started
        time.sleep(0.05)
    raise TimeoutError(f"the GSI did not reach {items} entries in {timeout_s} s")


def create_table(url: str, partitions: int | None) -> None:
    import httpx

    body = {
        "TableName": "bench",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if partitions:
        body["Tags"] = [{"Key": "kumo:partitions", "Value": str(partitions)}]
    resp = httpx.post(url, json=body, headers={**HEADERS, "X-Amz-Target": "DynamoDB_20120810.CreateTable"}, timeout=60)
    resp.raise_for_status()


def bench_target(
    url: str,
    seconds: float,
    concurrency: int,
    meter: CpuMeter | None = None,
    gsi: bool = False,
    kumo: bool = True,
) -> dict[str, dict]:
    """PutItem, then GetItem and Query over what was written (with ``gsi``: PutGSI, then QueryGSI once
    the index holds every item, on ``benchgsi``); with ``meter``, CPU per request too."""
    results: dict[str, dict] = {}
    written = 0
    for op in OPS + (GSI_OPS if gsi else ()):
        if op == "QueryGSI" and kumo:
            catch_up = wait_gsi(url, written)
        before = meter.snapshot() if meter is not None else None
        results[op] = run_client(url, op, seconds, concurrency, written)
        if meter is not None and before is not None:
            results[op]["cpu_us"] = meter.per_request(before, meter.snapshot(), results[op]["ops"])
        if op in ("PutItem", "PutGSI"):
            written = results[op]["ops"]
        if op == "QueryGSI" and kumo:
            results[op]["catch_up_s"] = catch_up
    return results


def checkout_env(root: Path) -> dict[str, str]:
    """The environment that makes ``python -m kumo_cli`` import Kumo from another checkout (A/B runs)."""
    folders = ("cli", "gateway", "operator", "tablestore", "runtime-images/python")
    dirs = [root, *(root / folder for folder in folders)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(str(d) for d in dirs)}


def _has_auth(root: Path) -> bool:
    main = root / "cli" / "kumo_cli" / "main.py"
    return main.is_file() and "insecure-no-auth" in main.read_text()


def cli_module(root: Path | None) -> str:
    """The ``kumo`` command's module in a checkout (``kumo.cli`` before the CLI had its own package)."""
    return "kumo.cli" if root is not None and not (root / "cli").is_dir() else "kumo_cli"


def bench_kumo(
    partitions: int, seconds: float, concurrency: int, root: Path | None = None, gsi: bool = False
) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = subprocess.Popen(
            # unsigned load (this bench measures the tables); checkouts before authentication lack the flag
            [sys.executable, "-m", cli_module(root), "up", "--port", str(port), "--state-dir", tmp]
            + ([] if root is not None and not _has_auth(root) else ["--insecure-no-auth"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=checkout_env(root) if root is not None else None,
            cwd=root,  # `python -m` puts the working directory first on sys.path
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", proc)
            create_table(f"http://127.0.0.1:{port}/", partitions)
            if gsi:
                create_gsi_table(f"http://127.0.0.1:{port}/", partitions)
            return bench_target(f"http://127.0.0.1:{port}/", seconds, concurrency, CpuMeter(proc.pid), gsi=gsi)
        finally:
            stop(proc)


def bench_transactions(target: str, seconds: float, concurrency: int) -> dict[str, dict]:
    """TransactWriteItems on ``kumo-3p`` or ``moto`` (``bench/transact_bench.py``)."""
    from transact_bench import run_transactions

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        if target == "moto":
            argv, health = [sys.executable, "-m", "moto.server", "-p", str(port)], "/moto-api/"
        else:
            argv = [sys.executable, "-m", cli_module(None), "up", "--port", str(port), "--state-dir", tmp]
            argv, health = [*argv, "--insecure-no-auth"], "/healthz"
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(f"http://127.0.0.1:{port}{health}", proc)
            create_table(f"http://127.0.0.1:{port}/", None if target == "moto" else 3)
            return run_transactions(f"http://127.0.0.1:{port}/", seconds, concurrency, WRK, HEADERS["Authorization"])
        finally:
            stop(proc)


def bench_moto(seconds: float, concurrency: int, gsi: bool = False) -> dict[str, dict]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/moto-api/", proc)
        create_table(f"http://127.0.0.1:{port}/", None)
        if gsi:
            create_gsi_table(f"http://127.0.0.1:{port}/", None)
        return bench_target(f"http://127.0.0.1:{port}/", seconds, concurrency, gsi=gsi, kumo=False)
    finally:
        stop(proc)


def bench_raw(seconds: float, concurrency: int) -> dict[str, dict]:
    """The same operations on the storage engine directly, in-process (the ceiling).

    Puts are durable and committed ``concurrency`` at a time (``write_many``), which is what the
    partition's group commit does with that many clients; reads run one at a time.
    """
    from kumo_tablestore import keys, storage
    from kumo_tablestore.storage import WriteOp

    def key(i: int) -> bytes:
        return keys.table_key(keys.encode_value({"S": f"p{i % PKS}"}), keys.encode_value({"N": str(i)}))

    def put(i: int) -> list[WriteOp]:
        return [WriteOp.put(key(i), {"pk": {"S": f"p{i % PKS}"}, "sk": {"N": str(i)}, "v": {"S": "x" * 100}})]

    results = {}
    with tempfile.TemporaryDirectory() as tmp, storage.open(Path(tmp), durability="full") as engine:
        n = 0
        for op in OPS:
            latencies: list[float] = []
            deadline = time.perf_counter() + seconds
            started = time.perf_counter()
            i = 0
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                if op == "PutItem":
                    engine.write_many([(put(j), []) for j in range(i, i + concurrency)])
                    latencies += [time.perf_counter() - t0] * concurrency
                    i += concurrency
                    continue
                if op == "GetItem":
                    engine.get(key(random.randrange(n)))
                else:
                    prefix = keys.partition_prefix(keys.encode_value({"S": f"p{random.randrange(PKS)}"}))
                    for _, _raw in zip(range(10), engine.query(prefix), strict=False):
                        pass
                latencies.append(time.perf_counter() - t0)
                i += 1
            results[op] = summary(latencies, time.perf_counter() - started)
            if op == "PutItem":
                n = i
    return results


def bench_hop_floor(seconds: float, concurrency: int) -> dict[str, dict]:
    """GetItem-shaped requests through ``bench/hop_floor.py`` (proxy + server doing no work)."""
    script = str(Path(__file__).with_name("hop_floor.py"))
    port, upstream = free_port(), free_port()
    procs = [subprocess.Popen([sys.executable, script, "server", str(upstream)], stdout=subprocess.PIPE, text=True)]
    try:
        procs[0].stdout.readline()  # type: ignore[union-attr]
        proxy = [sys.executable, script, "proxy", str(port), str(upstream)]
        procs.append(subprocess.Popen(proxy, stdout=subprocess.PIPE, text=True))
        procs[1].stdout.readline()  # type: ignore[union-attr]
        return {"GetItem": run_client(f"http://127.0.0.1:{port}/", "GetItem", seconds, concurrency, 1000)}
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def median_results(rounds: list[dict[str, dict]]) -> dict[str, dict]:
    """Per operation, the round with the median ops/s (the machine's speed drifts between runs)."""
    out: dict[str, dict] = {}
    for op in rounds[0]:
        ranked = sorted((r[op] for r in rounds if op in r), key=lambda r: r["ops_s"])
        out[op] = ranked[len(ranked) // 2]
    return out


def print_table(results: dict[str, dict[str, dict]], args: argparse.Namespace) -> None:
    print(
        f"tables benchmark: {args.seconds:.0f} s per operation, {args.concurrency} concurrent clients, "
        f"{os.cpu_count()} cores, median of {args.rounds} rounds"
    )
    print(f"{'target':<12}{'op':<10}{'ops/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}  CPU us/request")
    for target, ops in results.items():
        for op, r in ops.items():
            cpu = "  ".join(f"{k} {v:.0f}" for k, v in r.get("cpu_us", {}).items())
            figures = f"{r['ops_s']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['errors']:>8}"
            lag = f"  (index caught up {r['catch_up_s']:.1f} s after the puts)" if "catch_up_s" in r else ""
            print(f"{target:<12}{op:<10}{figures}  {cpu}{lag}")


def print_ratios(results: dict[str, dict[str, dict]], base: bool) -> None:
    print("ratios (ops/s):")
    for op in OPS:
        k1, k3 = results["kumo-1p"][op]["ops_s"], results["kumo-3p"][op]["ops_s"]
        moto, raw = results["moto"][op]["ops_s"] or 1, results["raw-engine"][op]["ops_s"] or 1
        best = max(k1, k3)
        print(
            f"  {op:<9} kumo/moto {best / moto:5.1f}x (target >= 5x)   kumo/raw {best / raw:6.1%} (target >= 33%)   "
            f"3p/1p {k3 / (k1 or 1):4.2f}x (target >= 1.7x)"
        )
        if base:
            b1, b3 = results["base-1p"][op]["ops_s"] or 1, results["base-3p"][op]["ops_s"] or 1
            print(f"  {op:<9} now/baseline: 1p {k1 / b1:4.2f}x, 3p {k3 / b3:4.2f}x")
    for op in GSI_OPS:
        if op in results["kumo-1p"] and op in results["moto"]:
            k1, k3 = results["kumo-1p"][op]["ops_s"], results["kumo-3p"][op]["ops_s"]
            moto = results["moto"][op]["ops_s"] or 1
            print(f"  {op:<9} kumo/moto {max(k1, k3) / moto:5.1f}x (target >= 5x)   3p/1p {k3 / (k1 or 1):4.2f}x")
    print("most any number of partitions could give over 1 partition here (CPU per request of the 1p run):")
    for op in OPS:
        one = results["kumo-1p"][op]
        if "cpu_us" in one:
            bound = scale_out_bound(one["cpu_us"], one["ops_s"], os.cpu_count() or 1)
            total = sum(one["cpu_us"].values())
            busy = one["ops_s"] * total / 1e6 / (os.cpu_count() or 1)
            print(f"  {op:<9} <= {bound:4.2f}x  (1p run: {total:.0f} us CPU per request, {busy:.0%} of all cores busy)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="runs of every target, interleaved; medians reported")
    parser.add_argument("--only", default="kumo-1p,kumo-3p,moto,raw-engine,hop-floor", help="comma-separated targets")
    parser.add_argument(
        "--baseline", type=Path, help="another checkout (e.g. `git archive` of an older commit) to run as base-1p/3p"
    )
    parser.add_argument("--no-gsi", action="store_true", help="skip PutGSI/QueryGSI (the benchgsi table)")
    parser.add_argument("--transactions", action="store_true", help="TransactWriteItems: kumo-3p beside moto")
    args = parser.parse_args()
    if args.transactions:
        return transactions_main(args)
    gsi = not args.no_gsi
    runners = {
        "kumo-1p": lambda: bench_kumo(1, args.seconds, args.concurrency, gsi=gsi),
        "kumo-3p": lambda: bench_kumo(3, args.seconds, args.concurrency, gsi=gsi),
        "moto": lambda: bench_moto(args.seconds, args.concurrency, gsi=gsi),
        "raw-engine": lambda: bench_raw(args.seconds, args.concurrency),
        "hop-floor": lambda: bench_hop_floor(args.seconds, args.concurrency),
    }
    selected = {name: runners[name] for name in args.only.split(",")}
    if args.baseline is not None:
        selected["base-1p"] = lambda: bench_kumo(1, args.seconds, args.concurrency, args.baseline)
        selected["base-3p"] = lambda: bench_kumo(3, args.seconds, args.concurrency, args.baseline)
    rounds: dict[str, list[dict[str, dict]]] = {name: [] for name in selected}
    for _ in range(max(1, args.rounds)):
        for name, run in selected.items():
            rounds[name].append(run())
    results = {name: median_results(runs) for name, runs in rounds.items()}
    print_table(results, args)
    if "hop-floor" in results and "raw-engine" in results:
        floor, raw = results["hop-floor"]["GetItem"]["ops_s"], results["raw-engine"]["GetItem"]["ops_s"] or 1
        print(
            f"two-hop floor (no work): {floor:.0f} GetItem/s = {floor / raw:.1%} of the raw engine: "
            "the most Kumo's process topology can reach on this machine"
        )
    if set(runners) <= set(results):
        print_ratios(results, args.baseline is not None)
    return 0


def transactions_main(args: argparse.Namespace) -> int:
    rounds: dict[str, list[dict[str, dict]]] = {"kumo-3p": [], "moto": []}
    for _ in range(max(1, args.rounds)):
        for target in rounds:
            rounds[target].append(bench_transactions(target, args.seconds, args.concurrency))
    results = {name: median_results(runs) for name, runs in rounds.items()}
    print_table(results, args)
    print("ratios (ops/s):")
    for op, r in results["kumo-3p"].items():
        print(f"  {op:<12} kumo/moto {r['ops_s'] / (results['moto'][op]['ops_s'] or 1):5.1f}x (target >= 5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
