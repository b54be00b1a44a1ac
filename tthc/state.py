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
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, TypeVar

from tthc.events import (
    ApplicantType,
    CertifiedCopyIssued,
    CertifiedCopyOffered,
    Channel,
    DossierComplaintFiled,
    DossierDigitized,
    DossierDueDateChanged,
    DossierFeePaid,
    DossierFinancialObligationRequested,
    DossierIdentityVerified,
    DossierProcessed,
    DossierRated,
    DossierReceived,
    DossierRefused,
    DossierResultReturned,
    DossierStatus,
    DossierStopped,
    DossierSupplementReceived,
    DossierSupplementRequested,
    DossierSyncedToPortal,
    DossierWithdrawn,
    Entity,
    Event,
    FeedbackAccepted,
    FeedbackAnswered,
    FeedbackClassified,
    FeedbackComplainedAgain,
    FeedbackInfoRequested,
    FeedbackPublished,
    FeedbackRated,
    FeedbackReceived,
    FeedbackRefused,
    FeedbackTransferred,
    OnlineService,
    ProcedureAnnounced,
    ProcedureComponent,
    ProcedureConfigured,
    ProcedurePublished,
)
from tthc.units import UnitLevel


def _order(event: Event) -> tuple[datetime, str, str, str]:
    return (event.occurred_at, event.type, event.source, event.id)


@dataclass(frozen=True)
class History:
    """The events of one entity, each once, in event-time order."""

    events: tuple[Event, ...] = ()

    def add(self, event: Event) -> History:
        if any(e.key == event.key for e in self.events):
            return self
        keys = [_order(e) for e in self.events]
        at = bisect.bisect(keys, _order(event))
        return History(self.events[:at] + (event,) + self.events[at:])

    @classmethod
    def of(cls, events: Iterable[Event]) -> History:
        history = cls()
        for event in events:
            history = history.add(event)
        return history


@dataclass(frozen=True)
class SupplementPeriod:
    requested_at: datetime
    answered_at: datetime | None = None
    due_reset: bool = False  # the source re-set the due date, so the pause is already in it


