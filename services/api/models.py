"""What the API answers: one model per kind of response, with examples for the OpenAPI page."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.storage.watermarks import Pipeline, PipelineStatus
from tthc.catalog_doc import part_info
from tthc.periods import Period
from tthc.profile import Profile
from tthc.scoring import GroupScore, IndicatorScore, PartScore, Scorecard, named
from tthc.units import Unit

Source = Literal["windows", "facts"]  # what an answer was read from


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


_UNIT = {"code": "25264", "name": "Xã Phú Riềng", "level": "commune", "parent": "75"}
_PERIOD = {
    "label": "2024-Q2",
    "first_day": "2024-04-01",
    "last_day": "2024-06-30",
    "cutoff": "2024-06-30T16:59:59Z",
}
_INDICATOR = {
    "code": "2.1",
    "group": 2,
    "name_vi": "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn",
    "name_en": "Dossiers processed early or on time",
    "monitoring": False,
    "assessed": True,
    "applicable": True,
    "numerator": 212,
    "denominator": 230,
    "rate": 0.9217,
    "points": 18.43,
    "max_points": 20,
    "lost": 1.57,
    "parts": None,
}


class UnitRef(BaseModel):
    code: str
    name: str
    level: str
    parent: str | None = None

    model_config = _examples(_UNIT)

    @classmethod
    def of(cls, unit: Unit) -> UnitRef:
        return cls(code=unit.code, name=unit.name, level=unit.level.value, parent=unit.parent)


class PeriodRef(BaseModel):
    label: str = Field(description="as asked: 2024-Q2, 2024-05, 2024-H1, 2024 or a date range")
    first_day: date
    last_day: date
    cutoff: datetime = Field(
        description="the instant the period is judged at: now for the current period, "
        "its last second for a past one"
    )

    model_config = _examples(_PERIOD)

    @classmethod
    def of(cls, period: Period, as_of: datetime) -> PeriodRef:
        return cls(
            label=period.label,
            first_day=period.start_date,
            last_day=period.end_date - timedelta(days=1),
            cutoff=period.cutoff(as_of),
        )


class PartOut(BaseModel):
    label: str = Field(description="'' for an indicator of one part; 'a', 'b' otherwise")
    measure: str
    numerator: float
    denominator: int
    rate: float | None = Field(description="numerator / denominator; the mean in days for 2.2")
    points: float
    max_points: float
    lost: float
    applicable: bool

    @classmethod
    def of(cls, part: PartScore) -> PartOut:
        return cls.model_validate(part, from_attributes=True)


class IndicatorOut(BaseModel):
    code: str
    group: int
    name_vi: str
    name_en: str
    monitoring: bool = Field(description="computed and shown, worth 0 points")
    assessed: bool = Field(description="the unit's level is assessed on it")
    applicable: bool = Field(description="counted in the unit's total")
    numerator: float = Field(description="the parts' numerators added up")
    denominator: int = Field(description="the parts' denominators added up")
    rate: float | None = Field(
        description="the one part's rate; for several parts, the points share"
    )
    points: float
    max_points: float
    lost: float
    parts: list[PartOut] | None = Field(None, description="each part (live scores only)")

    model_config = _examples(_INDICATOR)

    @classmethod
    def of(cls, indicator: IndicatorScore) -> IndicatorOut:
        return cls.model_validate(indicator, from_attributes=True)  # its parts as PartOut


class GroupOut(BaseModel):
    number: int
    name_vi: str
    name_en: str
    points: float
    max_points: float
    lost: float

    @classmethod
    def of(cls, group: GroupScore) -> GroupOut:
        return cls.model_validate(group, from_attributes=True)


class ProfileRef(BaseModel):
    name: str
    version: str

    @classmethod
    def of(cls, profile: Profile) -> ProfileRef:
        return cls(name=profile.name, version=profile.version)


_TOTAL = "on 100; null when the unit had nothing to judge in the period (no dossier, no feedback)"


class PipelineOut(BaseModel):
    """How far the data goes: what the aggregator has counted of the event log."""

    status: PipelineStatus = Field(
        description="caught_up: every event in the log is counted; behind: a backlog is "
        "draining; stale: no word from the aggregator lately; stalled: a backlog and no "
        "progress; unknown: no aggregator has reported yet"
    )
    events_not_counted: int | None = Field(
        None, description="events in the log not yet in the facts (as the aggregator last saw)"
    )
    counted_to: datetime | None = Field(
        None, description="every partition of the log is counted up to this event time"
    )
    updated_at: datetime | None = Field(None, description="the aggregator's last report")

    @classmethod
    def of(cls, pipeline: Pipeline) -> PipelineOut:
        return cls(
            status=pipeline.status,
            events_not_counted=pipeline.events_not_counted,
            counted_to=pipeline.counted_to,
            updated_at=pipeline.updated_at,
        )

    def headers(self) -> dict[str, str]:
        """The same, as response headers."""
        found = {"X-TTHC-Pipeline": self.status.value}
        if self.events_not_counted is not None:
            found["X-TTHC-Events-Not-Counted"] = str(self.events_not_counted)
        if self.counted_to is not None:
            found["X-TTHC-Counted-To"] = self.counted_to.isoformat()
        return found


class ScoresOut(BaseModel):
    """A unit's scorecard over its subtree for a period."""

    unit: UnitRef
    period: PeriodRef
    profile: ProfileRef
    total: float | None = Field(description=_TOTAL)
    grade: str = Field(description="xếp loại (Vietnamese); 'Không có dữ liệu' without data")
    grade_en: str
    points: float = Field(description="raw points before putting the total on 100")
    max_points: float = Field(description="the most the unit can earn at its level")
    lost: float = Field(description="max_points − points")
    groups: list[GroupOut]
    indicators: list[IndicatorOut]
    source: Source = Field(
        description="windows: read from the rolling windows the aggregator keeps; facts: "
        "counted from the facts (an `as_of` in the past, or a period the windows cannot judge)"
    )
    computed_at: datetime
    pipeline: PipelineOut | None = Field(
        None, description="how far the facts go (also in the X-TTHC-* headers)"
    )

    model_config = _examples(
        {
            "unit": _UNIT,
            "period": _PERIOD,
            "profile": {"name": "qd-766-default", "version": "2026.1"},
            "total": 86.4,
            "grade": "Tốt",
            "grade_en": "Good",
            "points": 69.1,
            "max_points": 80,
            "lost": 10.9,
            "groups": [
                {
                    "number": 2,
                    "name_vi": "Tiến độ, kết quả giải quyết",
                    "name_en": "Progress and results of processing",
                    "points": 18.43,
                    "max_points": 20,
                    "lost": 1.57,
                }
            ],
            "indicators": [_INDICATOR],
            "source": "windows",
            "computed_at": "2024-07-01T02:00:00Z",
        }
    )

    @classmethod
    def of(
        cls,
        card: Scorecard,
        *,
        unit: Unit,
        period: Period,
        as_of: datetime,
        profile: Profile,
        computed_at: datetime,
        source: Source,
    ) -> ScoresOut:
        return cls(
            unit=UnitRef.of(unit),
            period=PeriodRef.of(period, as_of),
            profile=ProfileRef.of(profile),
            total=card.total,
            grade=card.grade_vi,
            grade_en=card.grade_en,
            points=card.points,
            max_points=card.max_points,
            lost=card.max_points - card.points,
            groups=[GroupOut.of(g) for g in card.groups],
            indicators=[IndicatorOut.of(i) for i in card.indicators],
            source=source,
            computed_at=computed_at,
        )


