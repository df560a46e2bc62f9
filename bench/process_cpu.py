"""CPU time of the benchmarked processes, from ``/proc``: CPU per request, and how busy the machine was.

Used by ``bench/tables.py`` to show where each request's CPU goes (gateway, partition servers, the
load generator) and, from that, the most any number of partitions could add on this machine.
"""

from __future__ import annotations

import os
import resource
import statistics
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (all its threads); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def children(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return out


def waited_children_seconds() -> float:
    """CPU seconds of this process's finished children (the load generator, run to completion)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """Snapshots of a server process (the gateway), its children (partitions) and the load generator."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def snapshot(self) -> dict[str, float]:
        return {
            "gateway": cpu_seconds(self.server_pid),
            "partitions": sum(cpu_seconds(c) for c in children(self.server_pid)),
            "client": waited_children_seconds(),
        }

    @staticmethod
    def per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
        """Microseconds of CPU per request, by process group."""
        n = max(requests, 1)
        return {name: (after[name] - before[name]) / n * 1e6 for name in before}


def scale_out_bound(cpu_us: dict[str, float], measured_ops_s: float, cores: int) -> float:
    """The most more partitions could multiply ``measured_ops_s`` by, on ``cores`` cores.

    Adding partitions adds no CPU per request, so throughput stays under ``cores`` divided by the
    CPU of one request (gateway + partitions + load generator), and under one core for the single
    gateway process. Pure.
    """
    total = sum(cpu_us.values())
    if total <= 0 or measured_ops_s <= 0:
        return 0.0
    ceiling = cores / (total / 1e6)
    if cpu_us.get("gateway", 0) > 0:
        ceiling = min(ceiling, 1e6 / cpu_us["gateway"])
    return ceiling / measured_ops_s


def print_cpu_per_request(cpu: dict[str, list[dict[str, float]]]) -> dict[str, float]:
    """Print each side's median CPU microseconds per request by process group; return each side's total."""
    print("CPU per request, median us (" + " / ".join(next(iter(cpu.values()))[0]) + " = total):")
    totals = {}
    for side, rounds in cpu.items():
        medians = {part: statistics.median(r[part] for r in rounds) for part in rounds[0]}
        totals[side] = statistics.median(sum(r.values()) for r in rounds)
        print(f"  {side:<8} {' / '.join(f'{v:.0f}' for v in medians.values())} = {totals[side]:.0f}")
    return totals