@dataclass(frozen=True)
class DossierState:
    code: str
    unit: str | None = None
    procedure: str | None = None
    channel: Channel | None = None
    applicant_type: ApplicantType | None = None
    received_at: datetime | None = None
    due_at: datetime | None = None
    status: DossierStatus | None = None
    status_history: tuple[tuple[datetime, DossierStatus], ...] = ()
    refused_at: datetime | None = None
    withdrawn_at: datetime | None = None
    stopped_at: datetime | None = None
    processed_at: datetime | None = None
    returned_at: datetime | None = None
    supplements: tuple[SupplementPeriod, ...] = ()
    fee_assessed: int = 0
    paid_amount: int = 0
    paid_online: bool = False
    result_electronic: bool = False
    result_pushed_to_data_store: bool = False
    synced_at: datetime | None = None
    digitized_components: int = 0
    reused_components: int = 0
    data_store_components: int = 0
    result_digitized: bool = False
    population_data_used: bool = False
    satisfied: bool | None = None  # the latest rating wins
    complaint: bool = False

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

    def _with_status(self, at: datetime, status: DossierStatus | None) -> DossierState:
        if status is None:
            return self
        return replace(self, status=status, status_history=self.status_history + ((at, status),))

    def apply(self, event: Event) -> DossierState:
        data = event.data
        at = event.occurred_at
        state = self._with_status(at, type(data).status)
        match data:
            case DossierReceived():
                due = state.due_at if state.due_at is not None else data.due_at
                return replace(
                    state,
                    unit=data.unit,
                    procedure=data.procedure,
                    channel=data.channel,
                    applicant_type=data.applicant_type,
                    received_at=data.received_at,
                    due_at=due,
                )
            case DossierRefused():
                return replace(state, refused_at=_first(state.refused_at, at))
            case DossierSupplementRequested():
                return replace(state, supplements=state.supplements + (SupplementPeriod(at),))
            case DossierSupplementReceived():
                return state._supplement_answered(at, data.new_due_at)
            case DossierDueDateChanged():
                return replace(state, due_at=data.due_at)
            case DossierFinancialObligationRequested():
                return replace(state, fee_assessed=data.amount)
            case DossierFeePaid():
                return replace(
                    state,
                    paid_amount=state.paid_amount + data.amount,
                    paid_online=state.paid_online or data.online,
                )
            case DossierWithdrawn():
                return replace(state, withdrawn_at=_first(state.withdrawn_at, at))
            case DossierStopped():
                return replace(state, stopped_at=_first(state.stopped_at, at))
            case DossierProcessed():
                return replace(state, processed_at=_first(state.processed_at, at))
            case DossierResultReturned():
                return replace(
                    state,
                    returned_at=_first(state.returned_at, at),
                    result_electronic=state.result_electronic or data.electronic,
                    result_pushed_to_data_store=state.result_pushed_to_data_store
                    or data.pushed_to_data_store,
                )
            case DossierSyncedToPortal():
                return replace(state, synced_at=_first(state.synced_at, at))
            case DossierDigitized():
                return replace(
                    state,
                    digitized_components=max(state.digitized_components, data.digitized_components),
                    reused_components=max(state.reused_components, data.reused_components),
                    data_store_components=max(
                        state.data_store_components, data.data_store_components
                    ),
                    result_digitized=state.result_digitized or data.result_digitized,
                )
            case DossierIdentityVerified():
                return replace(state, population_data_used=True)
            case DossierRated():
                return replace(state, satisfied=data.satisfied)
            case DossierComplaintFiled():
                return replace(state, complaint=True)
        raise TypeError(f"{event.type} is not a dossier event")

    def _supplement_answered(self, at: datetime, new_due_at: datetime | None) -> DossierState:
        open_ones = [i for i, s in enumerate(self.supplements) if s.answered_at is None]
        if not open_ones:  # an answer with no request on record: nothing to pause
            return self if new_due_at is None else replace(self, due_at=new_due_at)
        i = open_ones[-1]
        answered = replace(self.supplements[i], answered_at=at, due_reset=new_due_at is not None)
        supplements = self.supplements[:i] + (answered,) + self.supplements[i + 1 :]
        return replace(
            self, supplements=supplements, due_at=new_due_at if new_due_at else self.due_at
        )

    @property
    def paused_seconds(self) -> int:
        """Supplement time that is not the unit's: closed pauses the due date does not hold."""
        return sum(
            int((s.answered_at - s.requested_at).total_seconds())
            for s in self.supplements
            if s.answered_at is not None and not s.due_reset
        )

    @property
    def paused_since(self) -> datetime | None:
        """Start of a supplement request the applicant has not answered yet."""
        open_ones = [s.requested_at for s in self.supplements if s.answered_at is None]
        return open_ones[-1] if open_ones else None


@dataclass(frozen=True)
class FeedbackState:
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
    satisfied: bool | None = None
    complained_again: bool = False
    transfers: tuple[tuple[datetime, str], ...] = ()

    def apply(self, event: Event) -> FeedbackState:
        data = event.data
        at = event.occurred_at
        match data:
            case FeedbackReceived():
                unit = self.transfers[-1][1] if self.transfers else data.unit
                return replace(
                    self, unit=unit, procedure=data.procedure, received_at=data.received_at
                )
            case FeedbackTransferred():
                return replace(
                    self, unit=data.to_unit, transfers=self.transfers + ((at, data.to_unit),)
                )
            case FeedbackAccepted():
                return replace(self, accepted_at=_first(self.accepted_at, at))
            case FeedbackRefused():
                return replace(self, refused_at=_first(self.refused_at, at))
            case FeedbackInfoRequested():
                return replace(self, info_requested_at=_first(self.info_requested_at, at))
            case FeedbackAnswered():
                return replace(self, answered_at=_first(self.answered_at, at))
            case FeedbackPublished():
                return replace(self, published_at=_first(self.published_at, at))
            case FeedbackClassified():
                return replace(self, category=data.category)
            case FeedbackRated():
                return replace(self, satisfied=data.satisfied)
            case FeedbackComplainedAgain():
                return replace(self, complained_again=True)
        raise TypeError(f"{event.type} is not a feedback event")


