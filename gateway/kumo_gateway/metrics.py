"""The gateway's Prometheus metrics (``GET /metrics``, the text exposition format of prometheus-client).

One :class:`GatewayMetrics` per app, on its own registry (tests build many apps in one process).
Everything a request path counts is named here, once:

- ``kumo_requests_total`` / ``kumo_request_duration_seconds``: every request, by ``surface``
  (``api``, ``lambda``, ``dynamodb``, ``admin``) and, for Api routes, ``api``/``stage``/``route``;
  ``status`` on the counter.
- ``kumo_throttled_total``: 429s by ``api``, ``stage`` and ``reason`` (``rate``: a token bucket
  was empty; ``quota``: a usage plan's quota is used up).
- ``kumo_auth_failures_total``: refused credentials by ``surface`` and ``reason`` (an error code:
  ``MissingAuthenticationTokenException``, ``Forbidden``, ``Unauthorized``, ...).
- ``kumo_authorizer_cache_total``: authorizer decisions by ``api``, ``authorizer`` and ``result``
  (``hit`` or ``miss``).
- ``kumo_cold_starts_total`` and ``kumo_instances``: read from the provider at scrape time
  (:class:`InstanceCount`), by ``function`` and ``version``.

- ``kumo_async_events_total``: async invocation counters kept in Redis by every gateway and worker
  (``event``: ``accepted``, ``succeeded``, ``failed``, ``retried``, ``throttled``, ``redelivered`` — an
  entry claimed from a stopped or stalled worker, a possible duplicate run —, ``redriven``,
  ``destination_failed``, ``malformed``), read at scrape time (:class:`AsyncEventCounts`).

Label values come from configuration (Api, stage, route keys, function names), never from request
text, so the number of series stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

#: Served by the framework; an Api path always has a stage segment too, so no Api shadows it.
METRICS_PATH = "/metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Request latency buckets (seconds): a warm invoke is ~1 ms, a cold start tens of ms, a slow function seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class InstanceCount:
    """One function version's instances as a provider sees them."""

    function: str
    version: str
    instances: int
    cold_starts: int


#: What a provider offers for scraping (optional: providers without it report nothing).
InstanceCounter = Callable[[], Iterable[InstanceCount]]


class _InstanceCollector(Collector):
    def __init__(self, counter: InstanceCounter) -> None:
        self.counter = counter

    def collect(self) -> Iterator[Metric]:
        instances = GaugeMetricFamily(
            "kumo_instances", "Running instances per function version.", labels=["function", "version"]
        )
        cold = CounterMetricFamily(
            "kumo_cold_starts", "Instances started per function version.", labels=["function", "version"]
        )
        for count in self.counter():
            instances.add_metric([count.function, count.version], count.instances)
            cold.add_metric([count.function, count.version], count.cold_starts)
        yield instances
        yield cold


class AsyncEventCounts(Collector):
    """The latest snapshot of the async counters (Redis ``kumo:async:stats``), refreshed per scrape."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def update(self, counts: dict[str, int]) -> None:
        self.counts = dict(counts)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "kumo_async_events", "Async invocation events by what happened to them (all workers).", labels=["event"]
        )
        for event, count in sorted(self.counts.items()):
            family.add_metric([event], count)
        yield family


class GatewayMetrics:
    """The counters and histograms one gateway app updates."""

    def __init__(self, instance_counter: InstanceCounter | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "kumo_requests",
            "Requests answered by the gateway.",
            ["surface", "api", "stage", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "kumo_request_duration_seconds",
            "Time from request to response, by surface and route.",
            ["surface", "api", "stage", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.throttled = Counter(
            "kumo_throttled",
            "Requests refused with 429 by a throttle (reason=rate) or a usage-plan quota (reason=quota).",
            ["api", "stage", "reason"],
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "kumo_auth_failures",
            "Requests refused for their credentials, by surface and error code.",
            ["surface", "reason"],
            registry=self.registry,
        )
        self.authorizer_cache = Counter(
            "kumo_authorizer_cache",
            "Authorizer decisions served from the cache (hit) or computed (miss).",
            ["api", "authorizer", "result"],
            registry=self.registry,
        )
        if instance_counter is not None:
            self.registry.register(_InstanceCollector(instance_counter))
        self.async_events = AsyncEventCounts()
        self.registry.register(self.async_events)

    def observe(
        self, surface: str, status: int, elapsed_s: float, api: str = "", stage: str = "", route: str = ""
    ) -> None:
        """Count one answered request."""
        self.requests.labels(surface, api, stage, route, str(status)).inc()
        self.latency.labels(surface, api, stage, route).observe(elapsed_s)

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)
