"""Lambda's error payloads for failures the platform (not the function) detects. Pure."""

from __future__ import annotations

import signal

from kumo.runtime.invocation import MAX_SYNC_PAYLOAD, error_payload


def exit_reason(returncode: int | None) -> str:
    """``exit status 3`` / ``signal: killed``, as Lambda words a runtime's exit."""
    if returncode is None:
        return "signal: killed"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            return f"signal: {-returncode}"
        words = {
            "SIGKILL": "killed",
            "SIGSEGV": "segmentation fault",
            "SIGABRT": "aborted",
            "SIGTERM": "terminated",
            "SIGBUS": "bus error",
            "SIGILL": "illegal instruction",
        }
        return f"signal: {words.get(name, name.removeprefix('SIG').lower())}"
    return f"exit status {returncode}"


def timed_out(request_id: str, timeout_s: float) -> bytes:
    return error_payload(
        "Sandbox.Timedout", f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"
    )


def out_of_memory(request_id: str) -> bytes:
    return error_payload(
        "Runtime.OutOfMemory", f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
    )


def exited(request_id: str, returncode: int | None) -> bytes:
    return error_payload(
        "Runtime.ExitError",
        f"RequestId: {request_id} Error: Runtime exited with error: {exit_reason(returncode)}",
    )


def init_timed_out(request_id: str, limit_s: float) -> bytes:
    return error_payload(
        "Runtime.InitError", f"RequestId: {request_id} Error: Init timed out after {limit_s:.2f} seconds"
    )


def response_too_large(size: int) -> bytes:
    return error_payload(
        "Function.ResponseSizeTooLarge",
        f"Response payload size ({size} bytes) exceeded maximum allowed payload size ({MAX_SYNC_PAYLOAD} bytes).",
    )


def failed_to_start(request_id: str, reason: str) -> bytes:
    return error_payload("Runtime.InvalidEntrypoint", f"RequestId: {request_id} Error: {reason}")
