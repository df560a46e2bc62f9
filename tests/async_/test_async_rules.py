"""Pure rules of async invocation: back-off, decisions, configs and their API shapes, records."""

from __future__ import annotations

import httpx
import pytest

from kumo.models import Function
from kumo.queue_contract import message_fields, queue_key
from kumo_gateway.async_ import event_config, records
from kumo_gateway.async_.event_config import ConfigError, EventConfig, Target
from kumo_gateway.async_.invoker import classify
from kumo_gateway.async_.rules import (
    Action,
    Outcome,
    decide,
    expired,
    function_error_delay,
    throttle_delay,
)


def _decide(outcome: Outcome, attempts: int = 1, retries: int = 0, **kw: int) -> object:
    args = dict(max_retry_attempts=2, max_event_age_s=3600, enqueued_ms=0, now_ms=1000, base_delay_s=60.0)
    args.update(kw)
    return decide(outcome, attempts=attempts, retries=retries, **args)


def test_lambda_backoff_base_then_twice() -> None:
    assert function_error_delay(1, 60.0) == 60.0
    assert function_error_delay(2, 60.0) == 120.0
    assert function_error_delay(1, 1.0) == 1.0


def test_throttle_backoff_doubles_to_five_minutes_scaled() -> None:
    assert [throttle_delay(n, 60.0) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert throttle_delay(30, 60.0) == 300.0
    assert throttle_delay(1, 6.0) == pytest.approx(0.1)


def test_success_and_retries_then_exhausted() -> None:
    assert _decide(Outcome.SUCCESS).action is Action.SUCCEED
    first = _decide(Outcome.FUNCTION_ERROR, attempts=1)
    assert (first.action, first.delay_s) == (Action.RETRY, 60.0)
    second = _decide(Outcome.FUNCTION_ERROR, attempts=2)
    assert (second.action, second.delay_s) == (Action.RETRY, 120.0)
    last = _decide(Outcome.FUNCTION_ERROR, attempts=3)
    assert (last.action, last.condition) == (Action.FAIL, "RetriesExhausted")
    none = _decide(Outcome.FUNCTION_ERROR, attempts=1, max_retry_attempts=0)
    assert none.action is Action.FAIL


def test_throttles_retry_until_event_age() -> None:
    assert _decide(Outcome.THROTTLED, attempts=0, retries=50).action is Action.RETRY
    late = _decide(Outcome.THROTTLED, attempts=0, retries=1, now_ms=3600 * 1000)
    assert (late.action, late.condition) == (Action.FAIL, "EventAgeExceeded")
    retry_too_late = _decide(Outcome.FUNCTION_ERROR, attempts=1, max_event_age_s=60, now_ms=10_000)
    assert retry_too_late.condition == "EventAgeExceeded"


def test_gone_fails_at_once() -> None:
    assert _decide(Outcome.GONE).condition == "ResourceNotFound"


def test_expired() -> None:
    assert not expired(0, 60_000, 60)
    assert expired(0, 60_001, 60)


def test_config_from_manifest_and_json_round_trip() -> None:
    function = Function.model_validate(
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Function",
            "metadata": {"name": "f"},
            "spec": {
                "runtime": "python3.11",
                "handler": "app.handler",
                "code": {"inline": {"app.py": ""}},
                "async": {"maxRetryAttempts": 1, "maxEventAge": "2m", "onFailure": {"queue": "q"}},
            },
        }
    )
    config = event_config.from_manifest(function.spec.async_)
    assert config == EventConfig(1, 120, None, Target("queue", "q"))
    assert EventConfig.from_json(config.to_json()) == config
    assert event_config.from_manifest(Function.model_validate(
        {"apiVersion": "kumo.dev/v1alpha1", "kind": "Function", "metadata": {"name": "g"},
         "spec": {"runtime": "python3.11", "handler": "app.handler", "code": {"inline": {"app.py": ""}}}}
    ).spec.async_) == EventConfig()  # fmt: skip


def test_api_body_put_and_update() -> None:
    base = EventConfig(1, 120, Target("function", "a"), None)
    body = {
        "MaximumRetryAttempts": 0,
        "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:dead"}},
    }
    put = event_config.apply_api_body(base, body)
    assert put == EventConfig(0, 21600, None, Target("queue", "dead"))
    update = event_config.apply_api_body(base, body, update=True)
    assert update == EventConfig(0, 120, Target("function", "a"), Target("queue", "dead"))
    shape = event_config.api_shape(update, "arn:f", 5.0, "us-east-1", "1")
    assert shape["DestinationConfig"]["OnSuccess"] == {"Destination": "arn:aws:lambda:us-east-1:1:function:a"}
    assert shape["MaximumEventAgeInSeconds"] == 120


@pytest.mark.parametrize(
    "body",
    [
        {"MaximumRetryAttempts": 3},
        {"MaximumRetryAttempts": True},
        {"MaximumEventAgeInSeconds": 59},
        {"MaximumEventAgeInSeconds": 21601},
        {"DestinationConfig": []},
        {"DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:sns:us-east-1:1:topic"}}},
        {"DestinationConfig": {"OnSuccess": "x"}},
    ],
)
def test_api_body_refused(body: dict) -> None:
    with pytest.raises(ConfigError):
        event_config.apply_api_body(EventConfig(), body)


def test_destination_record_shape() -> None:
    record = records.destination_record(
        request_id="r1",
        function_arn="arn:aws:lambda:us-east-1:0:function:f:$LATEST",
        condition="RetriesExhausted",
        invoke_count=3,
        payload=b'{"a": 1}',
        now_ms=1_700_000_000_123,
        status_code=200,
        executed_version="$LATEST",
        function_error="Unhandled",
        response=b'{"errorMessage": "boom"}',
    )
    assert record == {
        "version": "1.0",
        "timestamp": "2023-11-14T22:13:20.123Z",
        "requestContext": {
            "requestId": "r1",
            "functionArn": "arn:aws:lambda:us-east-1:0:function:f:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"a": 1},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "boom"},
    }


def test_classify_answers() -> None:
    ok = classify(200, httpx.Headers({"x-amz-executed-version": "3"}), b"{}")
    assert (ok.outcome, ok.executed_version) == (Outcome.SUCCESS, "3")
    failed = classify(200, httpx.Headers({"x-amz-function-error": "Unhandled"}), b'{"errorMessage":"x"}')
    assert (failed.outcome, failed.error) == (Outcome.FUNCTION_ERROR, {"errorMessage": "x"})
    throttled = classify(429, httpx.Headers({"x-amzn-errortype": "TooManyRequestsException"}), b'{"message":"m"}')
    assert throttled.outcome is Outcome.THROTTLED and throttled.error["errorType"] == "TooManyRequestsException"
    assert classify(503, httpx.Headers(), b"").outcome is Outcome.THROTTLED
    gone = classify(404, httpx.Headers({"x-amzn-errortype": "ResourceNotFoundException"}), b"{}")
    assert gone.outcome is Outcome.GONE


def test_queue_contract() -> None:
    assert queue_key("orders") == "kumo:queue:orders"
    fields = message_fields("hi", message_id="m", sent_ms=5)
    assert fields == {"body": "hi", "id": "m", "sent": "5"}
    assert len(message_fields("x")["id"]) == 36
