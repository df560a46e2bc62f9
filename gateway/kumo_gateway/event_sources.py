"""The event sources of every Function (``spec.events``: queues, schedules), shared through Redis so that
``kumo worker`` processes — which have no catalog — run the queue pollers and the schedulers.

The gateway (which has the catalog: manifests in local mode, watches in a cluster) publishes one JSON
document at :data:`SOURCES_KEY` whenever its catalog changes, and again every :data:`REPUBLISH_S` (a
Redis restarted empty gets it back). Each worker reads it every second (one ``GET``) and starts or stops
pollers and schedules to match. Document: ``{"region", "account", "functions": [{"name", "timeout",
"asyncConfig", "events": [EventSource as in the manifest]}]}`` — only functions with event sources.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from kumo.models import Function
from kumo.models.events import EventSource
from kumo_gateway.async_.event_config import from_manifest

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from kumo.catalog import Catalog

log = logging.getLogger("kumo.event_sources")

SOURCES_KEY = "kumo:event-sources"
#: The gateway writes the document again this often even when nothing changed (seconds).
REPUBLISH_S = 30.0


@dataclass(frozen=True)
class FunctionSources:
    """What an event source needs of a Function."""

    name: str
    timeout_s: float
    #: The manifest's async settings (``spec.async``) as an event config's JSON (``async_.event_config``).
    async_config: str
    events: tuple[EventSource, ...]


class SourceView(Protocol):
    """Where pollers and schedulers find the functions' event sources."""

    generation: int
    region: str
    account_id: str

    def sources(self) -> list[FunctionSources]: ...


def sources_of(function: Function) -> FunctionSources:
    return FunctionSources(
        function.metadata.name,
        function.spec.timeout,
        from_manifest(function.spec.async_).to_json(),
        tuple(function.spec.events),
    )


def document(functions: Iterable[Function], region: str, account_id: str) -> str:
    """The published document (pure): the functions that have event sources."""
    listed: list[dict[str, Any]] = []
    for function in sorted(functions, key=lambda f: f.metadata.name):
        if not function.spec.events:
            continue
        found = sources_of(function)
        listed.append(
            {
                "name": found.name,
                "timeout": found.timeout_s,
                "asyncConfig": found.async_config,
                "events": [
                    e.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)
                    for e in found.events
                ],
            }
        )
    return json.dumps({"region": region, "account": account_id, "functions": listed}, separators=(",", ":"))


def _as_written(source: EventSource) -> dict[str, Any]:
    """The entry as the manifest gave it (defaults left out: the worker's validation fills them in)."""
    return source.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)


def parse_document(text: str) -> tuple[str, str, list[FunctionSources]]:
    """``(region, account, sources)`` of a published document; entries that no longer validate are skipped."""
    data = json.loads(text)
    found = []
    for item in data.get("functions", []):
        try:
            events = tuple(EventSource.model_validate(e) for e in item["events"])
            found.append(FunctionSources(item["name"], float(item["timeout"]), item["asyncConfig"], events))
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("event sources of %r skipped: %s", item.get("name"), exc)
    return data.get("region", "us-east-1"), data.get("account", "000000000000"), found


class CatalogSources:
    """A :class:`SourceView` over a catalog (in the gateway's own process, and in tests)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.region, self.account_id = catalog.region, catalog.account_id

    @property
    def generation(self) -> int:  # type: ignore[override]
        return self.catalog.generation

    def sources(self) -> list[FunctionSources]:
        return [sources_of(f) for f in self.catalog.functions() if f.spec.events]


class PublishedSources:
    """A :class:`SourceView` over the document in Redis (``kumo worker``); :meth:`refresh` re-reads it."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.generation = 0
        self.region, self.account_id = "us-east-1", "000000000000"
        self._text: bytes | None = None
        self._sources: list[FunctionSources] = []

    def sources(self) -> list[FunctionSources]:
        return self._sources

    async def refresh(self) -> bool:
        """Read the document (one GET); True when it changed."""
        text = await self.redis.get(SOURCES_KEY)
        if text == self._text:
            return False
        self._text = text
        if text is None:
            self._sources = []
        else:
            self.region, self.account_id, self._sources = parse_document(text.decode())
        self.generation += 1
        return True


async def publish_sources(catalog: Catalog, redis: Redis, *, interval_s: float = 1.0) -> None:
    """Run in the gateway until cancelled: write the document when the catalog changes (and every
    :data:`REPUBLISH_S`)."""
    seen, written_at = -1, 0.0
    loop = asyncio.get_running_loop()
    while True:
        now = loop.time()
        if catalog.generation != seen or now - written_at >= REPUBLISH_S:
            text = document(catalog.functions(), catalog.region, catalog.account_id)
            try:
                await redis.set(SOURCES_KEY, text)
                seen, written_at = catalog.generation, now
            except Exception as exc:  # Redis away: tried again next interval
                log.warning("publishing the event sources failed: %s", exc)
        await asyncio.sleep(interval_s)
