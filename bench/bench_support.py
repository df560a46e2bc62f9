"""What the benchmarks share: starting and stopping their processes (``kumo up`` above all), a work dir a
sandboxed function may write into, the access key ``kumo up`` created, ``wrk`` runs and their POST
script, interleaved rounds of two targets, and percentiles. Every process started is stopped by the
bench that started it (:func:`stop`, in a ``finally``)."""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support import free_port, wait_http  # noqa: E402

from kumo.access_keys import AccessKey  # noqa: E402

#: Seconds of each ``wrk`` run.
DURATION_S = int(os.environ.get("BENCH_DURATION", "5"))
T = TypeVar("T")


def start(args: list[str], url: str, log: Path, timeout_s: float = 30) -> subprocess.Popen:
    """Start ``args`` (in the repository root, output to ``log``) and wait until ``url`` answers."""
    proc = subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT)
    wait_http(url, proc=proc, timeout_s=timeout_s)
    return proc


def stop(proc: subprocess.Popen, timeout_s: float = 15) -> None:
    """SIGTERM and wait; SIGKILL if it outlives ``timeout_s``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def shared_work_dir(prefix: str) -> tuple[Path, Path]:
    """A fresh work dir and its ``shared/``: a folder the function may write (``kumo up`` as root runs it
    as a sandbox uid)."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    shared = work / "shared"
    shared.mkdir()
    os.chmod(work, 0o711)
    os.chmod(shared, 0o1777)
    return work, shared


def kumo_up(
    manifests: Path, state: Path, log: IO[bytes], extra: Sequence[str] = (), timeout_s: float = 30
) -> tuple[subprocess.Popen, str]:
    """``kumo up manifests`` on a free port (no manifest watching), once ``/healthz`` answers: the process
    and its base URL. On a failed start the process is stopped before the error is raised."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kumo_cli", "up", str(manifests), "--port", str(port), "--state-dir", str(state),
         "--watch-interval", "0", *extra],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_http(f"{base}/healthz", proc=proc, timeout_s=timeout_s)
    except BaseException:
        stop(proc)
        raise
    return proc, base


def default_key(state: Path) -> AccessKey:
    """The access key ``kumo up`` created in ``state`` (its default one)."""
    from kumo_gateway.auth.local_store import DEFAULT_KEY_NAME, read_keys

    return next(k for k in read_keys(state) if k.name == DEFAULT_KEY_NAME)


def write_post_script(path: Path, payload: str) -> Path:
    """A ``wrk`` script POSTing ``payload`` as JSON."""
    path.write_text(f"wrk.method = 'POST'\nwrk.body = '{payload}'\nwrk.headers['Content-Type'] = 'application/json'\n")
    return path


def wrk(url: str, connections: int, script: Path) -> dict[str, float]:
    """One ``wrk -t1`` run of :data:`DURATION_S`: req/s, p50 and p99 (ms), non-2xx/3xx answers."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{DURATION_S}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=DURATION_S + 60,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": pct("50"), "p99": pct("99"), "errors": int(errors.group(1)) if errors else 0}


def interleaved(rounds: int, first: str, second: str, run: Callable[[str], T]) -> dict[str, list[T]]:
    """``run(label)`` for both labels, ``rounds`` times each, alternating which goes first (``first``,
    ``second``, then ``second``, ``first``, …) so a drift in the machine's speed hits both."""
    runs: dict[str, list[T]] = {first: [], second: []}
    for r in range(rounds):
        for label in (first, second) if r % 2 == 0 else (second, first):
            runs[label].append(run(label))
    return runs


def p99(values: Sequence[float]) -> float:
    """The 99th percentile of sorted ``values`` (the largest for fewer than 100)."""
    return values[min(len(values) - 1, int(len(values) * 0.99))]


def paired_medians(first: list[float], second: list[float]) -> tuple[float, float, list[float]]:
    """Two interleaved series (:func:`interleaved`): their medians and the per-round ratios first/second."""
    ratios = [a / b for a, b in zip(first, second, strict=True)]
    return statistics.median(first), statistics.median(second), ratios


def run_bench_script(wrk: str, script: str, url: str, seconds: float, concurrency: int) -> dict[str, float]:
    """Run ``wrk`` with a Lua ``script`` whose ``done`` prints one ``BENCH {json}`` line (ops, elapsed_us,
    p50_us, p99_us, non2xx, socket_errors); returns ops, ops/s, p50/p99 in ms and errors."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        out = subprocess.run(
            [wrk, "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", lua.name, url],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds * 10 + 60,
        )
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("BENCH "))
    r = json.loads(line[len("BENCH ") :])
    elapsed = r["elapsed_us"] / 1e6
    return {
        "ops": r["ops"],
        "ops_s": r["ops"] / elapsed if elapsed else 0.0,
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "errors": r["non2xx"] + r["socket_errors"],
    }
