"""``kumo credentials ... --kubernetes`` and ``kumo api-keys ... --kubernetes`` write the labelled Secrets
through the user's kubeconfig; ``kumo gateway --kubernetes`` (as the chart's service account) honours
them: accepts the key, enforces its policy, forgets it when it is revoked or deleted."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import signing
from botocore.exceptions import ClientError
from cluster import KubeApi
from controllers import DeploymentController
from k8s_gateway_support import GatewayProcess, PodFarm
from operator_support import OperatorProcess, wait_for
from test_k8s_gateway_api_keys import MANIFESTS

from kumo.access_keys import AccessKey

KUMO = [sys.executable, "-m", "kumo_cli"]


def kumo(api: KubeApi, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KUMO, *args], env=api.env, capture_output=True, text=True, timeout=60, check=False)


def error_code(call: object) -> str | None:
    try:
        call()  # type: ignore[operator]
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    return None


def test_credentials_create_list_revoke_in_a_cluster(kube_api: KubeApi, gateway: GatewayProcess) -> None:
    gateway.start()
    created = kumo(kube_api, "credentials", "create", "--kubernetes", "--name", "ci", "--allow", "lambda:ListFunctions")
    assert created.returncode == 0, created.stderr
    values = dict(line.split("=", 1) for line in created.stdout.splitlines() if "=" in line)
    key = AccessKey(values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"])
    lam = signing.client("lambda", gateway.url, key)
    assert wait_for(lambda: "Functions" in lam.list_functions(), what="new key accepted")
    assert error_code(lambda: lam.get_function(FunctionName="x")) == "AccessDeniedException"  # its policy

    listed = kumo(kube_api, "credentials", "list", "--kubernetes", "--namespace", "default")
    assert listed.returncode == 0, listed.stderr
    entries = {e["accessKeyId"]: e for e in map(json.loads, listed.stdout.splitlines())}
    assert entries[key.access_key_id]["name"] == "ci"
    assert entries[key.access_key_id]["policy"] == {"actions": ["lambda:ListFunctions"], "resources": ["*"]}
    assert key.secret_access_key not in listed.stdout

    revoked = kumo(kube_api, "credentials", "revoke", "--kubernetes", key.access_key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert wait_for(lambda: error_code(lam.list_functions), what="revoked") == "UnrecognizedClientException"
    again = kumo(kube_api, "credentials", "revoke", "--kubernetes", key.access_key_id)
    assert again.returncode == 1 and "no access key" in again.stderr
    bad = kumo(kube_api, "credentials", "create", "--kubernetes", "--allow", "")
    assert bad.returncode == 2 and "non-empty" in bad.stderr


def test_api_keys_create_list_delete_in_a_cluster(
    kube_api: KubeApi, operator: OperatorProcess, redis_url: str, pods: PodFarm, gateway: GatewayProcess
) -> None:
    operator.start("--redis-url", redis_url)
    gateway.start(f"--redis-url={redis_url}")
    with DeploymentController(kube_api.url, pods.endpoints_for), httpx.Client(base_url=gateway.url, timeout=60) as http:
        assert kube_api.kubectl("apply", "-f", "-", input=MANIFESTS).returncode == 0
        wait_for(lambda: http.get("/pets/prod/pets").status_code == 403, timeout_s=60, what="the Api served")

        no_plan = kumo(kube_api, "api-keys", "create", "--kubernetes", "--api", "pets", "--plan", "gold")
        assert no_plan.returncode == 1 and "no usage plan 'gold'" in no_plan.stderr
        no_api = kumo(kube_api, "api-keys", "create", "--kubernetes", "--api", "cats", "--plan", "basic")
        assert no_api.returncode == 1 and "Api default/cats not found" in no_api.stderr

        args = ["--kubernetes", "--namespace", "default", "--api", "pets"]
        created = kumo(kube_api, "api-keys", "create", *args, "--plan", "basic", "--name", "alice")
        assert created.returncode == 0, created.stderr
        lines = created.stdout.splitlines()
        assert lines[0] == "created API key default.alice on plan basic of Api pets"
        value = lines[1]
        served = wait_for(
            lambda: (r := http.get("/pets/prod/pets", headers={"x-api-key": value})).status_code == 200 and r,
            timeout_s=60,
            what="the new key accepted",
        )
        assert served.text == "pets"

        listed = kumo(kube_api, "api-keys", "list", *args)
        assert listed.returncode == 0 and "default.alice" in listed.stdout and "basic" in listed.stdout
        assert value not in listed.stdout

        assert kumo(kube_api, "api-keys", "delete", *args, "default.nobody").returncode == 1
        deleted = kumo(kube_api, "api-keys", "delete", *args, "default.alice")
        assert deleted.returncode == 0, deleted.stderr
        wait_for(
            lambda: http.get("/pets/prod/pets", headers={"x-api-key": value}).status_code == 403,
            timeout_s=30,
            what="the deleted key refused",
        )
        assert "has no API keys" in kumo(kube_api, "api-keys", "list", *args).stdout
