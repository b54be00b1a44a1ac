"""Who may write about a dossier or a feedback item: the unit that first received it.

The ingest checks what one event shows (the unit it names is in the key's scope); it cannot
know whose dossier a follow-up event (`processed`, `withdrawn`, …) is about. That is decided
here, from the entity's history, each event with the key that sent it (its *writer*):

* the first `received` to arrive makes its unit the owner;
* every later event needs a writer whose scope covers the owner; a `received` naming another
  unit (a move) or a `feedback.transferred` also needs the destination, which becomes the owner;
* an event that arrives before any `received` waits: it is judged against the first owner
  once there is one (until then nothing is owned, and it counts as today);
* an event without a writer was not stamped by an ingest (written before stamps existed, or
  by a trusted producer on the topic itself) and is accepted.

Arrival order (the Kafka offset, `seq`) rather than event time decides, so that a `received`
back-dated by another key cannot take a dossier over. The decision is a pure function of the
entries: replaying the log decides the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from tthc.events import DossierReceived, Entity, Event, FeedbackReceived, FeedbackTransferred

# CloudEvents extension attributes that carry an event's writer with it: the ingest sets the
# key's name and configured scope (unit codes separated by spaces; whatever a sender put there
# is dropped), the aggregator the Kafka offset it arrived at.
KEY_EXTENSION = "tthckey"
SCOPE_EXTENSION = "tthcscope"
SEQ_EXTENSION = "tthcseq"

__all__ = [
    "Decision",
    "Entry",
    "Refusal",
    "Refused",
    "Writer",
    "decide",
    "owned",
    "resend_conflict",
]


class Refusal(StrEnum):
    not_owner = "not_owner"  # the key's scope does not cover the unit owning the entity
    destination_out_of_scope = "destination_out_of_scope"  # a move to a unit outside it
    conflicting_resend = "conflicting_resend"  # the same (source, id) with another payload
    claimed_by_another_key = "claimed_by_another_key"  # the same (source, id) from another key


@dataclass(frozen=True)
class Writer:
    """The key an event came through: its name and its scope, expanded to unit codes."""

    name: str
    units: frozenset[str]

    def covers(self, unit: str) -> bool:
        return unit in self.units


@dataclass(frozen=True)
class Entry:
    event: Event
    writer: Writer | None  # None: not stamped by an ingest
    seq: int = -1  # arrival order (the Kafka offset); -1: unknown, before every stamped one


@dataclass(frozen=True)
class Refused:
    entry: Entry
    reason: Refusal
    detail: str


@dataclass(frozen=True)
class Decision:
    accepted: tuple[Event, ...]  # in the order of the entries given
    refused: tuple[Refused, ...]
    owner: str | None

    @property
    def all_accepted(self) -> bool:
        return not self.refused


def owned(entity: Entity) -> bool:
    """Whether events of ``entity`` are judged here (others name their unit, checked at the
    ingest: procedures, commune services)."""
    return entity in (Entity.dossier, Entity.feedback)


def _received_unit(event: Event) -> str | None:
    data = event.data
    return data.unit if isinstance(data, DossierReceived | FeedbackReceived) else None


def _refusal(entry: Entry, owner: str) -> Refused | None:
    """Why ``entry`` may not change an entity owned by ``owner``, if it may not."""
    writer = entry.writer
    if writer is None:
        return None
    if not writer.covers(owner):
        return Refused(entry, Refusal.not_owner, (
            f"thuộc đơn vị {owner!r}, ngoài phạm vi của khóa / belongs to unit {owner!r}, "
            f"outside the scope of key {writer.name!r}"
        ))  # fmt: skip
    destination = _destination(entry.event)
    if destination is not None and not writer.covers(destination):
        return Refused(entry, Refusal.destination_out_of_scope, (
            f"chuyển đến {destination!r} ngoài phạm vi của khóa / moves it to unit "
            f"{destination!r}, outside the scope of key {writer.name!r}"
        ))  # fmt: skip
    return None


def _destination(event: Event) -> str | None:
    data = event.data
    if isinstance(data, FeedbackTransferred):
        return data.to_unit
    return _received_unit(event)


def decide(entity: Entity, entries: Sequence[Entry]) -> Decision:
    """Which of an entity's events count, and why the others do not."""
    if not owned(entity) or all(e.writer is None for e in entries):
        return Decision(tuple(e.event for e in entries), (), None)
    arrival = sorted(range(len(entries)), key=lambda i: (entries[i].seq, i))
    owner: str | None = None
    first_owner: str | None = None
    waiting: list[Entry] = []
    refused: dict[int, Refused] = {}
    for i in arrival:
        entry = entries[i]
        if owner is None:
            unit = _received_unit(entry.event)
            if unit is None:
                waiting.append(entry)
                continue
            if entry.writer is not None and not entry.writer.covers(unit):
                refused[i] = _out_of_scope(entry, unit)
                continue
            owner = first_owner = unit
            continue
        refusal = _refusal(entry, owner)
        if refusal is not None:
            refused[i] = refusal
            continue
        owner = _destination(entry.event) or owner
    if first_owner is not None:
        index = {id(e): i for i, e in enumerate(entries)}
        for entry in waiting:
            refusal = _refusal(entry, first_owner)
            if refusal is not None:
                refused[index[id(entry)]] = refusal
    return Decision(
        tuple(e.event for i, e in enumerate(entries) if i not in refused),
        tuple(refused[i] for i in sorted(refused)),
        owner,
    )


def _out_of_scope(entry: Entry, unit: str) -> Refused:
    name = entry.writer.name if entry.writer else ""
    return Refused(entry, Refusal.not_owner, (
        f"đơn vị {unit!r} ngoài phạm vi của khóa / unit {unit!r} is outside the scope of key "
        f"{name!r}"
    ))  # fmt: skip


def resend_conflict(first: Entry, again: Entry) -> Refused | None:
    """Why a second event with the (source, id) of ``first`` is refused, if it differs."""
    if first.writer and again.writer and first.writer.name != again.writer.name:
        return Refused(again, Refusal.claimed_by_another_key, (
            f"mã sự kiện đã được khóa khác dùng / this (source, id) was first sent by key "
            f"{first.writer.name!r}; the first copy is kept"
        ))  # fmt: skip
    if first.event != again.event:
        return Refused(again, Refusal.conflicting_resend, (
            "gửi lại với nội dung khác / sent again with a different payload; the first copy "
            "is kept"
        ))  # fmt: skip
    return None
