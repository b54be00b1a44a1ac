"""The events the one-stop-shop, payment, feedback and kiosk systems send us.

Every event is a CloudEvents 1.0 envelope in structured JSON mode. The `type` names the fact and
carries the schema version (``vn.tthc.dossier.received.v1``): a new version of a payload is a new
type, so old senders keep working while new ones move on. ``id`` + ``source`` make an event unique;
``subject`` is the code of the dossier, feedback, procedure or commune the fact is about.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from enum import IntEnum, StrEnum
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from tthc.calendar import VN_TZ
from tthc.units import UnitLevel

SPEC_VERSION = "1.0"
TYPE_PREFIX = "vn.tthc."

# Official codes: unit codes of the statistics office (e.g. "26626"), national procedure codes
# ("1.001234.000.00.00.H12"), dossier codes of the one-stop-shop ("H12.22-240501-0001").
Code = Annotated[
    str, StringConstraints(pattern=r"^[0-9A-Za-z][0-9A-Za-z._\-/]{0,79}$", strip_whitespace=True)
]

# RFC 3339 with an offset, as text: a number would be read as seconds since 1970 (`"time": 0`
# is 1970-01-01), which no one-stop-shop means. Python callers may pass aware datetimes.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError(
            "thời điểm phải là chuỗi RFC 3339 có múi giờ / must be an RFC 3339 string with a "
            "timezone offset, e.g. 2025-08-05T10:00:00+07:00"
        )
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("ngày phải có dạng YYYY-MM-DD / must be a date as YYYY-MM-DD text")
    return value


Day = Annotated[date, BeforeValidator(_iso_date)]


def _printable(value: str) -> str:
    if not value.strip():
        raise ValueError("không được để trống / must not be blank")
    # `isprintable` is false for every category C character (and for some spaces, which are
    # allowed): the per-character look-up runs only for such rare text.
    if not value.isprintable() and any(unicodedata.category(c).startswith("C") for c in value):
        raise ValueError(
            "chỉ được chứa ký tự in được / must be printable text (no control characters)"
        )
    return value


# Non-blank printable text of bounded length: a NUL or a blank id cannot name an event.
EventId = Annotated[str, StringConstraints(max_length=200), AfterValidator(_printable)]
Source = Annotated[str, StringConstraints(max_length=500), AfterValidator(_printable)]
# Payload timestamps that say when the fact happened; due dates may lie in the future.
OCCURRED_FIELDS = ("at", "received_at")
DUE_FIELDS = ("due_at", "new_due_at")

Amount = Annotated[int, Field(ge=0, le=10**13, description="Vietnamese đồng, no minor unit")]
Count = Annotated[int, Field(ge=0, le=10_000)]


class Entity(StrEnum):
    """Whose history an event belongs to; each entity's events are folded into one state."""

    dossier = "dossier"
    feedback = "feedback"
    procedure = "procedure"
    commune_service = "commune_service"


class Channel(IntEnum):
    """How a dossier was submitted (the one-stop-shop's own numbering)."""

    in_person = 1
    online = 2
    post = 3


class DossierStatus(IntEnum):
    """The one-stop-shop's dossier statuses 1–10."""

    registered = 1
    received = 2
    refused = 3
    in_progress = 4
    supplement_requested = 5
    financial_obligation_requested = 6
    withdrawn = 7
    stopped = 8
    processed = 9
    result_returned = 10


class OnlineService(StrEnum):
    none = "none"
    partial = "partial"  # một phần
    full = "full"  # toàn trình


class ApplicantType(StrEnum):
    individual = "individual"
    organization = "organization"


class ProcedureComponent(StrEnum):
    """The seven parts a published procedure must carry (1.3)."""

    name = "name"
    steps = "steps"
    method = "method"
    dossier_components = "dossier_components"
    processing_time = "processing_time"
    fees = "fees"
    legal_basis = "legal_basis"


class IdentityMethod(StrEnum):
    vneid = "vneid"
    population_database = "population_database"