@dataclass(frozen=True)
class Announcement:
    unit: str
    decision_number: str
    decided_on: date
    effective_on: date


@dataclass(frozen=True)
class ProcedureState:
    code: str
    name: str | None = None
    authority_levels: frozenset[UnitLevel] = frozenset()
    online_service: OnlineService = OnlineService.none
    full_online_eligible: bool = False
    fee_bearing: bool = False
    payment_integrated: bool = False
    returns_result_document: bool = True
    applicant_types: frozenset[ApplicantType] = frozenset()
    uses_population_data: bool = False
    processing_working_days: int | None = None
    configured: bool = False
    announcements: tuple[Announcement, ...] = ()
    first_published_on: date | None = None
    components: frozenset[ProcedureComponent] = frozenset()

    def apply(self, event: Event) -> ProcedureState:
        data = event.data
        match data:
            case ProcedureConfigured():
                return replace(
                    self,
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
            case ProcedureAnnounced():
                announcement = Announcement(
                    data.unit, data.decision_number, data.decided_on, data.effective_on
                )
                # a re-sent decision under a new event id replaces, never duplicates
                others = tuple(
                    a for a in self.announcements if a.decision_number != data.decision_number
                )
                return replace(self, announcements=others + (announcement,))
            case ProcedurePublished():
                return replace(
                    self,
                    first_published_on=_first(self.first_published_on, data.published_on),
                    components=frozenset(data.components),
                )
        raise TypeError(f"{event.type} is not a procedure event")


@dataclass(frozen=True)
class CommuneServiceState:
    code: str  # the commune's unit code
    certified_copy_offered_since: date | None = None
    certified_copies_issued: int = 0
    first_certified_copy_at: datetime | None = None

    def apply(self, event: Event) -> CommuneServiceState:
        data = event.data
        match data:
            case CertifiedCopyOffered():
                return replace(
                    self,
                    certified_copy_offered_since=_first(
                        self.certified_copy_offered_since, data.since
                    ),
                )
            case CertifiedCopyIssued():
                return replace(
                    self,
                    certified_copies_issued=self.certified_copies_issued + data.count,
                    first_certified_copy_at=_first(self.first_certified_copy_at, data.at),
                )
        raise TypeError(f"{event.type} is not a commune service event")


State = DossierState | FeedbackState | ProcedureState | CommuneServiceState

STATE_OF: dict[Entity, type[Any]] = {
    Entity.dossier: DossierState,
    Entity.feedback: FeedbackState,
    Entity.procedure: ProcedureState,
    Entity.commune_service: CommuneServiceState,
}


def fold(entity: Entity, code: str, history: History) -> State:
    """The state of one entity: its events applied in event-time order."""
    state = STATE_OF[entity](code)
    for event in history.events:
        state = state.apply(event)
    return state


@dataclass
class Ledger:
    """Every entity's history, keyed by (entity, subject): the reference store for tests,
    the simulator and the reference computation. The aggregator keeps the same histories in
    Faust tables instead."""

    histories: dict[tuple[Entity, str], History] = field(default_factory=dict)

    def add(self, event: Event) -> bool:
        """Record an event; False when it was already there (a resend)."""
        key = (event.entity, event.subject)
        before = self.histories.get(key, History())
        after = before.add(event)
        self.histories[key] = after
        return after is not before

    def states(self, entity: Entity) -> list[State]:
        return [fold(e, code, h) for (e, code), h in self.histories.items() if e == entity]


_T = TypeVar("_T", datetime, date)


def _first(current: _T | None, candidate: _T) -> _T:
    return candidate if current is None else min(current, candidate)
