"""Pure retry rules of async invocation: what to do with an event after an attempt, and when.

- A **function error** is retried ``maxRetryAttempts`` times with Lambda's back-off: the base delay
  (60 s in AWS, a platform setting here) then twice it.
- A **throttle** (429) or an **instance failure** (5xx, gateway unreachable) is retried with
  exponential back-off (1 s doubling to 5 min, scaled by base/60) until the event is ``maxEventAge`` old;
  it does not count as an invocation.
- An event older than ``maxEventAge`` is not run: it fails with ``EventAgeExceeded``.
- A function that no longer exists (404) fails at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

#: Lambda's base delay between retries after a function error.
DEFAULT_RETRY_DELAY_S = 60.0
#: Longest back-off after a throttle (before scaling).
MAX_THROTTLE_DELAY_S = 300.0


class Outcome(Enum):
    SUCCESS = "success"
    FUNCTION_ERROR = "function_error"
    THROTTLED = "throttled"  # 429, 5xx, unreachable: not an invocation
    GONE = "gone"  # the function (or version) does not exist


class Action(Enum):
    SUCCEED = "succeed"
    RETRY = "retry"
    FAIL = "fail"


@dataclass(frozen=True)
class Decision:
    action: Action
    delay_s: float = 0.0
    #: Lambda's ``requestContext.condition``: Success, RetriesExhausted, EventAgeExceeded, ResourceNotFound.
    condition: str = "Success"


def function_error_delay(attempts: int, base_s: float) -> float:
    """Delay before invocation ``attempts + 1`` after ``attempts`` failed ones: base, then 2 x base."""
    return base_s * (2 ** max(attempts - 1, 0))


def throttle_delay(retries: int, base_s: float) -> float:
    """Delay before the next try after ``retries`` throttles: 1 s doubling up to 5 min, x base/60."""
    scale = base_s / DEFAULT_RETRY_DELAY_S
    return max(min(2.0 ** max(retries - 1, 0), MAX_THROTTLE_DELAY_S) * scale, 0.01)


def expired(enqueued_ms: int, now_ms: int, max_event_age_s: int) -> bool:
    return now_ms - enqueued_ms > max_event_age_s * 1000


def decide(
    outcome: Outcome,
    *,
    attempts: int,
    retries: int,
    max_retry_attempts: int,
    max_event_age_s: int,
    enqueued_ms: int,
    now_ms: int,
    base_delay_s: float,
) -> Decision:
    """What to do after an attempt. ``attempts``: invocations made so far, this one included;
    ``retries``: throttles so far, this one included."""
    if outcome is Outcome.SUCCESS:
        return Decision(Action.SUCCEED)
    if outcome is Outcome.GONE:
        return Decision(Action.FAIL, condition="ResourceNotFound")
    if outcome is Outcome.FUNCTION_ERROR:
        if attempts > max_retry_attempts:
            return Decision(Action.FAIL, condition="RetriesExhausted")
        delay = function_error_delay(attempts, base_delay_s)
    else:
        delay = throttle_delay(retries, base_delay_s)
    if expired(enqueued_ms, now_ms + int(delay * 1000), max_event_age_s):
        return Decision(Action.FAIL, condition="EventAgeExceeded")
    return Decision(Action.RETRY, delay_s=delay)
