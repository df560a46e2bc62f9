"""The platform lines of a Lambda log stream: START, END, REPORT. Pure."""

from __future__ import annotations

import math


def start_line(request_id: str, version: str) -> bytes:
    return f"START RequestId: {request_id} Version: {version}\n".encode()


def end_line(request_id: str) -> bytes:
    return f"END RequestId: {request_id}\n".encode()


def report_line(
    request_id: str,
    *,
    duration_ms: float,
    memory_mb: int,
    max_memory_used_mb: int,
    init_duration_ms: float | None = None,
) -> bytes:
    """``REPORT RequestId: …\\tDuration: 1.23 ms\\tBilled Duration: 2 ms\\t…`` (1 ms billing granularity)."""
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {max(1, math.ceil(duration_ms))} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_used_mb} MB",
    ]
    if init_duration_ms is not None:
        fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
    return ("\t".join(fields) + "\t\n").encode()


def platform_error_line(request_id: str, payload_message: str) -> bytes:
    """The line Lambda writes when it ends an invocation itself (timeout, crash, memory)."""
    return (
        f"{payload_message}\n".encode()
        if payload_message.startswith("RequestId:")
        else (f"RequestId: {request_id} Error: {payload_message}\n".encode())
    )


def tail(data: bytes, limit: int) -> bytes:
    """The last ``limit`` bytes, cut at a UTF-8 character boundary."""
    if len(data) <= limit:
        return data
    cut = data[-limit:]
    i = 0
    while i < len(cut) and i < 4 and (cut[i] & 0xC0) == 0x80:
        i += 1
    return cut[i:]
