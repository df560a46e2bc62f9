"""Fuzz the DynamoDB JSON protocol (gateway fast lane, router, partition servers) with signed requests."""

from __future__ import annotations

import pytest
from base_requests import DYNAMODB, corruptions
from fuzz_oracle import SEED, check_dynamodb, fuzz_settings
from hypothesis import given, seed
from hypothesis import strategies as st
from model_requests import encode, fuzzed_body

OPERATIONS = sorted(DYNAMODB)


def send(target, operation: str, body: bytes):
    headers = {"X-Amz-Target": f"DynamoDB_20120810.{operation}", "Content-Type": "application/x-amz-json-1.0"}
    return target.send("POST", "/", body, headers, service="dynamodb")


def test_the_valid_base_requests_succeed(target) -> None:
    """The corruptions start from requests that work (so a corruption is what a refusal answers)."""
    for operation in ("PutItem", "GetItem", "UpdateItem", "Query", "BatchGetItem", "BatchWriteItem", "ListTables"):
        response = send(target, operation, encode(DYNAMODB[operation]))
        assert response.status_code == 200, (operation, response.text)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_single_point_corruption_is_refused_in_shape(target, operation: str) -> None:
    for description, request in corruptions(DYNAMODB[operation]):
        response = send(target, operation, encode(request))
        try:
            check_dynamodb(response.status_code, dict(response.headers), response.content)
        except AssertionError as exc:
            raise AssertionError(f"{operation} with {description}: {exc}") from None
    assert target.healthy()


@seed(SEED)
@fuzz_settings()
@given(data=st.data())
def test_model_generated_requests_are_answered_in_shape(target, data) -> None:
    operation = data.draw(st.sampled_from([*OPERATIONS, "TransactWriteItems", "ExecuteStatement"]), "operation")
    body = data.draw(fuzzed_body("dynamodb", operation), "body")
    response = send(target, operation, body)
    check_dynamodb(response.status_code, dict(response.headers), response.content)


def test_the_gateway_is_healthy_after_fuzzing(target) -> None:
    assert target.healthy()
    assert send(target, "GetItem", encode(DYNAMODB["GetItem"])).status_code == 200
