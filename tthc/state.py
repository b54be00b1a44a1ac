"""State of a dossier, a feedback, a procedure or a commune's services, as a pure fold of events.

An entity's history is the set of its events, unique by (source, id), kept in event-time order.
Its state is a left fold over that ordered history. Because the history is a set ordered by the
events' own timestamps, the state is idempotent (a resend changes nothing) and order-tolerant
(any arrival order gives the state of event-time order): a commune's nightly batch, a payment
that arrives before the dossier, and a corrected due date all land where they belong.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Self, TypeVar

from tthc import events as ev
from tthc.units import UnitLevel

_OrderKey = tuple[datetime, str, str, str]


def _order(event: ev.Event) -> _OrderKey:
    return (event.occurred_at, event.type, event.source, event.id)


@dataclass(frozen=True)
class History:
    """The events of one entity, each once, in event-time order: `History()`, then `add`."""

    events: tuple[ev.Event, ...] = field(default=(), init=False)
    # Kept beside the events, so that an add is one bisect and one set lookup instead of
    # reading every event's time again and comparing every key.
    _orders: tuple[_OrderKey, ...] = field(default=(), init=False, repr=False, compare=False)
    _keys: frozenset[tuple[str, str]] = field(
        default=frozenset(), init=False, repr=False, compare=False
    )

    def add(self, event: ev.Event) -> History:
        return self.placed(event)[0]

    def placed(self, event: ev.Event) -> tuple[History, int | None]:
        """The history with the event, and the event's index in it (None: already there)."""
        if event.key in self._keys:
            return self, None
        order = _order(event)
        at = bisect.bisect(self._orders, order)
        history = History()
        history.__dict__.update(
            events=self.events[:at] + (event,) + self.events[at:],
            _orders=self._orders[:at] + (order,) + self._orders[at:],
            _keys=self._keys | {event.key},
        )
        return history, at

    @classmethod
    def of(cls, events: Iterable[ev.Event]) -> History:
        history = cls()
        for event in events:
            history = history.add(event)
        return history


class _Folding:
    """How states take events: `apply` changes a fresh copy in place, and `fold` its own new
    state, so an event sets a few attributes instead of rebuilding a frozen dataclass of up to
    28 fields (`dataclasses.replace` per event was most of the fold). A state is changed only
    before anyone else holds it: seen from outside, states stay frozen and the fold pure."""

    def apply(self, event: ev.Event) -> Self:
        state = object.__new__(type(self))
        state.__dict__.update(self.__dict__)
        state._absorb(event)
        return state

    def _absorb(self, event: ev.Event) -> None:
        raise NotImplementedError

    def _set(self, **changes: Any) -> None:
        self.__dict__.update(changes)


@dataclass(frozen=True)
class SupplementPeriod:
    requested_at: datetime
    answered_at: datetime | None = None
    due_reset: bool = False  # the source re-set the due date, so the pause is already in it


