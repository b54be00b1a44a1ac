"""What the ingest refuses, and why: one decoded event in, a domain Event or a Rejection out.

The domain (`parse_event`) decides what a well-formed event is. The ingest adds what only a
running service can know: the unit tree it serves, the procedures configured so far, the clock,
and the caller's key.

Procedures: a dossier names the procedure it follows, but the ingest can only know procedures
from a catalogue. When ``procedures_file`` is set, a dossier or feedback naming a procedure that
is neither in that file nor configured through this ingest since it started (a
``procedure.*`` event, also earlier in the same batch) is refused. Without the file, procedure
codes are not checked here: the API lists dossiers of unconfigured procedures
(``/v1/unknown-procedures``), and the profile says how they count meanwhile.

Scope: an event that names a unit (``data.unit``, ``data.to_unit``'s unit is checked
downstream) is accepted only from a key whose scope covers that unit; a commune service's unit
is its subject. Follow-up events of a dossier or feedback name no unit (the dossier belongs to
the unit of its first ``received`` event, which this stateless service does not keep): the
Kafka record is stamped with the key's name and scope, and the aggregator refuses those of a
key not covering the owner (:mod:`tthc.ownership`). Procedure events are the province's
catalogue: without a unit they need a key covering its root, an announcement names a province
or department unit its key covers. A source a key is bound to is that key's alone.

Plausibility: times are RFC 3339 strings with an offset inside [``earliest_time``, now + skew]
(due dates: not before ``earliest_time``, not before the receipt); ids and sources are
printable. ``validate`` applies all of it but the key's scope, for ``tthc validate-events`` and
``tthc import``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from services.auth import Grant
from services.ingest.publisher import event_value
from tthc.calendar import VN_TZ
from tthc.events import Entity, Event, EventError, implausible_times, parse_event
from tthc.units import UnitLevel, UnitTree


class Reason(StrEnum):
    malformed_json = "malformed_json"
    invalid = "invalid"
    unknown_type = "unknown_type"
    too_large = "too_large"
    unknown_unit = "unknown_unit"
    unknown_procedure = "unknown_procedure"
    future_time = "future_time"
    implausible_time = "implausible_time"
    conflict = "conflict"
    out_of_scope = "out_of_scope"
    source_not_allowed = "source_not_allowed"


# For integrators: Vietnamese first, English after the slash.
MESSAGES: dict[Reason, str] = {
    Reason.malformed_json: "Không phải JSON hợp lệ / Not valid JSON",
    Reason.invalid: "Sự kiện không hợp lệ / Invalid event",
    Reason.unknown_type: "Loại sự kiện không được hỗ trợ / Unknown event type",
    Reason.too_large: "Sự kiện quá lớn / Event too large",
    Reason.unknown_unit: "Mã đơn vị không có trong danh mục / Unknown unit code",
    Reason.unknown_procedure: "Mã thủ tục chưa được cấu hình / Unknown procedure code",
    Reason.future_time: "Thời điểm ở tương lai / Timestamp in the future",
    Reason.implausible_time: "Thời điểm không hợp lý / Implausible timestamp",
    Reason.conflict: (
        "Sự kiện đã nhận với nội dung khác / This event was accepted before with another payload"
    ),
    Reason.out_of_scope: (
        "Khóa API không có quyền với đơn vị này / API key not allowed for this unit"
    ),
    Reason.source_not_allowed: (
        "Khóa API không được gửi sự kiện của nguồn này / API key not allowed for this source"
    ),
}

STATUS: dict[Reason, int] = {
    Reason.malformed_json: 400,
    Reason.too_large: 413,
    Reason.out_of_scope: 403,
    Reason.source_not_allowed: 403,
    Reason.conflict: 409,
}


@dataclass(frozen=True)
class Rejection:
    reason: Reason
    problems: tuple[tuple[str, str], ...]

    @property
    def status(self) -> int:
        """The HTTP status when this is the answer to a single event."""
        return STATUS.get(self.reason, 422)

    @property
    def message(self) -> str:
        return MESSAGES[self.reason]


class Rejected(Exception):
    def __init__(self, reason: Reason, problems: list[tuple[str, str]]) -> None:
        super().__init__(reason.value)
        self.rejection = Rejection(reason, tuple(problems))


# Nothing of the 766 scoring predates the one-stop-shop systems it reads.
EARLIEST_TIME = datetime(2015, 1, 1, tzinfo=VN_TZ)
_CATALOGUE = (UnitLevel.province, UnitLevel.department)


class EventPolicy:
    def __init__(
        self,
        tree: UnitTree,
        *,
        procedures: frozenset[str] | None,
        max_future_skew: timedelta,
        max_event_bytes: int,
        earliest_time: datetime = EARLIEST_TIME,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.tree = tree
        self.procedures = procedures
        self.configured_procedures: set[str] = set()
        self.earliest_time = earliest_time
        self.max_future_skew = max_future_skew
        self.max_event_bytes = max_event_bytes
        self.clock = clock

    def learn(self, event: Event) -> None:
        """Kafka has this event: a procedure it configures is known from now on."""
        if event.entity is Entity.procedure:
            self.configured_procedures.add(event.subject)

    def check(
        self, raw: Any, grant: Grant, batch_procedures: set[str] | None = None
    ) -> tuple[Event, bytes]:
        """The domain event for ``raw`` and its Kafka value, or Rejected naming each bad field."""
        event = _parse(raw)
        if not grant.allows_source(event.source):
            raise Rejected(
                Reason.source_not_allowed,
                [("source", f"key {grant.name!r} may not send events of source {event.source!r}")],
            )
        self._plausible(event, batch_procedures)
        self._check_scope(event, grant)
        value = self._sized(event_value(event, grant))
        if batch_procedures is not None and event.entity is Entity.procedure:
            batch_procedures.add(event.subject)
        return event, value

    def validate(self, raw: Any, batch_procedures: set[str] | None = None) -> Event:
        """Everything :meth:`check` refuses but the key's scope: ``tthc validate-events`` and
        ``tthc import`` check files with it before anything is sent."""
        event = _parse(raw)
        self._plausible(event, batch_procedures)
        self._sized(event_value(event))
        if batch_procedures is not None and event.entity is Entity.procedure:
            batch_procedures.add(event.subject)
        return event

    def _plausible(self, event: Event, batch_procedures: set[str] | None) -> None:
        self._check_clock(event)
        self._check_units(event)
        self._check_procedure(event, batch_procedures or set())

    def _sized(self, value: bytes) -> bytes:
        size = len(value)
        if size > self.max_event_bytes:
            raise Rejected(
                Reason.too_large,
                [("(event)", f"{size} bytes once encoded; the limit is {self.max_event_bytes}")],
            )
        return value

    def _check_clock(self, event: Event) -> None:
        problems = implausible_times(event, self.earliest_time, self.clock() + self.max_future_skew)
        if problems:
            future = all(p.future for p in problems)
            raise Rejected(
                Reason.future_time if future else Reason.implausible_time,
                [(p.field, p.reason) for p in problems],
            )

    def _check_units(self, event: Event) -> None:
        problems = [
            (f"data.{name}", f"đơn vị {code!r} không có trong danh mục / unit {code!r} is not "
             f"in the unit tree of {self.tree.province or 'the province'}")
            for name in ("unit", "to_unit")
            if (code := _field(event, name)) is not None and code not in self.tree
        ]  # fmt: skip
        if problems:
            raise Rejected(Reason.unknown_unit, problems)
        # A commune's service event is about the commune it names: its subject.
        unit = _field(event, "unit")
        if event.entity is Entity.commune_service and unit != event.subject:
            raise Rejected(Reason.invalid, [("data.unit", (
                f"đơn vị {unit!r} khác subject {event.subject!r} / data.unit must equal the "
                "subject (the commune's code)"
            ))])  # fmt: skip

    def _check_procedure(self, event: Event, batch_procedures: set[str]) -> None:
        code = _field(event, "procedure")
        if self.procedures is None or code is None:
            return
        if code in self.procedures or code in self.configured_procedures:
            return
        if code in batch_procedures:
            return
        raise Rejected(
            Reason.unknown_procedure,
            [(
                "data.procedure",
                f"thủ tục {code!r} chưa được cấu hình / procedure {code!r} is neither in the "
                "procedure catalogue nor configured by a procedure event",
            )],
        )  # fmt: skip

    def _check_scope(self, event: Event, grant: Grant) -> None:
        unit = _field(event, "unit")
        if unit is not None:
            if not grant.covers(unit):
                raise Rejected(
                    Reason.out_of_scope,
                    [("data.unit", f"unit {unit!r} is outside the scope of key {grant.name!r}")],
                )
            if event.entity is Entity.procedure and self.tree.level_of(unit) not in _CATALOGUE:
                raise Rejected(Reason.out_of_scope, [("data.unit", (
                    f"thủ tục do cấp tỉnh hoặc sở công bố / procedures are announced at province "
                    f"or department level; {unit!r} is a {self.tree.level_of(unit).value}"
                ))])  # fmt: skip
            return
        root = self.tree.root.code
        if event.entity is Entity.procedure and not grant.covers(root):
            raise Rejected(
                Reason.out_of_scope,
                [(
                    "subject",
                    f"procedure events without a unit need a key covering the province "
                    f"{root!r}; key {grant.name!r} does not",
                )],
            )  # fmt: skip


def conflict(event: Event) -> Rejection:
    """A resend of (source, id) whose payload differs from the copy accepted first."""
    return Rejection(Reason.conflict, ((
        "id",
        f"({event.source!r}, {event.id!r}) đã được nhận với nội dung khác; bản đầu được giữ / "
        "was accepted before with another payload; the first copy is kept (send a correction "
        "as a new event with its own id)",
    ),))  # fmt: skip


def _parse(raw: Any) -> Event:
    try:
        return parse_event(raw)
    except EventError as error:
        reason = Reason.unknown_type if error.unknown_type else Reason.invalid
        raise Rejected(reason, error.problems) from None


def _field(event: Event, name: str) -> Any:
    """A payload field, or None for a payload without it.

    Read from the instance dict: ``getattr(model, missing, None)`` goes through pydantic's
    ``__getattr__`` and an exception, several times slower on this per-event path.
    """
    return event.data.__dict__.get(name)
