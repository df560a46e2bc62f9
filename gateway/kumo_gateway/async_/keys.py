"""Redis key and field names of async invocation (one place, so the gateway, the worker and the admin
API agree). Every function has its own stream; the set ``kumo:async:functions`` lists them."""

from __future__ import annotations

PREFIX = "kumo:async:"
#: Set of function names that have an event stream (the worker reads all of them).
FUNCTIONS = f"{PREFIX}functions"
#: Sorted set of delayed retries: member = the event (JSON), score = due time (epoch ms).
DELAYED = f"{PREFIX}delayed"
#: Hash of event-invoke configs set through the API: field ``NAME`` or ``NAME:QUALIFIER``, value JSON.
INVOKE_CONFIG = f"{PREFIX}invoke-config"
#: When each of those was set (epoch seconds), same fields.
INVOKE_CONFIG_MODIFIED = f"{PREFIX}invoke-config-modified"
#: Hash of counters (``accepted``, ``succeeded``, ``failed``, ``redelivered``, ...), for tests and metrics.
STATS = f"{PREFIX}stats"
#: The consumer group every worker joins.
GROUP = "kumo-workers"

# Fields of an event entry.
F_ID = "id"  # the request id (the same on every attempt)
F_FUNCTION = "fn"
F_VERSION = "ver"  # the version resolved at enqueue ($LATEST or a number)
F_ARN = "arn"  # the invoked ARN (with the qualifier the caller gave)
F_PAYLOAD = "payload"
F_ENQUEUED = "at"  # epoch ms when the event was accepted
F_CONFIG = "cfg"  # the effective event config (JSON), fixed at enqueue
F_ATTEMPTS = "n"  # invocations that reached the function so far
F_RETRIES = "r"  # throttle/instance-failure retries so far
F_FIRST = "first"  # epoch ms of the first attempt
F_ERROR = "err"  # the last error (JSON)


def stream(function: str) -> str:
    """The event stream of ``function``."""
    return f"{PREFIX}events:{function}"


def dlq(function: str) -> str:
    """The dead-letter stream of ``function``."""
    return f"{PREFIX}dlq:{function}"


def schedule_tick(function: str, expression: str) -> str:
    """The last tick (epoch seconds) fired for ``function``'s schedule ``expression``."""
    return f"kumo:schedule:{function}:{expression}"