@dataclass(frozen=True)
class DossierState(_Folding):
    code: str
    unit: str | None = None
    procedure: str | None = None
    channel: ev.Channel | None = None
    applicant_type: ev.ApplicantType | None = None
    received_at: datetime | None = None
    due_at: datetime | None = None
    # (when, the due date set then), each time it changed: what it was at any instant
    due_history: tuple[tuple[datetime, datetime], ...] = ()
    status: ev.DossierStatus | None = None
    status_history: tuple[tuple[datetime, ev.DossierStatus], ...] = ()
    refused_at: datetime | None = None
    withdrawn_at: datetime | None = None
    stopped_at: datetime | None = None
    processed_at: datetime | None = None
    returned_at: datetime | None = None
    supplements: tuple[SupplementPeriod, ...] = ()
    fee_assessed: int = 0
    paid_amount: int = 0
    # (when, the fee then: the larger of the latest assessed and all paid), each time it changed
    fee_history: tuple[tuple[datetime, int], ...] = ()
    # When each flag first held: a score judged at an instant sees what held by then.
    paid_online_at: datetime | None = None
    result_electronic_at: datetime | None = None
    result_pushed_at: datetime | None = None
    synced_at: datetime | None = None
    digitized_components: int = 0
    reused_components: int = 0
    data_store_components: int = 0
    digitized_at: datetime | None = None
    reused_at: datetime | None = None
    data_store_at: datetime | None = None
    result_digitized_at: datetime | None = None
    identity_verified_at: datetime | None = None
    ratings: tuple[tuple[datetime, bool], ...] = ()  # (when, satisfied); the latest wins
    complaint_at: datetime | None = None

    @property
    def paid_online(self) -> bool:
        return self.paid_online_at is not None

    @property
    def result_electronic(self) -> bool:
        return self.result_electronic_at is not None

    @property
    def result_pushed_to_data_store(self) -> bool:
        return self.result_pushed_at is not None

    @property
    def result_digitized(self) -> bool:
        return self.result_digitized_at is not None

    @property
    def population_data_used(self) -> bool:
        return self.identity_verified_at is not None

    @property
    def satisfied(self) -> bool | None:
        return self.ratings[-1][1] if self.ratings else None

    @property
    def complaint(self) -> bool:
        return self.complaint_at is not None

    @property
    def accepted(self) -> bool:
        """Received and not refused at intake: only accepted dossiers count anywhere."""
        return self.received_at is not None and self.refused_at is None

    @property
    def ended_at(self) -> datetime | None:
        """End of processing: the first of processed, result returned, stopped, withdrawn."""
        ends = [
            t
            for t in (self.processed_at, self.returned_at, self.stopped_at, self.withdrawn_at)
            if t is not None
        ]
        return min(ends) if ends else None

    def _absorb(self, event: ev.Event) -> None:
        data = event.data
        at = event.occurred_at
        status = type(data).status
        if status is not None:
            self._set(status=status, status_history=self.status_history + ((at, status),))
        match data:
            case ev.DossierReceived():
                self._set(
                    unit=data.unit,
                    procedure=data.procedure,
                    channel=data.channel,
                    applicant_type=data.applicant_type,
                    received_at=data.received_at,
                )
                if self.due_at is None and data.due_at is not None:
                    self._due(at, data.due_at)
            case ev.DossierRefused():
                self._set(refused_at=_first(self.refused_at, at))
            case ev.DossierSupplementRequested():
                self._set(supplements=self.supplements + (SupplementPeriod(at),))
            case ev.DossierSupplementReceived():
                self._supplement_answered(at, data.new_due_at)
            case ev.DossierDueDateChanged():
                self._due(at, data.due_at)
            case ev.DossierFinancialObligationRequested():
                self._fee(at, fee_assessed=data.amount)
            case ev.DossierFeePaid():
                self._fee(at, paid_amount=self.paid_amount + data.amount)
                if data.online:
                    self._set(paid_online_at=_first(self.paid_online_at, at))
            case ev.DossierWithdrawn():
                self._set(withdrawn_at=_first(self.withdrawn_at, at))
            case ev.DossierStopped():
                self._set(stopped_at=_first(self.stopped_at, at))
            case ev.DossierProcessed():
                self._set(processed_at=_first(self.processed_at, at))
            case ev.DossierResultReturned():
                self._set(returned_at=_first(self.returned_at, at))
                if data.electronic:
                    self._set(result_electronic_at=_first(self.result_electronic_at, at))
                if data.pushed_to_data_store:
                    self._set(result_pushed_at=_first(self.result_pushed_at, at))
            case ev.DossierSyncedToPortal():
                self._set(synced_at=_first(self.synced_at, at))
            case ev.DossierDigitized():
                self._set(
                    digitized_components=max(self.digitized_components, data.digitized_components),
                    reused_components=max(self.reused_components, data.reused_components),
                    data_store_components=max(
                        self.data_store_components, data.data_store_components
                    ),
                )
                for name, holds in (
                    ("digitized_at", data.digitized_components > 0),
                    ("reused_at", data.reused_components > 0),
                    ("data_store_at", data.data_store_components > 0),
                    ("result_digitized_at", data.result_digitized),
                ):
                    if holds:
                        self._set(**{name: _first(getattr(self, name), at)})
            case ev.DossierIdentityVerified():
                self._set(identity_verified_at=_first(self.identity_verified_at, at))
            case ev.DossierRated():
                self._set(ratings=self.ratings + ((at, data.satisfied),))
            case ev.DossierComplaintFiled():
                self._set(complaint_at=_first(self.complaint_at, at))
            case _:
                raise TypeError(f"{event.type} is not a dossier event")

    def _due(self, at: datetime, due_at: datetime) -> None:
        self._set(due_at=due_at, due_history=self.due_history + ((at, due_at),))

    def _fee(self, at: datetime, **amounts: int) -> None:
        before = self.fee
        self._set(**amounts)
        if self.fee != before:
            self._set(fee_history=self.fee_history + ((at, self.fee),))

    @property
    def fee(self) -> int:
        return max(self.fee_assessed, self.paid_amount)

    def _supplement_answered(self, at: datetime, new_due_at: datetime | None) -> None:
        if new_due_at is not None:
            self._due(at, new_due_at)
        open_ones = [i for i, s in enumerate(self.supplements) if s.answered_at is None]
        if not open_ones:  # an answer with no request on record: nothing to pause
            return
        i = open_ones[-1]
        answered = SupplementPeriod(
            self.supplements[i].requested_at, answered_at=at, due_reset=new_due_at is not None
        )
        self._set(supplements=self.supplements[:i] + (answered,) + self.supplements[i + 1 :])

    @property
    def paused_seconds(self) -> int:
        """Supplement time that is not the unit's: closed pauses the due date does not hold."""
        return sum(
            int((s.answered_at - s.requested_at).total_seconds())
            for s in self.supplements
            if s.answered_at is not None and not s.due_reset
        )

    @property
    def supplement_seconds(self) -> int:
        """All the time answered supplement requests kept the dossier with the applicant: not
        processing time (2.2), whether or not the due date was re-set for it. Only up to the
        dossier's end: an answer after it cannot take off more than the dossier lasted."""
        end = self.ended_at
        return sum(
            max(0, int((min(s.answered_at, end or s.answered_at) - s.requested_at).total_seconds()))
            for s in self.supplements
            if s.answered_at is not None
        )

    @property
    def paused_since(self) -> datetime | None:
        """Start of a supplement request the applicant has not answered yet."""
        open_ones = [s.requested_at for s in self.supplements if s.answered_at is None]
        return open_ones[-1] if open_ones else None


