"""The benchmark's CPU accounting (bench/process_cpu.py): real /proc readings and the pure scale-out bound."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from process_cpu import CpuMeter, children, cpu_seconds, scale_out_bound


def test_scale_out_bound_is_cores_over_cpu_per_request() -> None:
    # 100 us per request on 2 cores: at most 20k/s; measured 10k/s, so at most 2x.
    assert scale_out_bound({"gateway": 40.0, "partitions": 50.0, "client": 10.0}, 10_000, 2) == pytest.approx(2.0)
    # The single gateway process caps it first: 1e6/80 = 12.5k/s against 2 cores / 100 us = 20k/s.
    assert scale_out_bound({"gateway": 80.0, "partitions": 10.0, "client": 10.0}, 10_000, 2) == pytest.approx(1.25)
    assert scale_out_bound({}, 10_000, 2) == 0.0
    assert scale_out_bound({"gateway": 1.0}, 0, 2) == 0.0


def test_meter_sees_a_busy_child_and_its_cpu() -> None:
    busy = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\ntime.sleep(30)\n"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', {busy!r}])\ntime.sleep(30)",
        ]
    )
    try:
        meter = CpuMeter(parent.pid)
        wait_until(lambda: meter.snapshot()["partitions"] >= 0.25, timeout=10, what="the busy child's CPU")
        kids = children(parent.pid)
        assert len(kids) == 1
        assert cpu_seconds(kids[0]) >= 0.25
        assert meter.snapshot()["partitions"] >= 0.25
        per = CpuMeter.per_request({"gateway": 0.0, "partitions": 0.0}, {"gateway": 0.001, "partitions": 0.002}, 10)
        assert per == pytest.approx({"gateway": 100.0, "partitions": 200.0})
    finally:
        for pid in children(parent.pid):
            os.kill(pid, 9)
        parent.kill()
        parent.wait()
    assert cpu_seconds(parent.pid) == 0.0
