"""Lambda's concurrency management API through boto3 against ``kumo up``: put/get/delete function
concurrency (overriding the manifest's reservation, enforced by the lease gate), get_account_settings, and
the errors Lambda answers (too little left unreserved, unknown function, a qualifier)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import botocore.exceptions
import pytest
from kumo_up import KumoUp, function_manifest

SLOW = """
import time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"ok": True}
"""


@pytest.fixture(scope="module")
def kumo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KumoUp]:
    workdir = tmp_path_factory.mktemp("concurrency-api")
    manifests = [
        function_manifest("capped", SLOW, concurrency={"reserved": 2}),
        function_manifest("open", SLOW),
    ]
    up = KumoUp(manifests, workdir, args=["--concurrency-limit", "20", "--async-workers", "0"])
    try:
        yield up
    finally:
        up.stop()


def _outcomes(client, function: str, calls: int, sleep: float) -> list[str]:
    def call(_: int) -> str:
        try:
            client.invoke(FunctionName=function, Payload=json.dumps({"sleep": sleep}))
            return "ran"
        except client.exceptions.TooManyRequestsException as exc:
            return exc.response["Reason"]

    with ThreadPoolExecutor(calls) as pool:
        return list(pool.map(call, range(calls)))


def test_put_get_delete_function_concurrency(kumo: KumoUp) -> None:
    client = kumo.lambda_client()
    assert client.get_function_concurrency(FunctionName="capped")["ReservedConcurrentExecutions"] == 2
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName="open")

    put = client.put_function_concurrency(FunctionName="open", ReservedConcurrentExecutions=3)
    assert put["ReservedConcurrentExecutions"] == 3
    assert client.get_function_concurrency(FunctionName="open")["ReservedConcurrentExecutions"] == 3
    assert client.get_function(FunctionName="open")["Concurrency"] == {"ReservedConcurrentExecutions": 3}
    settings = client.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 20
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 20 - 2 - 3
    assert settings["AccountLimit"]["CodeSizeZipped"] == 50 * 1024 * 1024
    assert settings["AccountLimit"]["CodeSizeUnzipped"] == 250 * 1024 * 1024
    assert settings["AccountUsage"]["FunctionCount"] == 2
    assert settings["AccountUsage"]["TotalCodeSize"] > 0

    # 20 - 2 (capped) - 17 leaves 1 < 2 (a tenth of the account limit, Lambda's 100 for 1,000).
    with pytest.raises(client.exceptions.InvalidParameterValueException, match="UnreservedConcurrentExecution"):
        client.put_function_concurrency(FunctionName="open", ReservedConcurrentExecutions=17)
    assert client.get_function_concurrency(FunctionName="open")["ReservedConcurrentExecutions"] == 3
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.put_function_concurrency(FunctionName="missing", ReservedConcurrentExecutions=1)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function_concurrency(FunctionName="missing")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        client.put_function_concurrency(FunctionName="open:1", ReservedConcurrentExecutions=1)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    with pytest.raises(botocore.exceptions.ParamValidationError):
        client.put_function_concurrency(FunctionName="open", ReservedConcurrentExecutions=-1)

    client.delete_function_concurrency(FunctionName="open")
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName="open")
    assert "Concurrency" not in client.get_function(FunctionName="open")
    assert client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 18


def test_the_put_value_is_what_the_gate_enforces(kumo: KumoUp) -> None:
    client = kumo.lambda_client()
    client.invoke(FunctionName="open", Payload=b"{}")  # one warm instance
    client.put_function_concurrency(FunctionName="open", ReservedConcurrentExecutions=1)
    outcomes = _outcomes(client, "open", 3, 1.5)
    assert outcomes.count("ran") == 1, outcomes
    assert outcomes.count("ReservedFunctionConcurrentInvocationLimitExceeded") == 2, outcomes

    # 0 stops the manifest-reserved function; deleting the API's value brings the manifest's 2 back.
    client.put_function_concurrency(FunctionName="capped", ReservedConcurrentExecutions=0)
    assert _outcomes(client, "capped", 1, 0) == ["ReservedFunctionConcurrentInvocationLimitExceeded"]
    client.delete_function_concurrency(FunctionName="capped")
    assert client.get_function_concurrency(FunctionName="capped")["ReservedConcurrentExecutions"] == 2
    assert _outcomes(client, "capped", 1, 0) == ["ran"]
    client.delete_function_concurrency(FunctionName="open")
