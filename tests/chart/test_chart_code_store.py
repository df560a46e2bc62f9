"""The chart's code store: PVC + Deployment + Service + NetworkPolicy, its URL in the platform's env."""

from __future__ import annotations

from chart_render import CHART, find, one, render, run_helm
from test_chart_networkpolicy import pod_labels, selects

from kumo.models.quantities import parse_size_bytes
from kumo.packages.code_store import PORT


def env_of(deployment: dict) -> dict[str, str | None]:
    (container, *_) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value") for e in container["env"]}


def test_code_store_runs_over_a_claim_with_the_platform_credential() -> None:
    objects = render()
    claim = one(objects, "PersistentVolumeClaim", "kumo-codestore")
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert "storageClassName" not in claim["spec"]
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    deployment = one(objects, "Deployment", "kumo-codestore")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}  # a ReadWriteOnce volume
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["codestore", "--root=/data", f"--port={PORT}", "--storage-limit=9Gi"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "kumo-codestore"}} in pod["volumes"]
    credential = next(e for e in container["env"] if e["name"] == "KUMO_PLATFORM_CREDENTIAL")
    assert credential["valueFrom"]["secretKeyRef"]["name"] == "kumo-platform-credential"
    service = one(objects, "Service", "kumo-codestore")
    assert service["spec"]["ports"][0]["port"] == PORT
    url = f"http://kumo-codestore.kumo.svc:{PORT}"
    for name in ("kumo-gateway", "kumo-operator"):
        assert env_of(one(objects, "Deployment", name))["KUMO_CODE_STORE_URL"] == url


def test_size_storage_class_and_switching_it_off() -> None:
    claim = one(render("codeStore.size=50Gi", "codeStore.storageClass=fast"), "PersistentVolumeClaim", "kumo-codestore")
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert claim["spec"]["storageClassName"] == "fast"
    off = render("codeStore.enabled=false")
    assert [o for o in off if "codestore" in o["metadata"]["name"]] == []
    assert "KUMO_CODE_STORE_URL" not in env_of(one(off, "Deployment", "kumo-operator"))
    bad = run_helm("template", "kumo", str(CHART), "--set", "codeStore.size=lots")
    assert bad.returncode != 0 and "codeStore/size" in bad.stderr


def test_storage_limit_reaches_the_store_and_is_schema_checked() -> None:
    def limit_arg(objects: list[dict]) -> str:
        (container,) = one(objects, "Deployment", "kumo-codestore")["spec"]["template"]["spec"]["containers"]
        (arg,) = [a for a in container["args"] if a.startswith("--storage-limit=")]
        return arg.removeprefix("--storage-limit=")

    # by default a little below the volume, so the limit answers before the volume is full
    claim = one(render(), "PersistentVolumeClaim", "kumo-codestore")["spec"]["resources"]["requests"]["storage"]
    assert 0.8 * parse_size_bytes(claim) <= parse_size_bytes(limit_arg(render())) < parse_size_bytes(claim)
    assert limit_arg(render("codeStore.storageLimit=8Gi")) == "8Gi"
    plain = run_helm("template", "kumo", str(CHART), "--set-string", "codeStore.storageLimit=1000000")
    assert plain.returncode == 0 and "--storage-limit=1000000\n" in plain.stdout  # plain bytes, as a string
    for bad in ("lots", "1.5", "-1Gi", "10GB"):
        refused = run_helm("template", "kumo", str(CHART), "--set-string", f"codeStore.storageLimit={bad}")
        assert refused.returncode != 0 and "codeStore/storageLimit" in refused.stderr, bad
    # a YAML number is refused too: helm would render a large one as 8.05306368e+10
    number = run_helm("template", "kumo", str(CHART), "--set", "codeStore.storageLimit=80530636800")
    assert number.returncode != 0 and "codeStore/storageLimit" in number.stderr


def test_network_policy_admits_gateway_operator_and_function_pods_only() -> None:
    labels = pod_labels()
    policy = one(render(), "NetworkPolicy", "kumo-codestore")
    codestore = one(render(), "Deployment", "kumo-codestore")["spec"]["template"]["metadata"]["labels"]
    assert selects(policy["spec"]["podSelector"], codestore)
    [rule] = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    admitted = [k for k in ("gateway", "operator", "function", "table") if any(
        selects(peer["podSelector"], labels[k]) for peer in rule["from"]
    )]  # fmt: skip
    assert admitted == ["gateway", "operator", "function"]
    functions_peer = rule["from"][2]
    assert functions_peer["namespaceSelector"] == {}  # function pods of any watched namespace
    scoped = one(render("watchNamespace=apps"), "NetworkPolicy", "kumo-codestore")["spec"]["ingress"][0]["from"][2]
    assert scoped["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "apps"}}
    assert find(render("networkPolicy.enabled=false"), "NetworkPolicy") == []


def test_garbage_collection_settings_reach_the_operator() -> None:
    env = env_of(one(render(), "Deployment", "kumo-operator"))
    assert (env["KUMO_CODE_STORE_GC_INTERVAL_S"], env["KUMO_CODE_STORE_GC_GRACE_S"]) == ("600", "3600")
    tuned = render("codeStore.gc.intervalSeconds=0", "codeStore.gc.graceSeconds=86400")
    env = env_of(one(tuned, "Deployment", "kumo-operator"))
    assert (env["KUMO_CODE_STORE_GC_INTERVAL_S"], env["KUMO_CODE_STORE_GC_GRACE_S"]) == ("0", "86400")
    bad = run_helm("template", "kumo", str(CHART), "--set", "codeStore.gc.graceSeconds=-1")
    assert bad.returncode != 0 and "codeStore/gc/graceSeconds" in bad.stderr


def test_the_node_cache_is_off_by_default_and_reaches_the_operator_when_enabled() -> None:
    for objects in (render(), render("codeStore.nodeCache.enabled=false")):
        env = env_of(one(objects, "Deployment", "kumo-operator"))
        assert "KUMO_NODE_CACHE_DIR" not in env and "KUMO_NODE_CACHE_MAX_BYTES" not in env
    on = render(
        "codeStore.nodeCache.enabled=true",
        "codeStore.nodeCache.hostPath=/mnt/kumo",
        "codeStore.nodeCache.maxSizeMiB=512",
    )
    env = env_of(one(on, "Deployment", "kumo-operator"))
    assert env["KUMO_NODE_CACHE_DIR"] == "/mnt/kumo"
    assert env["KUMO_NODE_CACHE_MAX_BYTES"] == str(512 * 1024 * 1024)
    # the platform's own pods never mount the node's directory: only function pods' fetch step does
    assert not any("hostPath" in str(o) for o in on)
    no_store = env_of(
        one(render("codeStore.enabled=false", "codeStore.nodeCache.enabled=true"), "Deployment", "kumo-operator")
    )
    assert "KUMO_NODE_CACHE_DIR" not in no_store
    for value in ("codeStore.nodeCache.hostPath=relative", "codeStore.nodeCache.maxSizeMiB=0"):
        bad = run_helm("template", "kumo", str(CHART), "--set", value)
        assert bad.returncode != 0 and "codeStore/nodeCache" in bad.stderr, value
