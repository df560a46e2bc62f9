"""Test doubles for gateway tests: stand-in resource objects and an in-process provider.

The provider runs plain Python callables as "instances" — fine for gateway-level tests; the real
provider and runtime are covered by the end-to-end suite.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from kumo.models.function import Concurrency
from kumo.runtime.invocation import Invocation, InvocationResult
from kumo_gateway.apigateway.route_matching import RouteSpec
from kumo_gateway.provider import FunctionNotFound, InstanceUnavailable, TooManyRequests


@dataclass
class Meta:
    name: str


@dataclass
class FunctionSpec:
    timeout: float = 3.0
    memory: int = 128
    concurrency: Concurrency = field(default_factory=Concurrency)


@dataclass
class FakeFunction:
    metadata: Meta
    spec: FunctionSpec = field(default_factory=FunctionSpec)


@dataclass
class Stage:
    name: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass
class ApiSpec:
    routes: list[RouteSpec]
    stages: list[Stage] = field(default_factory=list)
    payload_format: str = "2.0"
    binary_media_types: list[str] = field(default_factory=list)


@dataclass
class FakeApi:
    metadata: Meta
    spec: ApiSpec


def function(name: str) -> FakeFunction:
    return FakeFunction(Meta(name))


def api(name: str, routes: list[RouteSpec], stages: list[Stage] | None = None) -> FakeApi:
    return FakeApi(Meta(name), ApiSpec(routes, stages or []))


Handler = Callable[[Invocation], InvocationResult]


class InProcessInstance:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def invoke(self, invocation: Invocation) -> InvocationResult:
        return self.handler(invocation)


class InProcessProvider:
    """Runs registered callables; names in ``throttled``/``unavailable`` fail to acquire."""

    def __init__(self, handlers: dict[str, Handler]) -> None:
        self.handlers = handlers
        self.throttled: set[str] = set()
        self.unavailable: set[str] = set()
        self.invocations: list[Invocation] = []
        self.started = False
        self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    @contextlib.asynccontextmanager
    async def acquire(self, function: str, version: str) -> AsyncIterator[InProcessInstance]:
        if function in self.throttled:
            raise TooManyRequests("Rate Exceeded.", retry_after_s=2)
        if function in self.unavailable:
            raise InstanceUnavailable("wake from zero timed out")
        handler = self.handlers.get(function)
        if handler is None:
            raise FunctionNotFound(function)

        def recording(invocation: Invocation) -> InvocationResult:
            self.invocations.append(invocation)
            return handler(invocation)

        yield InProcessInstance(recording)


def echo(invocation: Invocation) -> InvocationResult:
    """Returns ``{"event": <payload>, "arn": ..., "clientContext": ...}``."""
    body = {
        "event": json.loads(invocation.payload),
        "arn": invocation.invoked_function_arn,
        "clientContext": invocation.client_context,
    }
    return InvocationResult(json.dumps(body).encode(), log_tail=b"START\nhello\nEND\n")


def returns(payload: bytes, function_error: str | None = None) -> Handler:
    def handler(invocation: Invocation) -> InvocationResult:
        return InvocationResult(payload, function_error=function_error, log_tail=b"x" * 5000 + b"tail-end")

    return handler


def crashes(invocation: Invocation) -> InvocationResult:
    raise RuntimeError("the instance blew up")