class RankedUnit(BaseModel):
    rank: int | None = Field(
        description="1 is best; equal values share a rank; null for a unit with nothing to "
        "judge in the period, listed after the ranked ones"
    )
    unit: UnitRef
    value: float | None = Field(
        description="the total on 100, or the indicator's points; null when not ranked"
    )
    total: float | None = Field(description=_TOTAL)
    grade: str
    lost: float = Field(description="points lost (of the indicator, or in all)")
    previous_rank: int | None = Field(
        description="null when the unit was not ranked then (nothing to judge)"
    )
    rank_change: int | None = Field(
        description="places gained since the previous period; null when either period had "
        "nothing to judge"
    )
    previous_value: float | None


class RankingsOut(BaseModel):
    level: str
    parent: UnitRef
    indicator: str | None = Field(None, description="ranked by this indicator's points")
    period: PeriodRef
    previous_period: PeriodRef
    source: Source
    computed_at: datetime
    units: list[RankedUnit]

    model_config = _examples(
        {
            "level": "commune",
            "parent": {"code": "75", "name": "Tỉnh Đồng Nai", "level": "province", "parent": None},
            "indicator": None,
            "period": _PERIOD,
            "previous_period": {
                "label": "2024-Q1",
                "first_day": "2024-01-01",
                "last_day": "2024-03-31",
                "cutoff": "2024-03-31T16:59:59Z",
            },
            "source": "windows",
            "computed_at": "2024-07-01T02:00:00Z",
            "units": [
                {
                    "rank": 1,
                    "unit": _UNIT,
                    "value": 97.2,
                    "total": 97.2,
                    "grade": "Xuất sắc",
                    "lost": 2.2,
                    "previous_rank": 4,
                    "rank_change": 3,
                    "previous_value": 91.0,
                }
            ],
        }
    )


