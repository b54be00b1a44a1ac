"""Fact rows: one flat record per dossier, feedback, procedure and commune, derived from state.

Facts are what the indicators count. They hold the state's outcome in plain columns (times in
UTC to the second, flags, counts) plus what the methodology decides at derivation time (the due
date from the procedure's time limit, feedback deadlines in working days). The aggregator stores
them in ClickHouse, one row per entity that a newer row replaces; the reference computation
counts them in Python. Lateness that depends on "now" stays out of facts: measures judge it
against a cutoff instant at query time. So does everything else that happens in a dossier's or a
feedback's life: facts carry the instant each flag first held (and, for what can change back,
the instants of every change), and the measures compare them with the cutoff, so that a score
judged at any instant counts only what had happened by then.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from operator import attrgetter
from typing import Any, TypedDict

from tthc.calendar import VN_TZ, WorkingCalendar, local_date
from tthc.events import ApplicantType, Entity, OnlineService, ProcedureComponent
from tthc.profile import Settings, UnknownProcedure
from tthc.state import CommuneServiceState, DossierState, FeedbackState, ProcedureState, State


class Subject(StrEnum):
    """The kind of fact row a measure counts; each has its own table."""

    dossier = "dossier"
    feedback = "feedback"
    procedure = "procedure"
    commune = "commune"


def _second(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(microsecond=0)


def _utc(t: datetime | None) -> datetime | None:
    return None if t is None else _second(t)


class _Ratings(TypedDict):
    rated_at: list[datetime]
    rated_dissatisfied: list[bool]


def _ratings(ratings: tuple[tuple[datetime, bool], ...]) -> _Ratings:
    """Every rating, not only the latest: a score judged at a cutoff takes the latest by then."""
    return _Ratings(
        rated_at=[_second(at) for at, _ in ratings],
        rated_dissatisfied=[not satisfied for _, satisfied in ratings],
    )


class Facts:
    """Base of fact rows: values in column order for SQL inserts, a dict view for expression
    evaluation. Both read the attributes as they are (fact rows are frozen): a deep copy per
    row (`dataclasses.asdict`) was most of an insert's time."""

    def values(self) -> tuple[Any, ...]:
        return _values_of(type(self))(self)

    def row(self) -> dict[str, Any]:
        return dict(zip(self.columns(), self.values(), strict=True))

    @classmethod
    def columns(cls) -> list[str]:
        return list(_columns_of(cls))

    @classmethod
    def column_types(cls) -> Mapping[str, ColumnType]:
        """Each column's type, from its annotation (declared once: storage's column types
        derive from these), in column order."""
        found = _TYPES.get(cls)
        if found is None:
            hints = typing.get_type_hints(cls)
            found = _TYPES[cls] = {name: column_type(hints[name]) for name in _columns_of(cls)}
        return found


class Scalar(StrEnum):
    """What one value of a fact column is."""

    text = "text"
    flag = "flag"
    integer = "integer"
    real = "real"
    instant = "instant"  # a UTC datetime, to the second
    day = "day"  # a calendar date (in Vietnam)


@dataclass(frozen=True)
class ColumnType:
    """A fact column's type: a scalar, maybe None, or a list of such (`array`)."""

    scalar: Scalar
    nullable: bool = False  # the value, or for an array each item, may be None
    array: bool = False


_SCALARS: dict[Any, Scalar] = {
    str: Scalar.text,
    bool: Scalar.flag,
    int: Scalar.integer,
    float: Scalar.real,
    datetime: Scalar.instant,
    date: Scalar.day,
}


