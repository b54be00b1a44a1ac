"""The path of every request's events: check → drop resends → publish → outcome per event.

An event is `accepted` only once Kafka has acknowledged it. If Kafka does not acknowledge every
event to publish in time, :class:`KafkaUnavailable` propagates and the whole request is answered
503: the caller sends it again, and what did reach Kafka comes back as `duplicate`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

from services.auth import Grant
from services.ingest.bodies import Item
from services.ingest.checks import EventPolicy, Rejected, conflict
from services.ingest.dedup import DuplicateWindow
from services.ingest.metrics import IngestMetrics
from services.ingest.publisher import KafkaUnavailable, Publisher
from tthc.events import EVENT_TYPES, Event

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"


class Intake:
    def __init__(
        self,
        policy: EventPolicy,
        window: DuplicateWindow,
        publisher: Publisher,
        metrics: IngestMetrics,
    ) -> None:
        self.policy = policy
        self.window = window
        self.publisher = publisher
        self.metrics = metrics

    async def submit(self, items: Sequence[Item], grant: Grant) -> None:
        """Give every item its outcome; KafkaUnavailable when Kafka did not take them all."""
        batch_procedures: set[str] = set()
        batch_digests: dict[tuple[str, ...], bytes] = {}
        to_publish: list[Item] = []
        waiting: list[tuple[Item, asyncio.Future[bool]]] = []
        for item in items:
            if item.rejection is None:
                try:
                    item.event, item.value = self.policy.check(item.raw, grant, batch_procedures)
                except Rejected as rejected:
                    item.rejection = rejected.rejection
            if item.rejection is not None or item.event is None:
                item.outcome = REJECTED
                continue
            key = (grant.name, *item.event.key)
            digest = hashlib.blake2b(item.value or b"", digest_size=16).digest()
            first = batch_digests.get(key) or self.window.known(key)
            if first is not None and first != digest:
                item.rejection = conflict(item.event)
                item.outcome = REJECTED
                continue
            if key in batch_digests or self.window.seen(key):
                item.outcome = DUPLICATE
                continue
            batch_digests[key] = digest
            in_flight = self.window.in_flight(key)
            if in_flight is not None:
                waiting.append((item, in_flight))
                continue
            self.window.begin(key, digest)
            to_publish.append(item)

        def on_delivered(event: Event, ok: bool) -> None:
            self.window.end((grant.name, *event.key), ok)
            if ok:
                self.policy.learn(event)

        try:
            await self.publisher.publish(
                [(i.event, i.value) for i in to_publish if i.event and i.value], on_delivered
            )
            for item in to_publish:
                item.outcome = ACCEPTED
            # The same event is being published by another request: its outcome is ours.
            for item, in_flight in waiting:
                delivered = await asyncio.wait_for(
                    asyncio.shield(in_flight), timeout=self.publisher.timeout
                )
                if not delivered:
                    raise KafkaUnavailable("a concurrent publish of the same event failed")
                item.outcome = DUPLICATE
        except (KafkaUnavailable, TimeoutError):
            for item in items:
                if item.outcome != REJECTED:
                    item.outcome = None
            self._count(items, unavailable=True)
            raise KafkaUnavailable("Kafka did not acknowledge in time") from None
        self._count(items)
        accepted = sum(item.outcome == ACCEPTED for item in items)
        self.metrics.integration_events.labels(grant.name).inc(accepted)
        self.metrics.duplicate_window.set(len(self.window))

    def _count(self, items: Sequence[Item], *, unavailable: bool = False) -> None:
        for item in items:
            type_ = item.event.type if item.event is not None else _known_type(item)
            if item.outcome == REJECTED and item.rejection is not None:
                self.metrics.events.labels(type_, REJECTED, item.rejection.reason.value).inc()
            elif unavailable:
                self.metrics.events.labels(type_, "unavailable", "kafka").inc()
            else:
                self.metrics.events.labels(type_, item.outcome or "unknown", "").inc()


def _known_type(item: Item) -> str:
    claimed = item.claimed("type")
    # Label values stay bounded: a type we do not know is "unknown", whatever was sent.
    return claimed if claimed in EVENT_TYPES else "unknown"
