"""Soak benchmark (``make bench``): RSS per warm invocation of one real instance, for the runtime host
and for the instance (Kumo's own Python runtime client).

A real :class:`kumo.runtime.host.RuntimeHost` (in this process, as in ``kumo up``) runs a trivial
handler ``--invocations`` times (default 100,000), one at a time, each with a new trace id as Lambda
gives. RSS (``VmRSS``) of this process (the host) and of the instance's process is read after a warm-up
and at the end; the figures are bytes per invocation over the measured part, and the instance's total
growth (the target: within 1 MB over 100,000 invocations). Run: ``.venv/bin/python bench/soak.py
[--invocations 100000] [--warmup 5000]``. Every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kumo.event_loop import loop_factory
from kumo.runtime.config import FunctionConfig
from kumo.runtime.host import RuntimeHost
from kumo.runtime.invocation import Invocation

HANDLER = "def handler(event, context):\n    return {'ok': True, 'n': event['n']}\n"


def rss_kb(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


async def invoke_many(host: RuntimeHost, config: FunctionConfig, count: int, start: int) -> None:
    for n in range(start, start + count):
        result = await host.invoke(
            Invocation(request_id=str(uuid.uuid4()), payload=b'{"n": %d}' % n, invoked_function_arn=config.arn)
        )
        if result.function_error is not None or not result.instance_reusable:
            raise SystemExit(f"invocation {n} failed: {result.payload[:200]!r}")


async def soak(invocations: int, warmup: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="kumo-soak-") as tmp:
        code = Path(tmp) / "code"
        code.mkdir()
        (code / "app.py").write_text(HANDLER)
        config = FunctionConfig(name="soak", handler="app.handler", runtime="python3.11", code_dir=code)
        host = RuntimeHost(config, tmp_root=Path(tmp) / "tmp")
        await host.start()
        try:
            await invoke_many(host, config, warmup, 0)
            assert host.pid is not None
            host_before, child_before = rss_kb(), rss_kb(host.pid)
            started = time.monotonic()
            await invoke_many(host, config, invocations, warmup)
            elapsed = time.monotonic() - started
            host_after, child_after = rss_kb(), rss_kb(host.pid)
        finally:
            await host.stop()
    return {
        "host_b_per_inv": (host_after - host_before) * 1024 / invocations,
        "instance_b_per_inv": (child_after - child_before) * 1024 / invocations,
        "instance_growth_kb": child_after - child_before,
        "instance_rss_kb": child_after,
        "per_second": invocations / elapsed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invocations", type=int, default=100_000)
    parser.add_argument("--warmup", type=int, default=5_000)
    args = parser.parse_args()
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        figures = runner.run(soak(args.invocations, args.warmup))
    print(f"soak: {args.invocations} warm invocations after {args.warmup} warm-up ({figures['per_second']:.0f}/s)")
    print(f"  runtime host (this process): {figures['host_b_per_inv']:+.1f} B/invocation")
    print(
        f"  instance (bootstrap.py):     {figures['instance_b_per_inv']:+.1f} B/invocation, "
        f"{figures['instance_growth_kb']:+d} KiB in total (RSS {figures['instance_rss_kb']} KiB)"
    )
    flat = abs(figures["instance_growth_kb"]) <= 1024
    print(f"  instance flat within 1 MB: {'yes' if flat else 'NO'}")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