def column_type(annotation: Any) -> ColumnType:
    """The column type of a fact field's annotation: a scalar, `X | None`, `list[...]` of them."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if len(args) != 2 or type(None) not in args:
            raise TypeError(f"only `X | None` unions are fact columns, not {annotation!r}")
        (inner,) = (a for a in args if a is not type(None))
        item = column_type(inner)
        if item.nullable or item.array:
            raise TypeError(f"a fact column may be None only as a scalar, not {annotation!r}")
        return ColumnType(item.scalar, nullable=True)
    if origin is list:
        (inner,) = typing.get_args(annotation)
        item = column_type(inner)
        if item.array:
            raise TypeError(f"a fact column is a list of scalars, not {annotation!r}")
        return ColumnType(item.scalar, nullable=item.nullable, array=True)
    try:
        return ColumnType(_SCALARS[annotation])
    except KeyError:
        raise TypeError(f"no fact column type for {annotation!r}") from None


# Once per fact class. Plain dicts, not functools.cache: mypy does not see a class as hashable
# where its own methods pass it.
_COLUMNS: dict[type[Facts], tuple[str, ...]] = {}
_GETTERS: dict[type[Facts], attrgetter[tuple[Any, ...]]] = {}
_TYPES: dict[type[Facts], dict[str, ColumnType]] = {}


def _columns_of(cls: type[Facts]) -> tuple[str, ...]:
    columns = _COLUMNS.get(cls)
    if columns is None:
        columns = _COLUMNS[cls] = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    return columns


def _values_of(cls: type[Facts]) -> attrgetter[tuple[Any, ...]]:
    getter = _GETTERS.get(cls)
    if getter is None:
        getter = _GETTERS[cls] = attrgetter(*_columns_of(cls))
    return getter


@dataclass(frozen=True)
class DossierFacts(Facts):
    code: str
    unit: str
    procedure: str
    counted: bool  # accepted at intake: a dossier refused at intake counts nowhere
    channel: int
    received_at: datetime
    due_at: datetime | None
    ended_at: datetime | None
    withdrawn: bool
    supplement_requests: int
    paused_seconds: int  # supplement time the due date does not already hold (2.1)
    supplement_seconds: int  # all answered supplement time (2.2)
    paused_since: datetime | None
    returned_at: datetime | None
    result_electronic: bool
    result_digitized: bool
    result_pushed_to_data_store: bool
    synced_at: datetime | None
    sync_due_at: datetime | None
    fee: int
    paid_online: bool
    digitized_components: int
    reused_components: int
    data_store_components: int
    population_data_used: bool
    dissatisfied: bool
    complaint: bool
    online_service: str
    full_online_eligible: bool
    returns_result_document: bool
    # When each thing happened (migration 7): what the measures judge at a cutoff. The columns
    # above keep the latest state, for listings.
    refused_at: datetime | None
    withdrawn_at: datetime | None
    # the due date's changes: (when, due date) pairs, the procedure's time limit first from
    # receipt when the dossier came without one
    due_changed_at: list[datetime]
    due_values: list[datetime]
    # each supplement request, its answer (None while unanswered), and whether that answer
    # re-set the due date
    supplement_requested_at: list[datetime]
    supplement_answered_at: list[datetime | None]
    supplement_due_reset: list[bool]
    fee_changed_at: list[datetime]
    fee_values: list[int]
    paid_online_at: datetime | None
    result_electronic_at: datetime | None
    result_pushed_at: datetime | None
    result_digitized_at: datetime | None
    digitized_at: datetime | None
    reused_at: datetime | None
    data_store_at: datetime | None
    identity_verified_at: datetime | None
    rated_at: list[datetime]
    rated_dissatisfied: list[bool]
    complaint_at: datetime | None


@dataclass(frozen=True)
class FeedbackFacts(Facts):
    code: str
    unit: str
    received_at: datetime
    classified: bool
    decided_at: datetime | None  # accepted or refused, whichever came first
    decide_due_at: datetime
    info_requested_at: datetime | None
    info_request_due_at: datetime
    ended_at: datetime | None  # answered or refused
    handle_due_at: datetime
    dissatisfied: bool
    complained_again: bool
    # when each thing happened (migration 7), as for dossiers
    classified_at: datetime | None
    rated_at: list[datetime]
    rated_dissatisfied: list[bool]
    complained_again_at: datetime | None


@dataclass(frozen=True)
class ProcedureFacts(Facts):
    code: str
    announcing_unit: str
    configured: bool
    authority_levels: list[str]
    online_service: str
    full_online_eligible: bool
    fee_bearing: bool
    payment_integrated: bool
    for_individuals: bool
    uses_population_data: bool
    first_announced_on: date | None
    first_late_decision_on: date | None  # the first announcement decision that came late
    publish_due_on: date | None
    first_published_on: date | None
    components_complete: bool
    # each publication's day and whether it carried all 7 components (migration 9), in the
    # order they came: 1.3 judged at a cutoff reads the latest by the cutoff's day
    published_on: list[date]
    published_complete: list[bool]
    name: str = ""  # from the catalogue; '' for a procedure only seen in dossiers
    # the required components its latest publication lacks (1.3 says which)
    missing_components: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CommuneFacts(Facts):
    code: str
    certified_copy_offered_since: date | None
    first_certified_copy_at: datetime | None


def dossier_facts(
    state: DossierState,
    procedure: ProcedureState | None,
    calendar: WorkingCalendar,
    settings: Settings,
) -> DossierFacts | None:
    """None until the dossier's reception is known (its other events may come first)."""
    if state.received_at is None or state.unit is None or state.procedure is None:
        return None
    received_at = _utc(state.received_at)
    assert received_at is not None and state.channel is not None
    limit_due = (
        calendar.add_working_days(state.received_at, procedure.processing_working_days)
        if procedure is not None and procedure.processing_working_days
        else None
    )
    due_at = state.due_at if state.due_at is not None else limit_due
    due_history = [(_second(at), _second(due)) for at, due in state.due_history]
    if limit_due is not None and not any(at <= received_at for at, _ in due_history):
        # no due date given at receipt: the procedure's time limit holds until one is
        due_history.insert(0, (received_at, _second(limit_due)))
    sync_due_at = (
        received_at + timedelta(hours=settings.sync_max_delay_hours)
        if settings.sync_max_delay_hours
        else None
    )
    known = procedure if procedure is not None and procedure.configured else None
    return DossierFacts(
        code=state.code,
        unit=state.unit,
        procedure=state.procedure,
        counted=state.accepted,
        channel=int(state.channel),
        received_at=received_at,
        due_at=_utc(due_at),
        ended_at=_utc(state.ended_at),
        withdrawn=state.withdrawn_at is not None,
        supplement_requests=len(state.supplements),
        paused_seconds=state.paused_seconds,
        supplement_seconds=state.supplement_seconds,
        paused_since=_utc(state.paused_since),
        returned_at=_utc(state.returned_at),
        result_electronic=state.result_electronic,
        result_digitized=state.result_digitized,
        result_pushed_to_data_store=state.result_pushed_to_data_store,
        synced_at=_utc(state.synced_at),
        sync_due_at=sync_due_at,
        fee=state.fee,
        paid_online=state.paid_online,
        digitized_components=state.digitized_components,
        reused_components=state.reused_components,
        data_store_components=state.data_store_components,
        population_data_used=state.population_data_used,
        dissatisfied=state.satisfied is False,
        complaint=state.complaint,
        online_service=(known.online_service if known else OnlineService.none).value,
        full_online_eligible=known.full_online_eligible if known else False,
        # until its procedure is configured, the profile says (derived again once it is)
        returns_result_document=known.returns_result_document
        if known
        else settings.unknown_procedure_dossiers is UnknownProcedure.defaults,
        refused_at=_utc(state.refused_at),
        withdrawn_at=_utc(state.withdrawn_at),
        due_changed_at=[at for at, _ in due_history],
        due_values=[due for _, due in due_history],
        supplement_requested_at=[_second(s.requested_at) for s in state.supplements],
        supplement_answered_at=[_utc(s.answered_at) for s in state.supplements],
        supplement_due_reset=[s.due_reset for s in state.supplements],
        fee_changed_at=[_second(at) for at, _ in state.fee_history],
        fee_values=[fee for _, fee in state.fee_history],
        paid_online_at=_utc(state.paid_online_at),
        result_electronic_at=_utc(state.result_electronic_at),
        result_pushed_at=_utc(state.result_pushed_at),
        result_digitized_at=_utc(state.result_digitized_at),
        digitized_at=_utc(state.digitized_at),
        reused_at=_utc(state.reused_at),
        data_store_at=_utc(state.data_store_at),
        identity_verified_at=_utc(state.identity_verified_at),
        **_ratings(state.ratings),
        complaint_at=_utc(state.complaint_at),
    )


