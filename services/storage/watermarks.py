"""How far the data goes: the aggregator's watermarks, written by it and read by the API.

After each commit (and every few seconds while idle) the aggregator writes, per partition of
the events topic it holds: the committed offset, the end of the log as it last saw it, and the
newest event time committed. Everything the log held up to the committed offsets is in the
facts; `Pipeline` sums that up for the answers: how many events are not yet counted, the event
time up to which every partition is counted, and whether the pipeline is moving.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from services.storage.clickhouse import Client
from services.storage.schema import WATERMARKS_TABLE

COLUMNS = ["group", "topic", "partition", "committed", "log_end", "event_time", "updated_at"]

# The newest row of each partition, of the group that wrote last (a renamed group's rows stay
# behind, forever old).
LATEST_SQL = f"""
SELECT `group`, topic, partition, committed, log_end, event_time, updated_at
FROM {WATERMARKS_TABLE} FINAL
WHERE `group` = (SELECT argMax(`group`, updated_at) FROM {WATERMARKS_TABLE})
"""


@dataclass(frozen=True)
class PartitionMark:
    group: str
    topic: str
    partition: int
    committed: int
    log_end: int
    event_time: datetime | None
    updated_at: datetime

    def row(self) -> tuple[Any, ...]:
        return tuple(getattr(self, c) for c in COLUMNS)


def write_watermarks(client: Client, marks: Iterable[PartitionMark]) -> None:
    rows = [m.row() for m in marks]
    if rows:
        client.insert(WATERMARKS_TABLE, rows, column_names=COLUMNS)


class PipelineStatus(StrEnum):
    unknown = "unknown"  # no aggregator has written yet
    caught_up = "caught_up"  # every event in the log is counted
    behind = "behind"  # a backlog, draining
    stale = "stale"  # no word from the aggregator lately: maybe stopped
    stalled = "stalled"  # a backlog, and no progress lately


@dataclass(frozen=True)
class Pipeline:
    status: PipelineStatus
    events_not_counted: int | None = None
    counted_to: datetime | None = None  # every partition is counted up to this event time
    updated_at: datetime | None = None

    @classmethod
    def of(
        cls, rows: Iterable[Mapping[str, Any]], now: datetime, stall_after: timedelta
    ) -> Pipeline:
        marks = list(rows)
        if not marks:
            return cls(PipelineStatus.unknown)
        backlog = sum(max(0, int(r["log_end"]) - int(r["committed"])) for r in marks)
        times = [_aware(r["event_time"]) for r in marks if r["event_time"] is not None]
        updated = max(_aware(r["updated_at"]) for r in marks)
        quiet = now - updated > stall_after
        if quiet:
            status = PipelineStatus.stalled if backlog else PipelineStatus.stale
        else:
            status = PipelineStatus.behind if backlog else PipelineStatus.caught_up
        return cls(status, backlog, min(times) if times else None, updated)


def _aware(moment: datetime) -> datetime:
    """chDB may hand a DateTime64('UTC') back without its zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
