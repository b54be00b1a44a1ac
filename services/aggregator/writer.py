"""Writes fact rows to ClickHouse from asyncio, one thread for the blocking client.

A write that fails because of ClickHouse itself (down, full, overloaded: anything but the data)
is retried with a capped backoff until it succeeds: the batch is acknowledged only after its
rows are in ClickHouse, so waiting is the back-pressure (the consumer stops taking records) and
nothing is lost or skipped; `/healthz` reports the failures meanwhile. A write refused because
of the rows themselves (a value the column cannot hold) is never retried: it raises `Rejected`,
and the batch step splits the batch to find the record at fault.

The thread is a daemon: a stop (SIGTERM) abandons a call stuck on an unreachable server
instead of waiting for it, and nothing is committed for a write that did not return.
"""

from __future__ import annotations

import asyncio
import queue
import re
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from clickhouse_connect.driver.exceptions import DatabaseError, DataError

from services.aggregator.metrics import AggregatorMetrics
from services.aggregator.processing import PROCEDURE_EVENTS_MASK, Reason, Rejected
from services.aggregator.rejections import RejectedEvent, insert_rejections
from services.observability import get_logger
from services.storage.clickhouse import Client, VersionedFacts, insert_facts
from services.storage.schema import TABLES
from services.storage.watermarks import PartitionMark, write_watermarks
from services.storage.windows import (
    DEFAULT_MARGIN_SECONDS,
    Key,
    Placed,
    insert_by_day,
    place_of,
    previous_places,
    recompute_windows,
)
from tthc.expr import sql_literal
from tthc.measures import Subject
from tthc.windows import SUBJECTS

log = get_logger("aggregator.writer")
T = TypeVar("T")

# ClickHouse's error codes that blame the data sent, not the server: CANNOT_PARSE_TEXT,
# CANNOT_PARSE_INPUT_ASSERTION_FAILED, CANNOT_PARSE_DATE, CANNOT_PARSE_DATETIME, TYPE_MISMATCH,
# ARGUMENT_OUT_OF_BOUND, CANNOT_CONVERT_TYPE, CANNOT_PARSE_NUMBER, INCORRECT_DATA,
# VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE, CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN.
DATA_ERROR_CODES = frozenset({6, 27, 38, 41, 53, 69, 70, 72, 117, 321, 349})
_CODE = re.compile(r"\bCode: (\d+)\b")


def blames_the_data(error: BaseException) -> bool:
    """Whether an insert failed because of the rows sent (retrying cannot help)."""
    if isinstance(error, DataError | struct.error | OverflowError | ValueError | TypeError):
        return True  # raised while encoding the rows, before anything was sent
    if isinstance(error, DatabaseError):
        code = _CODE.search(str(error))
        return code is not None and int(code.group(1)) in DATA_ERROR_CODES
    return False