def feedback_facts(
    state: FeedbackState, calendar: WorkingCalendar, settings: Settings
) -> FeedbackFacts | None:
    if state.received_at is None or state.unit is None:
        return None
    received = state.received_at

    def due(days: int) -> datetime:
        result = _utc(calendar.add_working_days(received, days))
        assert result is not None
        return result

    decisions = [t for t in (state.accepted_at, state.refused_at) if t is not None]
    ends = [t for t in (state.answered_at, state.refused_at) if t is not None]
    received_utc = _utc(received)
    assert received_utc is not None
    return FeedbackFacts(
        code=state.code,
        unit=state.unit,
        received_at=received_utc,
        classified=state.category is not None,
        decided_at=_utc(min(decisions)) if decisions else None,
        decide_due_at=due(settings.feedback_decide_working_days),
        info_requested_at=_utc(state.info_requested_at),
        info_request_due_at=due(settings.feedback_info_request_working_days),
        ended_at=_utc(min(ends)) if ends else None,
        handle_due_at=due(settings.feedback_handle_working_days),
        dissatisfied=state.satisfied is False,
        complained_again=state.complained_again,
        classified_at=_utc(state.classified_at),
        **_ratings(state.ratings),
        complained_again_at=_utc(state.complained_again_at),
    )


def procedure_facts(
    state: ProcedureState, calendar: WorkingCalendar, settings: Settings
) -> ProcedureFacts:
    first = min(state.announcements, key=lambda a: a.decided_on) if state.announcements else None
    # A procedure in several decisions counts once, and late if any decision was late: from
    # the first late one on (1.1 judged at a cutoff before it knows nothing of it).
    late = [
        a.decided_on
        for a in state.announcements
        if a.decided_on > _shift(calendar, a.effective_on, -settings.announcement_lead_working_days)
    ]
    publish_due_on = (
        _shift(calendar, first.decided_on, settings.publication_working_days) if first else None
    )
    return ProcedureFacts(
        code=state.code,
        announcing_unit=first.unit if first else "",
        configured=state.configured,
        authority_levels=sorted(level.value for level in state.authority_levels),
        online_service=state.online_service.value,
        full_online_eligible=state.full_online_eligible,
        fee_bearing=state.fee_bearing,
        payment_integrated=state.payment_integrated,
        for_individuals=ApplicantType.individual in state.applicant_types,
        uses_population_data=state.uses_population_data,
        first_announced_on=first.decided_on if first else None,
        first_late_decision_on=min(late) if late else None,
        publish_due_on=publish_due_on,
        first_published_on=state.first_published_on,
        components_complete=state.components >= set(ProcedureComponent),
        published_on=[day for day, _ in state.publications],
        published_complete=[complete for _, complete in state.publications],
        name=state.name or "",
        missing_components=sorted(c.value for c in set(ProcedureComponent) - state.components),
    )


