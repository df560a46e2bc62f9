"""Merging batch shares' answers: throttled shares come back unprocessed, all throttled fails the call."""

from __future__ import annotations

import json

from kumo_gateway.dynamodb import partition_choice as routing
from kumo_tablestore.errors import DynamoError, ProvisionedThroughputExceededException, ValidationException


def error(exc: DynamoError) -> tuple[int, bytes]:
    return exc.status, json.dumps(exc.to_dict()).encode()


THROTTLED = error(ProvisionedThroughputExceededException())
INVALID = error(ValidationException("One or more parameter values were invalid"))
KEYS_A = [{"id": {"S": "a1"}}, {"id": {"S": "a2"}}]
KEYS_B = [{"id": {"S": "b1"}}]
GET_SPEC = {"ConsistentRead": True, "ProjectionExpression": "#v", "ExpressionAttributeNames": {"#v": "v"}}


def ok(body: dict) -> tuple[int, bytes]:
    return 200, json.dumps(body).encode()


def get_request(keys: list[dict]) -> dict:
    return {"RequestItems": {"t": {**GET_SPEC, "Keys": keys}}, "ReturnConsumedCapacity": "TOTAL"}


def test_is_throttled_reads_the_error_type():
    assert routing.is_throttled(THROTTLED)
    assert not routing.is_throttled(INVALID)
    assert not routing.is_throttled((200, b'{"UnprocessedItems":{}}'))
    assert not routing.is_throttled((400, b"ProvisionedThroughputExceededException, not JSON"))
    assert not routing.is_throttled((500, THROTTLED[1]))


def test_batch_get_throttled_share_comes_back_as_unprocessed_keys():
    answers = [
        ("t", KEYS_A, THROTTLED),
        (
            "t",
            KEYS_B,
            ok(
                {
                    "Responses": {"t": [{"v": {"S": "b1"}}]},
                    "UnprocessedKeys": {},
                    "ConsumedCapacity": [{"TableName": "t", "CapacityUnits": 1.0}],
                }
            ),
        ),
    ]
    status, raw = routing.merge_batch_get(get_request(KEYS_A + KEYS_B), answers)
    assert status == 200
    out = json.loads(raw)
    assert out["Responses"] == {"t": [{"v": {"S": "b1"}}]}
    assert out["UnprocessedKeys"] == {"t": {**GET_SPEC, "Keys": KEYS_A}}
    assert out["ConsumedCapacity"] == [{"TableName": "t", "CapacityUnits": 1.0}]


def test_batch_get_partial_unprocessed_and_throttled_shares_are_combined():
    partial = ok({"Responses": {"t": []}, "UnprocessedKeys": {"t": {**GET_SPEC, "Keys": KEYS_B}}})
    status, raw = routing.merge_batch_get(
        get_request(KEYS_A + KEYS_B), [("t", KEYS_B, partial), ("t", KEYS_A, THROTTLED)]
    )
    assert status == 200
    assert json.loads(raw)["UnprocessedKeys"] == {"t": {**GET_SPEC, "Keys": KEYS_B + KEYS_A}}


def test_every_share_throttled_fails_the_call():
    assert (
        routing.merge_batch_get(get_request(KEYS_A + KEYS_B), [("t", KEYS_A, THROTTLED), ("t", KEYS_B, THROTTLED)])
        == THROTTLED
    )
    writes = [{"PutRequest": {"Item": k}} for k in KEYS_A]
    request = {"RequestItems": {"t": writes, "u": writes[:1]}}
    answers = [("t", writes, THROTTLED), ("u", writes[:1], THROTTLED)]
    assert routing.merge_batch_write(request, answers) == THROTTLED


def test_unreachable_and_throttled_shares_are_unprocessed_not_an_error():
    writes = [{"PutRequest": {"Item": k}} for k in KEYS_A + KEYS_B]
    request = {"RequestItems": {"t": writes[:2], "u": writes[2:]}}
    status, raw = routing.merge_batch_write(request, [("t", writes[:2], THROTTLED), ("u", writes[2:], None)])
    assert status == 200
    assert json.loads(raw) == {"UnprocessedItems": {"t": writes[:2], "u": writes[2:]}}


def test_other_errors_win_over_throttling():
    writes = [{"PutRequest": {"Item": k}} for k in KEYS_A + KEYS_B]
    request = {"RequestItems": {"t": writes}}
    answers = [("t", writes[:2], THROTTLED), ("t", writes[2:], INVALID)]
    assert routing.merge_batch_write(request, answers) == INVALID
    assert (
        routing.merge_batch_get(get_request(KEYS_A + KEYS_B), [("t", KEYS_A, INVALID), ("t", KEYS_B, THROTTLED)])
        == INVALID
    )


def test_batch_write_merges_leftovers_capacity_and_metrics():
    writes = [{"PutRequest": {"Item": k}} for k in KEYS_A + KEYS_B]
    request = {"RequestItems": {"t": writes}, "ReturnConsumedCapacity": "TOTAL"}
    first = ok({"UnprocessedItems": {"t": writes[1:2]}, "ConsumedCapacity": [{"TableName": "t", "CapacityUnits": 1.0}]})
    status, raw = routing.merge_batch_write(request, [("t", writes[:2], first), ("t", writes[2:], THROTTLED)])
    assert status == 200
    out = json.loads(raw)
    assert out["UnprocessedItems"] == {"t": [writes[1], writes[2]]}
    assert out["ConsumedCapacity"] == [{"TableName": "t", "CapacityUnits": 1.0}]