@dataclass(frozen=True)
class FeedbackState(_Folding):
    code: str
    unit: str | None = None  # the unit that has to handle it: the last one it was sent to
    procedure: str | None = None
    received_at: datetime | None = None
    accepted_at: datetime | None = None
    refused_at: datetime | None = None
    info_requested_at: datetime | None = None
    answered_at: datetime | None = None
    published_at: datetime | None = None
    category: str | None = None
    classified_at: datetime | None = None
    ratings: tuple[tuple[datetime, bool], ...] = ()  # (when, satisfied); the latest wins
    complained_again_at: datetime | None = None
    transfers: tuple[tuple[datetime, str], ...] = ()

    @property
    def satisfied(self) -> bool | None:
        return self.ratings[-1][1] if self.ratings else None

    @property
    def complained_again(self) -> bool:
        return self.complained_again_at is not None

    def _absorb(self, event: ev.Event) -> None:
        data = event.data
        at = event.occurred_at
        match data:
            case ev.FeedbackReceived():
                unit = self.transfers[-1][1] if self.transfers else data.unit
                self._set(unit=unit, procedure=data.procedure, received_at=data.received_at)
            case ev.FeedbackTransferred():
                self._set(unit=data.to_unit, transfers=self.transfers + ((at, data.to_unit),))
            case ev.FeedbackAccepted():
                self._set(accepted_at=_first(self.accepted_at, at))
            case ev.FeedbackRefused():
                self._set(refused_at=_first(self.refused_at, at))
            case ev.FeedbackInfoRequested():
                self._set(info_requested_at=_first(self.info_requested_at, at))
            case ev.FeedbackAnswered():
                self._set(answered_at=_first(self.answered_at, at))
            case ev.FeedbackPublished():
                self._set(published_at=_first(self.published_at, at))
            case ev.FeedbackClassified():
                self._set(category=data.category, classified_at=_first(self.classified_at, at))
            case ev.FeedbackRated():
                self._set(ratings=self.ratings + ((at, data.satisfied),))
            case ev.FeedbackComplainedAgain():
                self._set(complained_again_at=_first(self.complained_again_at, at))
            case _:
                raise TypeError(f"{event.type} is not a feedback event")


@dataclass(frozen=True)
class Announcement:
    unit: str
    decision_number: str
    decided_on: date
    effective_on: date


