"""Writes fact rows to ClickHouse from asyncio, one thread for the blocking client.

A failed write is retried with a capped backoff until it succeeds: the batch is acknowledged
only after its rows are in ClickHouse, so waiting is the back-pressure (the consumer stops
taking records) and nothing is lost or skipped. `/healthz` reports the failures meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from services.aggregator.metrics import AggregatorMetrics
from services.aggregator.processing import PROCEDURE_EVENTS_MASK
from services.aggregator.rejections import RejectedEvent, insert_rejections
from services.observability import get_logger
from services.storage.clickhouse import Client, VersionedFacts, insert_facts
from services.storage.schema import TABLES
from tthc.expr import sql_literal
from tthc.measures import Subject

log = get_logger("aggregator.writer")
T = TypeVar("T")


class FactsWriter:
    def __init__(
        self, client: Client, metrics: AggregatorMetrics, retry_max_seconds: float = 30.0
    ) -> None:
        self.client = client
        self.metrics = metrics
        self.retry_max_seconds = retry_max_seconds
        # One thread: a client (chDB above all) is used by one thread at a time.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")
        self.failures_in_a_row = 0

    async def _run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, call, *args)

    async def write(self, rows: Mapping[Subject, Sequence[VersionedFacts]]) -> None:
        """Insert the rows (one insert per table); return only once ClickHouse has them."""
        if not any(rows.values()):
            return
        durations = await self._until_written(insert_facts, self.client, rows)
        for subject, seconds in durations.items():
            self.metrics.write_seconds.labels(subject.value).observe(seconds)
            self.metrics.write_rows.labels(subject.value).observe(len(rows[subject]))

    async def write_rejections(self, rejected: Sequence[RejectedEvent]) -> None:
        """Record the refused events; return only once ClickHouse has them."""
        if rejected:
            await self._until_written(insert_rejections, self.client, rejected)

    async def _until_written(self, call: Callable[..., T], *args: Any) -> T:
        delay = 0.1
        while True:
            try:
                result = await self._run(call, *args)
                break
            except Exception as error:  # any failure: the batch stays unacknowledged
                self.failures_in_a_row += 1
                self.metrics.write_failures.inc()
                log.error("clickhouse write failed; retrying", error=repr(error), delay=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_seconds)
        self.failures_in_a_row = 0
        return result

    async def stale_dossiers(self, procedure_lengths: Mapping[str, int]) -> list[str]:
        """Dossiers whose row was derived from a shorter history of its procedure than the
        catalog now holds."""
        if not procedure_lengths:
            return []
        codes = sorted(procedure_lengths)
        lengths = [procedure_lengths[c] for c in codes]
        sql = (
            f"SELECT code FROM {TABLES.dossier} FINAL "
            f"WHERE procedure IN {sql_literal(frozenset(codes))} "
            f"AND bitAnd(version, {PROCEDURE_EVENTS_MASK}) < "
            f"transform(procedure, {sql_literal(codes)}, {sql_literal(lengths)}, 0)"
        )
        result = await self._run(self.client.query, sql)
        return [row[0] for row in result.result_rows]

    def close(self) -> None:
        self._executor.shutdown(wait=True)