class Payload(BaseModel):
    """Base of every event's `data`. Unknown fields are refused so that typos surface."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: ClassVar[Entity]
    fact: ClassVar[str]
    status: ClassVar[DossierStatus | None] = None

    @classmethod
    def event_type(cls) -> str:
        return f"{TYPE_PREFIX}{cls.entity.value}.{cls.fact}.v1"


# --- Dossier lifecycle (subject: dossier code) -------------------------------------------------


class DossierReceived(Payload):
    entity = Entity.dossier
    fact = "received"
    status = DossierStatus.received

    unit: Code
    procedure: Code
    channel: Channel
    received_at: Instant
    due_at: Instant | None = Field(
        None, description="Hạn trả kết quả; when absent the procedure's time limit applies"
    )
    applicant_type: ApplicantType = ApplicantType.individual


class DossierRefused(Payload):
    """Refused at intake (status 3): the dossier was never accepted and counts nowhere."""

    entity = Entity.dossier
    fact = "refused"
    status = DossierStatus.refused

    at: Instant
    reason: str | None = None


class DossierSupplementRequested(Payload):
    entity = Entity.dossier
    fact = "supplement_requested"
    status = DossierStatus.supplement_requested

    at: Instant
    reason: str | None = None


class DossierSupplementReceived(Payload):
    entity = Entity.dossier
    fact = "supplement_received"

    at: Instant
    new_due_at: Instant | None = Field(
        None,
        description="Set when the source system re-set the due date for this supplement; "
        "the supplement time is then not taken off a second time",
    )


class DossierDueDateChanged(Payload):
    """A correction or an extension of the due date; the latest by event time wins."""

    entity = Entity.dossier
    fact = "due_date_changed"

    at: Instant
    due_at: Instant
    reason: str | None = None


class DossierFinancialObligationRequested(Payload):
    entity = Entity.dossier
    fact = "financial_obligation_requested"
    status = DossierStatus.financial_obligation_requested

    at: Instant
    amount: Amount


class DossierFeePaid(Payload):
    entity = Entity.dossier
    fact = "fee_paid"

    at: Instant
    amount: Annotated[int, Field(gt=0, le=10**13)]
    online: bool


class DossierWithdrawn(Payload):
    entity = Entity.dossier
    fact = "withdrawn"
    status = DossierStatus.withdrawn

    at: Instant


class DossierStopped(Payload):
    entity = Entity.dossier
    fact = "stopped"
    status = DossierStatus.stopped

    at: Instant
    reason: str | None = None


class DossierProcessed(Payload):
    entity = Entity.dossier
    fact = "processed"
    status = DossierStatus.processed

    at: Instant


class DossierResultReturned(Payload):
    entity = Entity.dossier
    fact = "result_returned"
    status = DossierStatus.result_returned

    at: Instant
    electronic: bool = Field(description="Kết quả điện tử")
    pushed_to_data_store: bool = Field(False, description="Đẩy vào kho dữ liệu của công dân")


class DossierSyncedToPortal(Payload):
    entity = Entity.dossier
    fact = "synced_to_portal"

    at: Instant


class DossierDigitized(Payload):
    """Digitization of a dossier's components; several reports keep the largest counts."""

    entity = Entity.dossier
    fact = "digitized"

    at: Instant
    digitized_components: Count
    reused_components: Count = 0
    data_store_components: Count = 0
    result_digitized: bool = False


class DossierIdentityVerified(Payload):
    entity = Entity.dossier
    fact = "identity_verified"

    at: Instant
    method: IdentityMethod


class DossierRated(Payload):
    entity = Entity.dossier
    fact = "rated"

    at: Instant
    satisfied: bool


class DossierComplaintFiled(Payload):
    entity = Entity.dossier
    fact = "complaint_filed"

    at: Instant


# --- Feedback (phản ánh, kiến nghị; subject: feedback code) ------------------------------------


class FeedbackReceived(Payload):
    entity = Entity.feedback
    fact = "received"

    unit: Code
    received_at: Instant
    procedure: Code | None = None


class FeedbackTransferred(Payload):
    entity = Entity.feedback
    fact = "transferred"

    at: Instant
    to_unit: Code


class FeedbackAccepted(Payload):
    entity = Entity.feedback
    fact = "accepted"

    at: Instant


class FeedbackRefused(Payload):
    entity = Entity.feedback
    fact = "refused"

    at: Instant
    reason: str | None = None