class _Thread:
    """One daemon thread running blocking calls in order, for asyncio."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[
            tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None
        ]
        self._calls = queue.SimpleQueue()
        threading.Thread(target=self._serve, name=name, daemon=True).start()

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            future, function, args = call
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(function(*args))
                except BaseException as error:
                    future.set_exception(error)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        future: Future[T] = Future()
        self._calls.put((future, function, args))
        return await asyncio.wrap_future(future)

    def stop(self) -> None:
        self._calls.put(None)


class FactsWriter:
    def __init__(
        self,
        client: Client,
        metrics: AggregatorMetrics,
        retry_max_seconds: float = 30.0,
        *,
        windows_margin_seconds: int = DEFAULT_MARGIN_SECONDS,
        places_size: int = 30_000,  # as the worker's `places_cache_size`
    ) -> None:
        self.client = client
        self.metrics = metrics
        self.retry_max_seconds = retry_max_seconds
        self.windows_margin_seconds = windows_margin_seconds
        # One thread: a client (chDB above all) is used by one thread at a time.
        self._thread = _Thread("clickhouse")
        self.failures_in_a_row = 0
        # where each entity's by-day row was last written (an LRU): a miss costs a lookup
        self._places: OrderedDict[tuple[Subject, str], Placed] = OrderedDict()
        self._places_size = places_size
        # staged since the last flush: the newest row of each entity, and the keys touched
        self._staged: dict[tuple[Subject, str], VersionedFacts] = {}
        self._staged_keys: dict[Subject, set[Key]] = {}

    async def _run(self, call: Callable[..., T], *args: Any) -> T:
        return await self._thread.run(call, *args)

    async def write(self, rows: Mapping[Subject, Sequence[VersionedFacts]]) -> None:
        """Stage the rows and flush at once: ClickHouse has them, windows included."""
        await self.stage(rows)
        await self.flush()

    async def stage(self, rows: Mapping[Subject, Sequence[VersionedFacts]]) -> None:
        """Write the rows by day (and deleted rows under the keys they left); return only once
        ClickHouse has them, or raise `Rejected` when it refuses them as data. Their windows and
        their by-code rows wait for `flush`, so that one window step serves several batches.

        The by-day insert is where ClickHouse judges a row's values: the by-code table has the
        same columns, and the window step reads only what the by-day tables accepted. Subjects
        without windows go to their by-code table at once, where they are judged."""
        if not any(rows.values()):
            return
        unwindowed = {s: r for s, r in rows.items() if s not in SUBJECTS and r}
        if unwindowed:
            await self._insert_facts(unwindowed)
        windowed = {s: r for s, r in rows.items() if s in SUBJECTS and r}
        if not windowed:
            return
        previous = await self._until_written(self._previous, windowed)
        touched = await self._until_written(insert_by_day, self.client, windowed, previous)
        for subject, keys in touched.items():
            self._staged_keys.setdefault(subject, set()).update(keys)
        for subject, chosen in windowed.items():
            for row in chosen:
                code = row.facts.code  # type: ignore[attr-defined]
                staged = self._staged.get((subject, code))
                if staged is None or staged.version <= row.version:
                    self._staged[(subject, code)] = row

    @property
    def staged(self) -> int:
        """Rows written by day whose windows and by-code rows wait for `flush`."""
        return len(self._staged)

    async def flush(self) -> None:
        """The window step for every key staged since the last flush, then the by-code rows.

        The by-code rows come last: they are where the next stage learns where a row was, so a
        crash anywhere before them leaves that as it was, and the redelivered batches write the
        same by-day rows and recompute the same keys (the left ones included)."""
        if not self._staged:
            return
        await self.windows(self._staged_keys)
        rows: dict[Subject, list[VersionedFacts]] = {}
        for (subject, _), row in self._staged.items():
            rows.setdefault(subject, []).append(row)
        await self._insert_facts(rows)
        self._remember(rows)
        self._staged.clear()
        self._staged_keys.clear()

    async def _insert_facts(self, rows: Mapping[Subject, Sequence[VersionedFacts]]) -> None:
        durations = await self._until_written(insert_facts, self.client, rows)
        for subject, seconds in durations.items():
            self.metrics.write_seconds.labels(subject.value).observe(seconds)
            self.metrics.write_rows.labels(subject.value).observe(len(rows[subject]))

    async def windows(self, keys: Mapping[Subject, set[Key]]) -> None:
        """The window step: recompute the windows of the keys a write touched."""
        if any(keys.values()):
            started = time.perf_counter()
            await self._until_written(
                recompute_windows, self.client, keys, self.windows_margin_seconds
            )
            self.metrics.write_seconds.labels("windows").observe(time.perf_counter() - started)

    def _previous(
        self, rows: Mapping[Subject, Sequence[VersionedFacts]]
    ) -> dict[Subject, dict[str, Placed]]:
        """Where each row's entity was: staged, else remembered, else looked up (one query per
        subject); an entity with no history before the batch was nowhere."""
        found: dict[Subject, dict[str, Placed]] = {}
        for subject, chosen in rows.items():
            if subject not in SUBJECTS:
                continue
            known, missing = {}, []
            for row in chosen:
                code = row.facts.code  # type: ignore[attr-defined]
                staged = self._staged.get((subject, code))
                place = place_of(staged) if staged else self._places.get((subject, code))
                if place is not None:
                    known[code] = place
                elif not row.fresh:
                    missing.append(code)
            found[subject] = known | previous_places(self.client, subject, missing)
        return found

    def _remember(self, rows: Mapping[Subject, Sequence[VersionedFacts]]) -> None:
        for subject, chosen in rows.items():
            if subject not in SUBJECTS:
                continue
            for row in chosen:
                key = (subject, row.facts.code)  # type: ignore[attr-defined]
                place = place_of(row)
                old = self._places.get(key)
                if old is None or old.version <= place.version:
                    self._places[key] = place
                self._places.move_to_end(key)
        while len(self._places) > self._places_size:
            self._places.popitem(last=False)

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
            except Exception as error:
                if blames_the_data(error):
                    raise Rejected(Reason.insert_rejected, error) from error
                # ClickHouse itself: the batch stays unacknowledged until it is back
                self.failures_in_a_row += 1
                self.metrics.write_failures.inc()
                log.error("clickhouse write failed; retrying", error=repr(error), delay=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_seconds)
        self.failures_in_a_row = 0
        return result

    async def write_watermarks(self, marks: Sequence[PartitionMark]) -> None:
        """Best effort: the next batch (or the timer) writes them again."""
        try:
            await self._run(write_watermarks, self.client, marks)
        except Exception as error:
            log.warning("watermarks not written", error=repr(error))

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
        self._thread.stop()
