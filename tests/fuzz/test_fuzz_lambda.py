"""Fuzz the Lambda API (Invoke and the management operations) with signed requests from the botocore model."""

from __future__ import annotations

import pytest
from base_requests import LAMBDA_BODIES, corruptions
from fuzz_oracle import SEED, check_api, check_lambda, fuzz_settings
from hypothesis import given, seed
from hypothesis import strategies as st
from lambda_requests import OTHERS, SERVED, lambda_request
from model_requests import encode

PATHS = {
    "CreateAlias": ("POST", "/2015-03-31/functions/fuzzfn/aliases"),
    "UpdateAlias": ("PUT", "/2015-03-31/functions/fuzzfn/aliases/live"),
    "PublishVersion": ("POST", "/2015-03-31/functions/fuzzfn/versions"),
}


@pytest.mark.parametrize("operation", sorted(LAMBDA_BODIES))
def test_every_single_point_corruption_of_a_management_body_is_refused_in_shape(target, operation: str) -> None:
    method, path = PATHS[operation]
    for description, request in corruptions(LAMBDA_BODIES[operation]):
        response = target.send(method, path, encode(request), {"Content-Type": "application/json"}, service="lambda")
        try:
            check_lambda(response.status_code, dict(response.headers), response.content)
        except AssertionError as exc:
            raise AssertionError(f"{operation} with {description}: {exc}") from None


@seed(SEED)
@fuzz_settings()
@given(data=st.data())
def test_model_generated_lambda_requests_are_answered_in_shape(target, data) -> None:
    operation = data.draw(st.sampled_from(SERVED + SERVED + OTHERS), "operation")
    method, path, query, headers, body = data.draw(lambda_request(operation), "request")
    if "/../" in path + "/" or "/./" in path + "/":
        path = path.replace("/..", "/%2E%2E").replace("/.", "/%2E")  # clients normalise dot segments away
    response = target.send(method, path, body, headers, params=query, service="lambda")
    # Paths of other dates (tags, concurrency, account settings) are checked for any well-formed answer.
    check = check_lambda if path.startswith("/2015-03-31/") else check_api
    check(response.status_code, dict(response.headers), response.content)


def test_invoke_still_works_after_fuzzing(target) -> None:
    # A well-formed PutFunctionConcurrency the fuzzer drew (0 stops the function, as on Lambda) is a
    # legitimate change, not damage: take it back, as a user would, before checking nothing else broke.
    reset = target.send("DELETE", "/2017-10-31/functions/fuzzfn/concurrency", b"", service="lambda")
    assert reset.status_code == 204, reset.text
    response = target.send("POST", "/2015-03-31/functions/fuzzfn/invocations", b'{"a": [1]}', service="lambda")
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True, "type": "dict"}
    assert target.healthy()