class FeedbackInfoRequested(Payload):
    entity = Entity.feedback
    fact = "info_requested"

    at: Instant


class FeedbackAnswered(Payload):
    entity = Entity.feedback
    fact = "answered"

    at: Instant


class FeedbackPublished(Payload):
    entity = Entity.feedback
    fact = "published"

    at: Instant


class FeedbackClassified(Payload):
    entity = Entity.feedback
    fact = "classified"

    at: Instant
    category: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class FeedbackRated(Payload):
    entity = Entity.feedback
    fact = "rated"

    at: Instant
    satisfied: bool


class FeedbackComplainedAgain(Payload):
    entity = Entity.feedback
    fact = "complained_again"

    at: Instant


# --- Procedure catalogue (subject: national procedure code) ------------------------------------


class ProcedureConfigured(Payload):
    """The procedure's attributes as the province runs it; the latest by event time wins."""

    entity = Entity.procedure
    fact = "configured"

    at: Instant
    name: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    authority_levels: Annotated[list[UnitLevel], Field(min_length=1)]
    online_service: OnlineService
    full_online_eligible: bool = False
    fee_bearing: bool = False
    payment_integrated: bool = False
    returns_result_document: bool = True
    applicant_types: Annotated[list[ApplicantType], Field(min_length=1)] = [
        ApplicantType.individual
    ]
    uses_population_data: bool = False
    processing_working_days: Annotated[int, Field(ge=0, le=365)] | None = None


class ProcedureAnnounced(Payload):
    """A decision announcing the procedure (quyết định công bố)."""

    entity = Entity.procedure
    fact = "announced"

    unit: Code
    decision_number: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    decided_on: Day
    effective_on: Day = Field(description="When the legal basis takes effect")


class ProcedurePublished(Payload):
    """Publication on the national procedures database (CSDL quốc gia về TTHC)."""

    entity = Entity.procedure
    fact = "published"

    published_on: Day
    components: list[ProcedureComponent]


# --- Commune services (subject: commune unit code) ---------------------------------------------


class CertifiedCopyOffered(Payload):
    """The commune offers electronic certified copies from originals (chứng thực điện tử)."""

    entity = Entity.commune_service
    fact = "certified_copy_offered"

    unit: Code
    since: Day


class CertifiedCopyIssued(Payload):
    entity = Entity.commune_service
    fact = "certified_copy_issued"

    unit: Code
    at: Instant
    count: Annotated[int, Field(ge=1, le=100_000)] = 1


PAYLOADS: tuple[type[Payload], ...] = tuple(Payload.__subclasses__())
EVENT_TYPES: dict[str, type[Payload]] = {p.event_type(): p for p in PAYLOADS}


class Event(BaseModel):
    """A validated CloudEvent whose `data` is the typed payload of its `type`."""

    model_config = ConfigDict(frozen=True)

    id: EventId
    source: Source
    type: str
    subject: Code
    time: Instant
    data: Payload

    @property
    def key(self) -> tuple[str, str]:
        """What makes an event unique: a resend has the same key and must count once."""
        return (self.source, self.id)

    @property
    def entity(self) -> Entity:
        return self.data.entity

    @property
    def occurred_at(self) -> datetime:
        """When the fact happened: the payload's own timestamp, else the envelope's `time`."""
        fields = self.data.__dict__  # not getattr: pydantic's __getattr__ makes a miss slow
        for name in OCCURRED_FIELDS:
            value = fields.get(name)
            if isinstance(value, datetime):
                return value
        return self.time

    @property
    def unit(self) -> str | None:
        return getattr(self.data, "unit", None)

    def to_cloudevent(self) -> dict[str, Any]:
        """The structured-mode JSON object, as a sender would post it."""
        return {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.isoformat(),
            "datacontenttype": "application/json",
            "data": self.data.model_dump(mode="json"),
        }


