"""Events the aggregator refuses to count: another unit's dossier, a resend that differs.

The ingest stamps each event with the key it came through (CloudEvents extensions ``tthckey``,
the key's name, and ``tthcscope``, its configured scope); the aggregator stamps the Kafka
offset it arrived at (``tthcseq``) before keeping it in the entity's history. Whose dossier it
is, is decided by :func:`tthc.ownership.decide` from that history. A refused event changes no
number: it stays out of the history when it is refused on arrival, or out of the fold when it
arrived before the dossier's receipt and is refused once the owner is known. Either way it is a
row of the ``rejections`` table (the integrator reads it through the API's
``/v1/rejections``) and a count of ``tthc_aggregator_rejected_events_total``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from services.storage.clickhouse import Client
from services.storage.schema import REJECTIONS_TABLE
from tthc.events import DossierReceived, Entity, Event, FeedbackReceived
from tthc.ownership import (
    KEY_EXTENSION,
    SCOPE_EXTENSION,
    SEQ_EXTENSION,
    Entry,
    Refused,
    Writer,
    decide,
    resend_conflict,
)
from tthc.state import History
from tthc.units import UnitTree

REJECTION_COLUMNS = (
    "integration",
    "source",
    "id",
    "type",
    "subject",
    "reason",
    "detail",
    "event_time",
    "rejected_at",
)


class Stamp(NamedTuple):
    """Who sent an event and when it arrived, as kept with it in its history."""

    key: str
    scope: str  # the key's scope as configured: unit codes separated by spaces
    seq: int  # the Kafka offset it arrived at


def stamp_of(raw: dict[str, Any], offset: int | None) -> Stamp | None:
    """The stamp of a decoded CloudEvent; ``offset`` (a new arrival) replaces any kept one."""
    key, scope = raw.get(KEY_EXTENSION), raw.get(SCOPE_EXTENSION)
    if not isinstance(key, str) or not isinstance(scope, str):
        return None
    seq = raw.get(SEQ_EXTENSION) if offset is None else offset
    return Stamp(key, scope, seq if isinstance(seq, int) else -1)


@dataclass(frozen=True)
class RejectedEvent:
    """One row of the rejections table."""

    integration: str
    event: Event
    reason: str
    detail: str

    def row(self, now: datetime) -> tuple[Any, ...]:
        e = self.event
        return (
            self.integration,
            e.source,
            e.id,
            e.type,
            e.subject,
            self.reason,
            self.detail,
            e.time.astimezone(UTC),
            now,
        )

    @classmethod
    def of(cls, refused: Refused) -> RejectedEvent:
        writer = refused.entry.writer
        return cls(
            writer.name if writer else "", refused.entry.event, refused.reason, refused.detail
        )


class Gate:
    """The ownership decision applied to histories kept with their stamps."""

    def __init__(self, tree: UnitTree) -> None:
        self.tree = tree
        self._writers: dict[tuple[str, str], Writer] = {}

    def writer(self, stamp: Stamp | None) -> Writer | None:
        if stamp is None:
            return None
        found = self._writers.get((stamp.key, stamp.scope))
        if found is None:
            units: frozenset[str] = frozenset()
            for code in stamp.scope.split():
                if code in self.tree:  # a unit this tree does not know covers nothing
                    units |= self.tree.subtree(code)
            found = self._writers[(stamp.key, stamp.scope)] = Writer(stamp.key, units)
        return found

    def entries(self, history: History, stamps: Sequence[Stamp | None]) -> list[Entry]:
        return [
            Entry(event, self.writer(stamp), stamp.seq if stamp else -1)
            for event, stamp in zip(history.events, stamps, strict=True)
        ]

    def admit(
        self, history: History, stamps: Sequence[Stamp | None], event: Event, stamp: Stamp | None
    ) -> RejectedEvent | None:
        """Why ``event`` may not join the history, if it may not (None: it may, or it is a
        resend of what is there)."""
        if stamp is None:
            return None
        new = Entry(event, self.writer(stamp), stamp.seq)
        entries = self.entries(history, stamps)
        for entry in entries:
            if entry.event.key == event.key:
                conflict = resend_conflict(entry, new)
                return None if conflict is None else RejectedEvent.of(conflict)
        decision = decide(event.entity, [*entries, new])
        refused = next((r for r in decision.refused if r.entry is new), None)
        return None if refused is None else RejectedEvent.of(refused)

    def counted(
        self, entity: Entity, history: History, stamps: Sequence[Stamp | None]
    ) -> tuple[History, list[RejectedEvent]]:
        """The history to fold (without the events refused once their owner was known) and
        those refusals."""
        if all(s is None for s in stamps):
            return history, []
        decision = decide(entity, self.entries(history, stamps))
        if decision.all_accepted:
            return history, []
        return History.of(decision.accepted), [RejectedEvent.of(r) for r in decision.refused]


def first_receipt(history: History, event: Event) -> bool:
    """Whether ``event`` is the receipt that makes the entity owned (none came before)."""
    receipts = (DossierReceived, FeedbackReceived)
    return isinstance(event.data, receipts) and not any(
        isinstance(e.data, receipts) for e in history.events
    )


def insert_rejections(client: Client, rejected: Sequence[RejectedEvent]) -> None:
    """One insert; a row written again (a redelivered batch) collapses with its first."""
    if not rejected:
        return
    now = datetime.now(UTC)
    client.insert(
        REJECTIONS_TABLE, [r.row(now) for r in rejected], column_names=list(REJECTION_COLUMNS)
    )