@dataclass(frozen=True)
class ProcedureState(_Folding):
    code: str
    name: str | None = None
    authority_levels: frozenset[UnitLevel] = frozenset()
    online_service: ev.OnlineService = ev.OnlineService.none
    full_online_eligible: bool = False
    fee_bearing: bool = False
    payment_integrated: bool = False
    returns_result_document: bool = True
    applicant_types: frozenset[ev.ApplicantType] = frozenset()
    uses_population_data: bool = False
    processing_working_days: int | None = None
    configured: bool = False
    announcements: tuple[Announcement, ...] = ()
    first_published_on: date | None = None
    components: frozenset[ev.ProcedureComponent] = frozenset()
    # (published on, all 7 components present) of each publication, as they came: what the
    # latest publication by a day carried
    publications: tuple[tuple[date, bool], ...] = ()

    def _absorb(self, event: ev.Event) -> None:
        data = event.data
        match data:
            case ev.ProcedureConfigured():
                self._set(
                    configured=True,
                    name=data.name,
                    authority_levels=frozenset(data.authority_levels),
                    online_service=data.online_service,
                    full_online_eligible=data.full_online_eligible,
                    fee_bearing=data.fee_bearing,
                    payment_integrated=data.payment_integrated,
                    returns_result_document=data.returns_result_document,
                    applicant_types=frozenset(data.applicant_types),
                    uses_population_data=data.uses_population_data,
                    processing_working_days=data.processing_working_days,
                )
            case ev.ProcedureAnnounced():
                announcement = Announcement(
                    data.unit, data.decision_number, data.decided_on, data.effective_on
                )
                # a re-sent decision under a new event id replaces, never duplicates
                others = tuple(
                    a for a in self.announcements if a.decision_number != data.decision_number
                )
                self._set(announcements=others + (announcement,))
            case ev.ProcedurePublished():
                self._set(
                    first_published_on=_first(self.first_published_on, data.published_on),
                    components=frozenset(data.components),
                    publications=self.publications
                    + ((data.published_on, set(data.components) >= set(ev.ProcedureComponent)),),
                )
            case _:
                raise TypeError(f"{event.type} is not a procedure event")


@dataclass(frozen=True)
class CommuneServiceState(_Folding):
    code: str  # the commune's unit code
    certified_copy_offered_since: date | None = None
    certified_copies_issued: int = 0
    first_certified_copy_at: datetime | None = None

    def _absorb(self, event: ev.Event) -> None:
        data = event.data
        match data:
            case ev.CertifiedCopyOffered():
                self._set(
                    certified_copy_offered_since=_first(
                        self.certified_copy_offered_since, data.since
                    )
                )
            case ev.CertifiedCopyIssued():
                self._set(
                    certified_copies_issued=self.certified_copies_issued + data.count,
                    first_certified_copy_at=_first(self.first_certified_copy_at, data.at),
                )
            case _:
                raise TypeError(f"{event.type} is not a commune service event")


State = DossierState | FeedbackState | ProcedureState | CommuneServiceState

STATE_OF: dict[ev.Entity, type[State]] = {
    ev.Entity.dossier: DossierState,
    ev.Entity.feedback: FeedbackState,
    ev.Entity.procedure: ProcedureState,
    ev.Entity.commune_service: CommuneServiceState,
}


def fold(entity: ev.Entity, code: str, history: History) -> State:
    """The state of one entity: its events applied in event-time order."""
    state = STATE_OF[entity](code)
    for event in history.events:
        state._absorb(event)  # fold's own new state: nobody else holds it yet
    return state


@dataclass
class Ledger:
    """Every entity's history, keyed by (entity, subject): the reference store for tests,
    the simulator and the reference computation. The aggregator keeps the same histories in
    Faust tables instead."""

    histories: dict[tuple[ev.Entity, str], History] = field(default_factory=dict)

    def add(self, event: ev.Event) -> bool:
        """Record an event; False when it was already there (a resend)."""
        key = (event.entity, event.subject)
        before = self.histories.get(key, History())
        after = before.add(event)
        self.histories[key] = after
        return after is not before

    def states(self, entity: ev.Entity) -> list[State]:
        return [fold(e, code, h) for (e, code), h in self.histories.items() if e == entity]


_T = TypeVar("_T", datetime, date)


def _first(current: _T | None, candidate: _T) -> _T:
    return candidate if current is None else min(current, candidate)