class TrendPoint(BaseModel):
    label: str = Field(description="2024-05-06, 2024-W19 or 2024-05")
    first_day: date
    last_day: date
    numerator: float | None = None
    denominator: int | None = None
    rate: float | None = None
    points: float
    max_points: float
    total: float | None = Field(None, description="the total on 100 (when no indicator is given)")


class TrendsOut(BaseModel):
    unit: UnitRef
    indicator: str | None
    name_vi: str
    granularity: Literal["day", "week", "month"]
    period: PeriodRef
    points: list[TrendPoint]
    source: Source = Field(description="what every point was read from (see ScoresOut)")

    model_config = _examples(
        {
            "unit": _UNIT,
            "indicator": "2.1",
            "name_vi": "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn",
            "granularity": "month",
            "period": _PERIOD,
            "points": [
                {
                    "label": "2024-04",
                    "first_day": "2024-04-01",
                    "last_day": "2024-04-30",
                    "numerator": 70,
                    "denominator": 76,
                    "rate": 0.921,
                    "points": 18.42,
                    "max_points": 20,
                    "total": None,
                }
            ],
        }
    )


class Case(BaseModel):
    """One dossier (or feedback) of the listing: codes and times, no personal data."""

    code: str = Field(description="mã hồ sơ, mã phản ánh, mã TTHC or mã xã")
    kind: Literal["dossier", "feedback", "procedure", "commune"]
    unit: UnitRef | None = Field(
        description="the unit it counts for: a procedure's announcing unit (1.x; none for a "
        "procedure judged on the subtree's authority), a commune itself"
    )
    procedure: str | None = Field(None, description="mã TTHC (dossiers)")
    procedure_name: str | None = Field(
        None, description="tên TTHC, from the catalogue (dossiers and procedures)"
    )
    channel: int | None = Field(None, description="1 in person, 2 online, 3 post (dossiers)")
    received_at: datetime | None = Field(None, description="dossiers and feedback")
    due_at: datetime | None = Field(
        None, description="hạn xử lý: the dossier's due date; feedback: the handling deadline"
    )
    effective_due_at: datetime | None = Field(
        None, description="due date plus the supplement time the unit does not owe (dossiers)"
    )
    ended_at: datetime | None = Field(None, description="end of processing, if it ended")
    supplement_requests: int | None = None
    reason: str | None = Field(None, description="why it cost points (a stable code)")
    reason_vi: str | None = None
    reason_en: str | None = None
    overdue_days: float | None = Field(
        None, description="days past the (effective) due date, for late dossiers"
    )
    detail_vi: str | None = Field(
        None, description="what exactly is wanting, e.g. the components a publication lacks"
    )
    facts: dict[str, Any] | None = Field(
        None,
        description="a procedure's or commune's facts its reason is read from (announcement "
        "and publication days, online service, payment; certified copies)",
    )


class ProcedureTally(BaseModel):
    procedure: str = Field(description="national procedure code")
    procedure_name: str | None = Field(None, description="tên TTHC, from the catalogue")
    numerator: float = Field(description="for an average, the sum of the values, in seconds")
    denominator: int = Field(description="the dossiers of this procedure the measure counts")
    rate: float = Field(description="numerator ÷ denominator; for an average, in days")


class ProceduresOut(BaseModel):
    unit: UnitRef
    indicator: str
    name_vi: str
    part: str = Field(description="the part's label, '' for an indicator of one part")
    average: bool = Field(description="the rate is an average (2.2: days), worst = highest")
    period: PeriodRef
    items: list[ProcedureTally] = Field(description="worst first, then by procedure code")


