"""The exact requests that answered 500 before (issue 13), each now a 4xx in its protocol's shape, and the
pure rules that fixed them."""

from __future__ import annotations

import json

import pytest

from kumo import untrusted_json
from kumo_tablestore.errors import ValidationException
from kumo_tablestore.write_requests import split_write_request

DEEP = b"[" * 100_000 + b"]" * 100_000


def dynamodb(target, operation: str, body: bytes):
    headers = {"X-Amz-Target": f"DynamoDB_20120810.{operation}", "Content-Type": "application/x-amz-json-1.0"}
    return target.send("POST", "/", body, headers, service="dynamodb")


def error_type(response) -> str:
    return response.json()["__type"].rpartition("#")[2]


def test_invoke_with_json_nested_too_deeply_is_invalid_request_content(target) -> None:
    response = target.send("POST", "/2015-03-31/functions/fuzzfn/invocations", DEEP, service="lambda")
    assert response.status_code == 400, response.text
    assert response.headers["x-amzn-ErrorType"] == "InvalidRequestContentException"
    assert response.json()["Type"] == "User" and "nested too deeply" in response.json()["message"]


def test_client_context_nested_too_deeply_is_refused(target) -> None:
    import base64

    context = base64.b64encode(b'{"a":' * 5000 + b"1" + b"}" * 5000).decode()
    response = target.send(
        "POST", "/2015-03-31/functions/fuzzfn/invocations", b"{}", {"X-Amz-Client-Context": context}, service="lambda"
    )
    assert response.status_code == 400 and response.headers["x-amzn-ErrorType"] == "InvalidRequestContentException"


def test_alias_weight_too_large_for_a_float_is_invalid_parameter(target) -> None:
    body = {"Name": "big", "FunctionVersion": "$LATEST", "RoutingConfig": {"AdditionalVersionWeights": {"1": 10**400}}}
    response = target.send("POST", "/2015-03-31/functions/fuzzfn/aliases", json.dumps(body).encode(), service="lambda")
    assert response.status_code == 400, response.text
    assert "between 0.0 and 1.0" in response.json()["message"]


def test_a_newline_in_a_lambda_path_gets_lambdas_404(target) -> None:
    response = target.send("GET", "/2015-03-31/functions/a%0Ab/aliases", service="lambda")
    assert response.status_code in (400, 404) and response.headers.get("x-amzn-ErrorType"), response.text


@pytest.mark.parametrize("start", [2, [], ["\ud91a"], {}, True])
def test_list_tables_start_name_of_another_type_is_a_serialization_error(target, start) -> None:
    response = dynamodb(target, "ListTables", json.dumps({"ExclusiveStartTableName": start}).encode())
    assert response.status_code == 400 and error_type(response) == "SerializationException", response.text


@pytest.mark.parametrize(
    "values",
    [
        "x",
        1,
        ["x"],
        {":p": 1, ":a": {"N": "1"}, ":b": {"N": "9"}},
        {":p": [], ":a": {"N": "1"}, ":b": {"N": "9"}},
        {":p": {}, ":a": {"N": "1"}, ":b": {"N": "9"}},
    ],
)
def test_query_with_values_that_are_not_typed_attribute_values_is_a_validation_error(target, values) -> None:
    body = {
        "TableName": "fuzz-events",
        "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": values,
    }
    response = dynamodb(target, "Query", json.dumps(body).encode())
    assert response.status_code == 400 and error_type(response) == "ValidationException", response.text


@pytest.mark.parametrize("request_item", [{"PutRequest": "x"}, {"DeleteRequest": 1}, {"PutRequest": ["x"]}, "x", {}])
def test_batch_write_with_a_write_request_that_is_not_a_map_is_a_validation_error(target, request_item) -> None:
    body = {"RequestItems": {"fuzz-items": [request_item]}}
    response = dynamodb(target, "BatchWriteItem", json.dumps(body).encode())
    assert response.status_code == 400 and error_type(response) == "ValidationException", response.text
    assert "Request" in response.json()["message"]


def test_untrusted_json_refuses_deep_nesting_as_a_value_error() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        untrusted_json.loads(DEEP)
    assert untrusted_json.loads(b"[[1]]") == [[1]]


def test_split_write_request() -> None:
    assert split_write_request({"PutRequest": {"Item": {}}}) == ("PutRequest", {"Item": {}})
    for bad in ({"PutRequest": "x"}, {"DeleteRequest": None}, {}, {"Other": {}}, [], {"PutRequest": {}, "X": {}}):
        with pytest.raises(ValidationException):
            split_write_request(bad)