class _Envelope(BaseModel):
    """CloudEvents 1.0 context attributes; extension attributes are allowed and ignored."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"]
    id: EventId
    source: Source
    type: str
    subject: Code
    time: Instant
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    data: dict[str, Any]

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in EVENT_TYPES:
            raise ValueError(f"unknown event type {value!r}; known types: see GET /v1/event-types")
        return value


class EventError(ValueError):
    """An event that cannot be accepted, with every problem as (field path, reason);
    `unknown_type` when its type is a string none of EVENT_TYPES is (e.g. a newer sender's)."""

    def __init__(self, problems: list[tuple[str, str]], *, unknown_type: bool = False) -> None:
        self.problems = problems
        self.unknown_type = unknown_type
        super().__init__("; ".join(f"{path}: {reason}" for path, reason in problems))


def _problems(error: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    return [
        (prefix + ".".join(str(part) for part in e["loc"]) or "(event)", e["msg"])
        for e in error.errors(include_url=False)
    ]


_ATTRIBUTES = ("id", "source", "type", "subject", "time")  # of the envelope, kept in the Event


def parse_event(raw: Any) -> Event:
    """Validate one decoded CloudEvent; raise EventError naming each bad field."""
    if not isinstance(raw, dict):
        raise EventError([("(event)", "an event must be a JSON object")])
    try:
        envelope = _Envelope.model_validate(raw)
    except ValidationError as error:
        type_ = raw.get("type")
        unknown = isinstance(type_, str) and type_ not in EVENT_TYPES
        raise EventError(_problems(error), unknown_type=unknown) from None
    payload_type = EVENT_TYPES[envelope.type]
    try:
        data = payload_type.model_validate(envelope.data)
    except ValidationError as error:
        raise EventError(_problems(error, prefix="data.")) from None
    # Every field was validated above, by the same types: validating them again costs as much.
    return Event.model_construct(
        **{name: getattr(envelope, name) for name in _ATTRIBUTES}, data=data
    )


def make_event(
    payload: Payload, *, subject: str, id: str, source: str, time: datetime | None = None
) -> Event:
    """Build an event from a payload (simulators, tests, importers)."""
    return Event(
        id=id,
        source=source,
        type=payload.event_type(),
        subject=subject,
        time=time or _payload_time(payload),
        data=payload,
    )


def _payload_time(payload: Payload) -> datetime:
    for name in OCCURRED_FIELDS:
        value = getattr(payload, name, None)
        if isinstance(value, datetime):
            return value
    for name in ("published_on", "decided_on", "since"):
        value = getattr(payload, name, None)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=VN_TZ)
    raise ValueError(f"{type(payload).__name__} has no timestamp: pass time=")


class TimeProblem(NamedTuple):
    field: str
    reason: str
    future: bool  # after the latest plausible time, rather than nonsense


def implausible_times(event: Event, earliest: datetime, latest: datetime) -> list[TimeProblem]:
    """Every timestamp of ``event`` outside [earliest, latest] (due dates: only not before
    ``earliest``), and a due date before the receipt."""
    fields = event.data.__dict__
    stamped = [("time", event.time, True)] + [
        (f"data.{name}", value, name in OCCURRED_FIELDS)
        for name in (*OCCURRED_FIELDS, *DUE_FIELDS)
        if isinstance(value := fields.get(name), datetime)
    ]
    problems = []
    for path, value, occurred in stamped:
        if _before(value, earliest):
            problems.append(TimeProblem(path, (
                f"{value.isoformat()} trước {earliest.date().isoformat()}, không hợp lý / "
                f"lies before {earliest.isoformat()}, the earliest plausible time"
            ), future=False))  # fmt: skip
        elif occurred and _before(latest, value):
            problems.append(TimeProblem(path, (
                f"{value.isoformat()} ở tương lai / lies in the future (after "
                f"{latest.isoformat()}, now plus the allowed clock skew)"
            ), future=True))  # fmt: skip
    received, due = fields.get("received_at"), fields.get("due_at")
    if isinstance(received, datetime) and isinstance(due, datetime) and _before(due, received):
        problems.append(TimeProblem("data.due_at", (
            f"hạn {due.isoformat()} trước khi tiếp nhận / the due date lies before the "
            f"receipt {received.isoformat()}"
        ), future=False))  # fmt: skip
    return problems


def _before(a: datetime, b: datetime) -> bool:
    """a < b; a time too far out to convert to UTC (year 1 at +01:00) is before anything."""
    try:
        return a < b
    except OverflowError:
        return a.year < b.year
