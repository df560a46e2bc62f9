"""The chart's async worker Deployment and Redis persistence values (helm template, real helm)."""

from __future__ import annotations

from chart_render import containers, one, render


def _args(objects: tuple, kind: str, name: str) -> list[str]:
    (container,) = containers(one(objects, kind, name))
    return container["args"]


def test_worker_deployment_follows_the_values() -> None:
    objects = render()
    args = _args(objects, "Deployment", "kumo-worker")
    assert args[0] == "worker"
    assert "--retry-delay=60s" in args and "--visibility-timeout=30s" in args
    assert "--gateway-url=http://kumo-gateway.kumo.svc:8080" in args or any(
        a.startswith("--gateway-url=http://kumo-gateway.kumo.svc:") for a in args
    )
    custom = render(
        "asyncWorker.retryDelay=1s",
        "asyncWorker.replicas=3",
        "asyncWorker.credentialsSecret=worker-key",
    )
    worker = one(custom, "Deployment", "kumo-worker")
    assert worker["spec"]["replicas"] == 3
    (container,) = containers(worker)
    assert "--retry-delay=1s" in container["args"]
    env = {e["name"]: e for e in container["env"]}
    assert env["KUMO_WORKER_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"] == {"name": "worker-key", "key": "accessKeyId"}
    assert "KUMO_REDIS_URL" in env
    assert not any(o["kind"] == "Deployment" and o["metadata"]["name"] == "kumo-worker" for o in render(
        "asyncWorker.enabled=false"
    ))  # fmt: skip


def test_redis_appendfsync_value() -> None:
    args = _args(render("redis.persistence.enabled=true"), "StatefulSet", "kumo-redis")
    assert args[args.index("--appendfsync") + 1] == "everysec"
    args = _args(
        render("redis.persistence.enabled=true", "redis.appendfsync=always"),
        "StatefulSet",
        "kumo-redis",
    )
    assert args[args.index("--appendfsync") + 1] == "always"
