"""The ``kumo`` command: one entry for every process the platform runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import kumo
from kumo_cli.code_store_commands import codestore, deploy, package_app
from kumo_cli.layers import layer_app
from kumo_cli.sam import OVERRIDES_HELP, overrides_or_exit, sam_app

app = typer.Typer(
    help="Kumo: Lambda-, API Gateway- and DynamoDB-style serverless on Kubernetes or one laptop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


app.add_typer(layer_app, name="layer")
app.add_typer(sam_app, name="sam")
app.add_typer(package_app, name="package")
app.command("codestore")(codestore)
app.command("deploy")(deploy)


@app.command()
def version() -> None:
    """Print Kumo's version."""
    typer.echo(f"kumo {kumo.__version__}")


@app.command()
def up(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Manifest files or folders (multi-document YAML), or SAM templates.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address the gateway listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port the gateway listens on.")] = 8080,
    state_dir: Annotated[Path, typer.Option(help="Where instances, logs and data live.")] = Path(".kumo"),
    watch_interval: Annotated[
        float, typer.Option(help="Seconds between checks of the manifests for edits (0: do not follow edits).")
    ] = 0.5,
    insecure_no_auth: Annotated[
        bool,
        typer.Option(
            "--insecure-no-auth", help="Serve the Lambda and DynamoDB APIs WITHOUT authentication (loopback only)."
        ),
    ] = False,
    redis_url: Annotated[
        str | None,
        typer.Option(help="Use this Redis for shared state (keys, limits) instead of starting a private one."),
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="Also serve requests for this Host name (repeatable; loopback names and --host always are; "
            "'*' allows any). Also KUMO_ALLOWED_HOSTS (comma-separated).",
        ),
    ] = None,
    concurrency_limit: Annotated[
        int, typer.Option(help="The account's concurrent executions (Lambda's default: 1000; 0: no limit, no leases).")
    ] = 1000,
    async_workers: Annotated[
        int, typer.Option(help="Async invocation workers to run (kumo worker subprocesses; 0: none).")
    ] = 1,
    async_retry_delay: Annotated[
        str, typer.Option(help="Base delay before retrying a failed async event (Lambda: 60s, then twice it).")
    ] = "60s",
    async_visibility_timeout: Annotated[
        str, typer.Option(help="How long an event a stopped worker held waits before another worker takes it.")
    ] = "30s",
    redis_appendfsync: Annotated[
        str, typer.Option(help="The private Redis' AOF fsync policy: everysec (may lose ~1 s on a crash) or always.")
    ] = "everysec",
    parameter_overrides: Annotated[list[str] | None, typer.Option("--parameter-overrides", help=OVERRIDES_HELP)] = None,
    code_storage_limit: Annotated[
        int,
        typer.Option(help="Bytes of deployment packages the Lambda API may store (Lambda's default: 75 GB)."),
    ] = 75 * 1024**3,
) -> None:
    """Run the whole platform on this machine: gateway plus functions as local processes; follows manifest edits."""
    from kumo_gateway.local.serve import run_up

    parameters = overrides_or_exit(parameter_overrides, "kumo up")

    raise typer.Exit(
        run_up(
            paths or [],
            host=host,
            port=port,
            state_dir=state_dir,
            watch_interval_s=max(watch_interval, 0.0),
            insecure_no_auth=insecure_no_auth,
            redis_url=redis_url,
            allowed_hosts=allowed_host or (),
            concurrency_limit=concurrency_limit,
            async_options=_async_options(async_workers, async_retry_delay, async_visibility_timeout, redis_appendfsync),
            parameters=parameters,
            code_storage_limit=code_storage_limit,
        )
    )


def _async_options(workers: int, retry_delay: str, visibility_timeout: str, appendfsync: str):
    from kumo.models import parse_duration
    from kumo_gateway.local.async_workers import AsyncOptions

    try:
        options = AsyncOptions(
            workers=workers,
            retry_delay_s=parse_duration(retry_delay),
            visibility_timeout_s=parse_duration(visibility_timeout),
            appendfsync=appendfsync,
        )
        options.check()
    except ValueError as exc:
        typer.echo(f"kumo up: {exc}", err=True)
        raise typer.Exit(2) from None
    return options