class CasesOut(BaseModel):
    unit: UnitRef
    indicator: str
    name_vi: str
    outcome: str
    period: PeriodRef
    total: int = Field(description="how many match, on every page")
    limit: int
    offset: int
    next_offset: int | None
    items: list[Case]

    model_config = _examples(
        {
            "unit": _UNIT,
            "indicator": "2.1",
            "name_vi": "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn",
            "outcome": "late",
            "period": _PERIOD,
            "total": 18,
            "limit": 50,
            "offset": 0,
            "next_offset": None,
            "items": [
                {
                    "code": "25264-240506-0003",
                    "kind": "dossier",
                    "unit": _UNIT,
                    "procedure": "2.000003.000.00.00.H19",
                    "channel": 2,
                    "received_at": "2024-05-06T02:14:00Z",
                    "due_at": "2024-05-13T16:59:59Z",
                    "effective_due_at": "2024-05-13T16:59:59Z",
                    "ended_at": "2024-05-15T03:40:00Z",
                    "supplement_requests": 0,
                    "reason": "ended_after_due",
                    "reason_vi": "Kết thúc xử lý sau hạn",
                    "reason_en": "Processing ended after the due date",
                    "overdue_days": 1.4,
                }
            ],
        }
    )


class Outlook(BaseModel):
    total: float | None = Field(description=_TOTAL)
    grade: str
    points: float
    on_time_rate: float | None = Field(description="2.1's rate")


class WarningsOut(BaseModel):
    """Open dossiers that turn late within the horizon, and the period's end as things stand."""

    unit: UnitRef
    as_of: datetime
    horizon_hours: float
    period: PeriodRef
    now: Outlook = Field(description="the period's score as of now")
    projected: Outlook = Field(
        description="the score the period ends with if nothing changes: no new event, open "
        "dossiers stay open and turn late as their due dates pass"
    )
    total: int = Field(description="dossiers turning late within the horizon (any period)")
    limit: int
    offset: int
    next_offset: int | None
    items: list[Case]


class IndicatorInfo(BaseModel):
    code: str
    group: int
    name_vi: str
    name_en: str
    points: float
    levels: list[str]
    monitoring: bool
    parts: list[dict[str, Any]] = Field(
        description="each part as the profile declares it, with its measure's numerator "
        "(`counts`) and denominator (`out_of`) in words"
    )


class GroupInfo(BaseModel):
    number: int
    name_vi: str
    name_en: str
    points: float


class CatalogOut(BaseModel):
    profile: ProfileRef
    non_applicable: str
    groups: list[GroupInfo]
    grades: list[dict[str, Any]]
    indicators: list[IndicatorInfo]

    @classmethod
    def of(cls, profile: Profile) -> CatalogOut:
        return cls(
            profile=ProfileRef.of(profile),
            non_applicable=profile.non_applicable,
            groups=[GroupInfo(**g.model_dump()) for g in profile.groups],
            grades=[g.model_dump() for g in profile.grades],
            indicators=[
                IndicatorInfo(
                    **named(i),
                    points=i.points,
                    levels=[level.value for level in i.levels],
                    parts=[part_info(p) for p in i.parts],
                )
                for i in profile.indicators
            ],
        )


class Health(BaseModel):
    status: str = Field(description="ok, degraded (the pipeline is stale or stalled), unavailable")
    clickhouse: bool | None = None
    pipeline: PipelineOut | None = None


class RejectedEventOut(BaseModel):
    """An event the aggregator refused to count (GET /v1/rejections)."""

    source: str
    id: str
    type: str
    subject: str
    reason: str
    detail: str
    event_time: datetime
    rejected_at: datetime


class RejectionsOut(BaseModel):
    integration: str
    total: int
    events: list[RejectedEventOut]


class UnknownProcedure(BaseModel):
    """A procedure dossiers name that no event configured (GET /v1/unknown-procedures)."""

    procedure: str
    dossiers: int
    units: int
    first_received_at: datetime


class UnknownProceduresOut(BaseModel):
    unit: UnitRef
    setting: str  # the profile's unknown_procedure_dossiers: how such dossiers count meanwhile
    total_dossiers: int
    procedures: list[UnknownProcedure]