def commune_facts(state: CommuneServiceState) -> CommuneFacts:
    return CommuneFacts(
        code=state.code,
        certified_copy_offered_since=state.certified_copy_offered_since,
        first_certified_copy_at=_utc(state.first_certified_copy_at),
    )


def _shift(calendar: WorkingCalendar, day: date, working_days: int) -> date:
    """The day `working_days` working days after (or, negative, before) `day`."""
    start = datetime(day.year, day.month, day.day, tzinfo=VN_TZ)
    return local_date(calendar.add_working_days(start, working_days))


@dataclass(frozen=True)
class Kind:
    """One kind of entity from end to end: its events' entity, the fact rows its state gives,
    and the subject the measures count them as."""

    entity: Entity
    facts: type[Facts]
    subject: Subject


KINDS: dict[Entity, Kind] = {
    k.entity: k
    for k in (
        Kind(Entity.dossier, DossierFacts, Subject.dossier),
        Kind(Entity.feedback, FeedbackFacts, Subject.feedback),
        Kind(Entity.procedure, ProcedureFacts, Subject.procedure),
        Kind(Entity.commune_service, CommuneFacts, Subject.commune),
    )
}
FACTS_OF: dict[Subject, type[Facts]] = {k.subject: k.facts for k in KINDS.values()}


def column_type_of(subject: Subject, column: str) -> ColumnType:
    """The type of a column of a subject's fact rows."""
    found = FACTS_OF[subject].column_types()
    if column not in found:
        raise KeyError(f"{subject.value} facts have no column {column!r}")
    return found[column]


def derive(
    state: State,
    procedure: ProcedureState | None,
    calendar: WorkingCalendar,
    settings: Settings,
) -> Facts | None:
    """The fact row of any entity's state; a dossier's needs its procedure (None if unknown)."""
    match state:
        case DossierState():
            return dossier_facts(state, procedure, calendar, settings)
        case FeedbackState():
            return feedback_facts(state, calendar, settings)
        case ProcedureState():
            return procedure_facts(state, calendar, settings)
        case CommuneServiceState():
            return commune_facts(state)
