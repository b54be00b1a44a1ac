"""Publishing events to Kafka with kafka-python, without blocking the event loop.

kafka-python is synchronous: ``send`` may block while it fetches metadata, and its futures
resolve on the producer's sender thread. Sends run on a small thread pool; each Kafka future
is bridged to an asyncio future with ``call_soon_threadsafe``, so waiting for acknowledgements
costs no thread. The producer is idempotent with ``acks=all``: a record is acknowledged once
every in-sync replica has it, and the producer's own retries never duplicate it.

Kafka down at start is normal: the producer is created on first need, and while Kafka cannot be
reached every publish fails fast with :class:`KafkaUnavailable` (the API answers 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from kafka import KafkaProducer

from services.auth import Grant
from services.ingest.metrics import IngestMetrics
from services.observability import get_logger
from tthc.events import Event
from tthc.ownership import KEY_EXTENSION, SCOPE_EXTENSION

log = get_logger(__name__)

CONTENT_TYPE_HEADER = ("content-type", b"application/cloudevents+json")


class KafkaUnavailable(Exception):
    """Kafka did not acknowledge in time (or cannot be reached): retry later."""


def event_value(event: Event, grant: Grant | None = None) -> bytes:
    """The Kafka record value: the CloudEvent in structured mode, as JSON, stamped with the
    key it came through (the aggregator decides from it whose dossier the key may touch)."""
    cloudevent = event.to_cloudevent()
    if grant is not None:
        cloudevent[KEY_EXTENSION] = grant.name
        cloudevent[SCOPE_EXTENSION] = " ".join(grant.key.scope)
    return orjson.dumps(cloudevent)


def event_key(event: Event) -> bytes:
    """The Kafka record key: the dossier (feedback, procedure, commune) code."""
    return event.subject.encode("utf-8")


class Publisher:
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        timeout: float,
        linger_ms: int,
        retry_after: float,
        metrics: IngestMetrics,
    ) -> None:
        self.bootstrap = [s.strip() for s in bootstrap.split(",") if s.strip()]
        self.topic = topic
        self.timeout = timeout
        self.linger_ms = linger_ms
        self.retry_after = retry_after
        self.metrics = metrics
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kafka")
        self._producer: KafkaProducer | None = None
        self._creating = asyncio.Lock()
        self._last_failed_start = -float("inf")

    # --- producer lifecycle -----------------------------------------------------------------

    def _new_producer(self) -> KafkaProducer:
        timeout_ms = int(self.timeout * 1000)
        request_timeout_ms = max(1000, timeout_ms // 2)
        return KafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id="tthc-ingest",
            acks="all",
            enable_idempotence=True,
            linger_ms=self.linger_ms,
            batch_size=256 * 1024,
            max_block_ms=timeout_ms,
            request_timeout_ms=request_timeout_ms,
            delivery_timeout_ms=max(timeout_ms, self.linger_ms + request_timeout_ms),
            bootstrap_timeout_ms=timeout_ms,
            reconnect_backoff_max_ms=1000,
        )

    async def producer(self) -> KafkaProducer:
        """The producer, created now if needed; KafkaUnavailable if Kafka cannot be reached."""
        if self._producer is not None:
            return self._producer
        async with self._creating:
            if self._producer is not None:
                return self._producer
            # While Kafka is down, do not make every request wait for a bootstrap timeout.
            if time.monotonic() - self._last_failed_start < self.retry_after:
                raise KafkaUnavailable("Kafka was unreachable moments ago")
            loop = asyncio.get_running_loop()
            try:
                self._producer = await loop.run_in_executor(self._executor, self._new_producer)
            except Exception as error:
                self._last_failed_start = time.monotonic()
                self.metrics.kafka_up.set(0)
                log.warning("kafka_unreachable", bootstrap=self.bootstrap, error=repr(error))
                raise KafkaUnavailable(f"cannot reach Kafka: {error}") from None
            self.metrics.kafka_up.set(1)
            log.info("kafka_producer_ready", bootstrap=self.bootstrap, topic=self.topic)
            return self._producer

    async def start(self) -> None:
        """Try to connect now, so that the first request does not pay for it."""
        with contextlib.suppress(KafkaUnavailable):
            await self.producer()

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, lambda: producer.close(timeout=5))
        self._executor.shutdown(wait=False)

    async def ready(self) -> bool:
        """Kafka is reachable: the producer is up and a bootstrap server accepts connections."""
        try:
            await self.producer()
        except KafkaUnavailable:
            return False
        loop = asyncio.get_running_loop()
        up = await loop.run_in_executor(self._executor, self._any_bootstrap_answers)
        self.metrics.kafka_up.set(1 if up else 0)
        return up

    def _any_bootstrap_answers(self) -> bool:
        for server in self.bootstrap:
            host, _, port = server.rpartition(":")
            try:
                with socket.create_connection((host or "localhost", int(port)), timeout=1):
                    return True
            except (OSError, ValueError):
                continue
        return False

    # --- publishing -------------------------------------------------------------------------

    async def publish(
        self,
        records: Sequence[tuple[Event, bytes]],
        on_delivered: Callable[[Event, bool], None],
    ) -> None:
        """Send (event, value) pairs and wait until Kafka has acknowledged all of them.

        ``on_delivered(event, ok)`` is called on the event loop once per event when Kafka
        answers, even after this call gave up waiting: a late acknowledgement still means the
        event is in Kafka. Raises KafkaUnavailable when not all are acknowledged in time.
        """
        if not records:
            return
        events = [event for event, _ in records]
        started = time.perf_counter()
        deadline = time.monotonic() + self.timeout
        try:
            producer = await self.producer()
        except KafkaUnavailable:
            for event in events:
                on_delivered(event, False)
            raise
        loop = asyncio.get_running_loop()
        acks = _Acknowledgements(loop, events, on_delivered)

        def send_all() -> None:
            for index, (event, value) in enumerate(records):
                future = producer.send(
                    self.topic, key=event_key(event), value=value, headers=[CONTENT_TYPE_HEADER]
                )
                future.add_callback(acks.done, index)
                future.add_errback(acks.failed, index)
                acks.handed_over += 1

        error: str | None = None
        try:
            await loop.run_in_executor(self._executor, send_all)
        except Exception as exc:  # metadata timeout, closed producer, buffer full
            error = repr(exc)
            # Events never handed to Kafka get no callback: they are not delivered.
            for index in range(acks.handed_over, len(events)):
                acks.failed(index, None)
        try:
            delivered = await asyncio.wait_for(
                asyncio.shield(acks.all_settled), max(0.0, deadline - time.monotonic())
            )
        except TimeoutError:
            error = error or f"not all {len(events)} acknowledged within {self.timeout}s"
        else:
            if not delivered:
                error = error or "Kafka refused some events"
        self.metrics.produce_seconds.observe(time.perf_counter() - started)
        if error is None:
            self.metrics.kafka_up.set(1)
            return
        self.metrics.produce_failures.inc()
        self.metrics.kafka_up.set(0)
        log.warning("kafka_publish_failed", events=len(events), error=error)
        raise KafkaUnavailable(error)


class _Acknowledgements:
    """Kafka's answers for one publish, handed to the event loop in one wake-up.

    kafka-python calls back on its sender thread, once per record; waking the loop per record
    would cost a system call each. The outcomes are collected under a lock and the loop is woken
    once, when the last record is settled (acknowledged, refused or expired), which kafka-python
    guarantees within ``delivery_timeout_ms``: late answers still reach ``on_delivered``.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        events: Sequence[Event],
        on_delivered: Callable[[Event, bool], None],
    ) -> None:
        self._loop = loop
        self._events = events
        self._on_delivered = on_delivered
        self._lock = threading.Lock()
        self._outcomes: list[tuple[int, bool]] = []
        self.handed_over = 0
        self.all_settled: asyncio.Future[bool] = loop.create_future()

    # kafka-python calls ``callback(*args, value)``: the index first, then the metadata/error.
    def done(self, index: int, _: Any) -> None:
        self._settle(index, True)

    def failed(self, index: int, _: Any) -> None:
        self._settle(index, False)

    def _settle(self, index: int, ok: bool) -> None:
        with self._lock:
            self._outcomes.append((index, ok))
            last = len(self._outcomes) == len(self._events)
        if last:
            self._loop.call_soon_threadsafe(self._report)

    def _report(self) -> None:
        for index, ok in self._outcomes:
            self._on_delivered(self._events[index], ok)
        if not self.all_settled.done():
            self.all_settled.set_result(all(ok for _, ok in self._outcomes))