@app.command()
def worker(
    redis_url: Annotated[str, typer.Option(envvar="KUMO_REDIS_URL", help="The platform's Redis.")],
    gateway_url: Annotated[
        str, typer.Option(envvar="KUMO_GATEWAY_URL", help="The gateway the worker invokes functions through.")
    ] = "http://127.0.0.1:8080",
    concurrency: Annotated[int, typer.Option(help="Events run at once by this worker.")] = 32,
    retry_delay: Annotated[
        str, typer.Option(envvar="KUMO_ASYNC_RETRY_DELAY", help="Base retry delay after a function error.")
    ] = "60s",
    visibility_timeout: Annotated[
        str,
        typer.Option(
            envvar="KUMO_ASYNC_VISIBILITY_TIMEOUT", help="Idle time after which a stopped worker's events are taken."
        ),
    ] = "30s",
    consumer: Annotated[str | None, typer.Option(help="Consumer name in the group (default: host-pid).")] = None,
    exit_with_parent: Annotated[
        int | None, typer.Option(help="Stop when this process (the kumo up that started it) is gone.")
    ] = None,
) -> None:
    """Run an async invocation worker: consume queued events, invoke through the gateway, retry, dead-letter;
    also fire the functions' schedules and poll their queues (the event sources the gateway publishes).

    Credentials: KUMO_WORKER_ACCESS_KEY_ID / KUMO_WORKER_SECRET_ACCESS_KEY (kumo up passes its worker key)."""
    import asyncio
    import logging
    import os

    from kumo.aws_signing import SigV4Auth
    from kumo.event_loop import loop_factory
    from kumo.models import parse_duration
    from kumo_gateway.async_.worker import WorkerSettings, run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    key_id = os.environ.get("KUMO_WORKER_ACCESS_KEY_ID") or os.environ.get("AWS_ACCESS_KEY_ID")
    secret = os.environ.get("KUMO_WORKER_SECRET_ACCESS_KEY") or os.environ.get("AWS_SECRET_ACCESS_KEY")
    auth = SigV4Auth(key_id, secret, "lambda") if key_id and secret else None
    try:
        settings = WorkerSettings(
            gateway_url=gateway_url,
            concurrency=max(concurrency, 1),
            retry_delay_s=parse_duration(retry_delay),
            visibility_timeout_s=parse_duration(visibility_timeout),
            parent_pid=exit_with_parent,
        )
    except ValueError as exc:
        typer.echo(f"kumo worker: {exc}", err=True)
        raise typer.Exit(2) from None
    if consumer:
        settings.consumer = consumer
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        raise typer.Exit(runner.run(run_worker(redis_url, settings, auth)))


@app.command()
def invoke(
    name: Annotated[str, typer.Argument(help="Function name, name:qualifier or ARN.")],
    payload: Annotated[str, typer.Option(help="JSON event.")] = "{}",
    url: Annotated[str, typer.Option(help="Gateway URL.", envvar="KUMO_URL")] = "http://127.0.0.1:8080",
    qualifier: Annotated[str | None, typer.Option(help="Version or alias.")] = None,
    log: Annotated[bool, typer.Option("--log", help="Print the invocation's log tail to stderr.")] = False,
    async_: Annotated[
        bool, typer.Option("--async", help="Invoke asynchronously (InvocationType=Event): prints the request id.")
    ] = False,
    state_dir: Annotated[
        Path, typer.Option(help="State directory of the local platform (its default key and admin token).")
    ] = Path(".kumo"),
) -> None:
    """Invoke a function and print its result (with --async: queue the event, print its request id)."""
    from kumo.invoke_client import InvokeError
    from kumo.invoke_client import invoke as do_invoke
    from kumo_cli.platform_access import lambda_auth

    try:
        outcome = do_invoke(
            url, name, payload, qualifier=qualifier, tail=log, auth=lambda_auth(state_dir), event=async_
        )
    except InvokeError as exc:
        typer.echo(f"kumo invoke: {exc}", err=True)
        raise typer.Exit(1) from None
    if outcome.log:
        typer.echo(outcome.log, err=True, nl=False)
    typer.echo(outcome.payload.decode(errors="replace"))
    if outcome.function_error:
        typer.echo(f"kumo invoke: function error ({outcome.function_error})", err=True)
        raise typer.Exit(1)


@app.command()
def publish(
    name: Annotated[str, typer.Argument(help="Function name or ARN.")],
    description: Annotated[str, typer.Option(help="The version's description.")] = "",
    url: Annotated[str, typer.Option(help="Platform URL.", envvar="KUMO_URL")] = "http://127.0.0.1:8080",
    state_dir: Annotated[
        Path,
        typer.Option(
            help="State directory of the local platform: its default key and admin token; with --manifests, "
            "where to publish offline (kumo up stopped)."
        ),
    ] = Path(".kumo"),
    manifests: Annotated[
        list[Path] | None,
        typer.Option("--manifests", help="Publish offline from these manifests into --state-dir (kumo up stopped)."),
    ] = None,
    environment: Annotated[
        list[str] | None,
        typer.Option("--environment", help="With --manifests: NAME=VALUE overriding spec.environment (repeatable)."),
    ] = None,
) -> None:
    """Publish the function's current code and configuration as a version (same version if nothing changed)."""
    if manifests:
        from kumo_cli.seed import SeedError, parse_environment, publish_offline

        try:
            published = publish_offline(
                manifests,
                name,
                state_dir,
                environment=parse_environment(environment or []),
                description=description,
            )
        except SeedError as exc:
            typer.echo(f"kumo publish: {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"function {name}: version {published.version} in {state_dir}")
        return
    if environment:
        typer.echo("kumo publish: --environment needs --manifests (offline publishing)", err=True)
        raise typer.Exit(2)
    from kumo_cli.platform_access import lambda_auth
    from kumo_cli.publish import PublishError, publish_version, summary

    try:
        configuration = publish_version(url, name, description, auth=lambda_auth(state_dir))
    except PublishError as exc:
        typer.echo(f"kumo publish: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(summary(configuration))


@app.command()
def gateway(
    paths: Annotated[list[Path] | None, typer.Argument(help="Manifest files or folders to serve.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    state_dir: Annotated[Path, typer.Option(help="Where local instances keep code, logs and /tmp.")] = Path(".kumo"),
    kubernetes: Annotated[
        bool, typer.Option("--kubernetes", help="Serve the cluster's Functions and Apis (pods), not manifests.")
    ] = False,
    namespace: Annotated[
        str | None, typer.Option(help="With --kubernetes: watch one namespace (default: all).")
    ] = None,
    redis_url: Annotated[
        str | None, typer.Option(envvar="KUMO_REDIS_URL", help="With --kubernetes: Redis for load reports.")
    ] = None,
) -> None:
    """Run the gateway alone: the given manifests with the local provider, or the cluster's with --kubernetes."""
    if kubernetes:
        if paths:
            typer.echo("kumo gateway: --kubernetes takes no manifest paths", err=True)
            raise typer.Exit(2)
        from kumo_gateway.kubernetes.serve import run_kubernetes_gateway

        raise typer.Exit(run_kubernetes_gateway(host=host, port=port, namespace=namespace, redis_url=redis_url))
    from kumo_gateway.local.serve import run_up

    raise typer.Exit(run_up(paths or [], host=host, port=port, state_dir=state_dir))


@app.command()
def runtime(
    function_name: Annotated[str | None, typer.Option(envvar="KUMO_FUNCTION_NAME", help="Function name.")] = None,
    handler: Annotated[str | None, typer.Option(envvar="KUMO_HANDLER", help="module.function")] = None,
    runtime_name: Annotated[
        str | None, typer.Option("--runtime", envvar="KUMO_RUNTIME", help="python3.11, python3.12 or python3.13.")
    ] = None,
    code_dir: Annotated[Path | None, typer.Option(envvar="KUMO_CODE_DIR", help="The function's code.")] = None,
    memory: Annotated[int, typer.Option(envvar="KUMO_MEMORY_MB", help="Memory limit in MB.")] = 128,
    timeout: Annotated[float, typer.Option(envvar="KUMO_TIMEOUT_S", help="Timeout in seconds.")] = 3.0,
    function_version: Annotated[str, typer.Option(envvar="KUMO_FUNCTION_VERSION")] = "$LATEST",
    region: Annotated[
        str | None, typer.Option(envvar="KUMO_REGION", help="Defaults to AWS_REGION or us-east-1.")
    ] = None,
    account_id: Annotated[str, typer.Option(envvar="KUMO_ACCOUNT_ID")] = "000000000000",
    env: Annotated[list[str] | None, typer.Option("--env", help="KEY=VALUE for the function (repeatable).")] = None,
    command: Annotated[
        str | None, typer.Option(envvar="KUMO_COMMAND", help="Run this instead of Kumo's runtime client.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address of the invoke endpoint.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="Port of the invoke endpoint.")] = 8080,
    log_dir: Annotated[Path | None, typer.Option(help="Write instance logs here.")] = None,
) -> None:
    """Run one function instance: the runtime host and its language runtime (a pod's main process)."""
    import json
    import os

    from kumo.runtime.config import ConfigError, config_from_env
    from kumo.runtime.sandbox import make_non_dumpable
    from kumo.runtime.standalone import run_standalone

    # In a pod the function runs as this process's user: keep its /proc/<pid>/environ (the platform
    # credential) and memory unreadable to it.
    make_non_dumpable()
    variables = dict(os.environ)
    options = {
        "KUMO_FUNCTION_NAME": function_name,
        "KUMO_HANDLER": handler,
        "KUMO_RUNTIME": runtime_name,
        "KUMO_CODE_DIR": str(code_dir) if code_dir else None,
        "KUMO_MEMORY_MB": str(memory),
        "KUMO_TIMEOUT_S": str(timeout),
        "KUMO_FUNCTION_VERSION": function_version,
        "KUMO_REGION": region,
        "KUMO_ACCOUNT_ID": account_id,
        "KUMO_COMMAND": command,
    }
    variables.update({k: v for k, v in options.items() if v is not None})
    if env:
        pairs = json.loads(variables.get("KUMO_ENVIRONMENT") or "{}")
        for item in env:
            key, sep, value = item.partition("=")
            if not sep:
                typer.echo(f"kumo runtime: --env expects KEY=VALUE, got {item!r}", err=True)
                raise typer.Exit(2)
            pairs[key] = value
        variables["KUMO_ENVIRONMENT"] = json.dumps(pairs)
    try:
        config = config_from_env(variables)
    except (ConfigError, ValueError) as exc:
        typer.echo(f"kumo runtime: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(run_standalone(config, host=host, port=port, log_dir=log_dir))


def _credentials_app() -> typer.Typer:
    from kumo_cli.credentials import app as credentials

    return credentials


app.add_typer(_credentials_app(), name="credentials")

api_app = typer.Typer(help="Change the Apis of a running platform (through its admin API).", no_args_is_help=True)
app.add_typer(api_app, name="api")


@api_app.command("promote")
def api_promote(
    name: Annotated[str, typer.Argument(help="Api name.")],
    stage: Annotated[str, typer.Argument(help="Stage whose canary to promote.")],
    url: Annotated[str, typer.Option(help="Gateway URL.", envvar="KUMO_URL")] = "http://127.0.0.1:8080",
    kubernetes: Annotated[
        bool, typer.Option("--kubernetes", help="Promote in a cluster: patch the Api resource (kubeconfig).")
    ] = False,
    namespace: Annotated[str, typer.Option(help="The Api's namespace (with --kubernetes).")] = "default",
    state_dir: Annotated[
        Path, typer.Option(help="State directory of the local platform (its default key and admin token).")
    ] = Path(".kumo"),
) -> None:
    """Promote a stage's canary: its variable overrides become the stage's variables, its share 0 %."""
    from kumo_cli import api_promote as promote
    from kumo_cli.platform_access import admin_headers

    if kubernetes:
        code, message = promote.in_cluster(name, stage, namespace)
    else:
        code, message = promote.through_admin_api(url, name, stage, admin_headers(state_dir))
    typer.echo(message, err=code != 0)
    raise typer.Exit(code)


def _api_keys_app() -> typer.Typer:
    from kumo_cli.api_keys_commands import app as api_keys

    return api_keys


app.add_typer(_api_keys_app(), name="api-keys")


def _dlq_app() -> typer.Typer:
    from kumo_cli.dlq import app as dlq

    return dlq


app.add_typer(_dlq_app(), name="dlq")


def pod_ordinal(pod_name: str) -> int | None:
    """The ordinal of a StatefulSet pod name (``table-orders-2`` -> 2), None when it has none."""
    _, sep, tail = pod_name.rpartition("-")
    return int(tail) if sep and tail.isascii() and tail.isdigit() else None


@app.command()
def partition(
    data_dir: Annotated[Path, typer.Option(help="Where this partition's data lives.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 0,
    table: Annotated[str | None, typer.Option(help="Table name (for logs and checks).")] = None,
    partition: Annotated[int, typer.Option(help="Partition index.")] = 0,
    pod_name: Annotated[
        str | None,
        typer.Option(help="StatefulSet pod name; its ordinal suffix (`table-x-2` -> 2) is the partition index."),
    ] = None,
    durability: Annotated[str, typer.Option(help="full, normal or off.")] = "full",
    ttl_interval: Annotated[float, typer.Option(help="Seconds between TTL sweeps.")] = 1.0,
) -> None:
    """Serve one partition of one table (started by `kumo up` or the operator's StatefulSet)."""
    import logging

    from kumo.runtime.sandbox import make_non_dumpable
    from kumo_tablestore.server import run_partition

    make_non_dumpable()  # functions of the same user cannot read its /proc/<pid>/environ (credentials)
    if pod_name is not None:
        ordinal = pod_ordinal(pod_name)
        if ordinal is None:
            typer.echo(f"kumo partition: --pod-name {pod_name!r} does not end in -<ordinal>", err=True)
            raise typer.Exit(2)
        partition = ordinal
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    raise typer.Exit(
        run_partition(
            data_dir=data_dir,
            host=host,
            port=port,
            table=table,
            partition=partition,
            durability=durability,
            ttl_interval_s=ttl_interval,
        )
    )


@app.command()
def operator(
    namespace: Annotated[str | None, typer.Option(help="Watch one namespace (default: all).")] = None,
    redis_url: Annotated[
        str | None, typer.Option(envvar="KUMO_REDIS_URL", help="Redis with the gateways' load reports.")
    ] = None,
    liveness: Annotated[str | None, typer.Option(help="Liveness endpoint, e.g. http://0.0.0.0:8081/healthz.")] = None,
    peering: Annotated[bool, typer.Option(help="Use kopf peering (several operator replicas).")] = False,
) -> None:
    """Run the Kubernetes operator: reconcile Functions, Tables and Apis; autoscale functions."""
    from kumo_operator.main import main as operator_main

    args = [f"--namespace={namespace}"] if namespace else []
    args += [f"--redis-url={redis_url}"] if redis_url else []
    args += [f"--liveness={liveness}"] if liveness else []
    args += ["--peering"] if peering else []
    raise typer.Exit(operator_main(args))


def main() -> None:
    app()


if __name__ == "__main__":
    main()

queue_app = typer.Typer(help="Kumo queues (SQS-compatible, on the gateway).", no_args_is_help=True)
app.add_typer(queue_app, name="queue")


@queue_app.command("send")
def queue_send(
    name: Annotated[str, typer.Argument(help="Queue name.")],
    body: Annotated[str, typer.Argument(help="Message body.")],
    url: Annotated[str, typer.Option(help="Gateway URL.", envvar="KUMO_URL")] = "http://127.0.0.1:8080",
    state_dir: Annotated[Path, typer.Option(help="State directory of the local platform (its default key).")] = Path(
        ".kumo"
    ),
) -> None:
    """Send one message to a queue (SigV4-signed SendMessage) and print its message id."""
    from kumo.queue_client import QueueError, send
    from kumo_cli.platform_access import lambda_auth

    try:
        typer.echo(send(url, name, body, auth=lambda_auth(state_dir, "sqs")))
    except QueueError as exc:
        typer.echo(f"kumo queue send: {exc}", err=True)
        raise typer.Exit(1) from None
