"""`GET /v1/units/{code}/report`: the periodic report on Decision 766 as DOCX or PDF."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from fastapi import Query, Response

from services.api.params import DossiersOfCode, unit_router
from services.api.queries import listing_page, tallies_by_bucket
from services.api.report.layout import SAMPLE, blocks, filename
from services.api.report.pdf import to_pdf
from services.api.report.word import to_docx
from services.api.routers.dossiers import case_of
from services.api.state import ApiState, State
from services.api.windows import scorecards_by_source
from services.storage.schema import TABLES
from tthc.calendar import VN_TZ
from tthc.drilldown import NotListable, Outcome, check_listable, reason_counts_sql, reasons
from tthc.measures import MEASURES, Scope
from tthc.periods import Period, date_range
from tthc.reference import scope_of
from tthc.report import (
    Cause,
    LateItem,
    Listing,
    MonthPoint,
    Report,
    Standing,
    loss_of,
    standings,
    top_losses,
)
from tthc.scoring import Scorecard, profile_measures, score
from tthc.trends import Granularity, buckets
from tthc.units import Unit, UnitLevel

router = unit_router("reports")

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = "application/pdf"
LATE_DOSSIERS, LATE_FEEDBACK = "dossiers_on_time", "feedback_on_time"


class ReportFormat(StrEnum):
    docx = "docx"
    pdf = "pdf"


MEDIA = {ReportFormat.docx: DOCX, ReportFormat.pdf: PDF}


@router.get(
    "/v1/units/{code}/report",
    response_class=Response,
    summary="Báo cáo định kỳ / The periodic report",
    description="The report on Decision 766 that a province sends the People's Committee each "
    "quarter, half-year and year, in Vietnamese: the total, grade and rank, the five groups "
    "against their maxima and the previous period, the rankings of departments and communes, "
    "the indicators that lost the most points with their causes counted, the late dossiers and "
    "the feedback handled late, and charts (groups, the year's months, the communes). Needs a "
    "viewer token covering the unit (it lists dossiers).",
    responses={
        200: {
            "description": "the report, as an attachment",
            "content": {
                DOCX: {"schema": {"type": "string", "format": "binary"}},
                PDF: {"schema": {"type": "string", "format": "binary"}},
            },
        },  # fmt: skip
    },
)
def get_report(
    state: State,
    asked: DossiersOfCode,
    file_format: Annotated[
        ReportFormat, Query(alias="format", description="docx or pdf")
    ] = ReportFormat.pdf,
) -> Response:
    report = build_report(state, asked.unit, asked.period(), asked.as_of)
    laid_out = blocks(report)
    content = to_docx(laid_out) if file_format is ReportFormat.docx else to_pdf(laid_out)
    name = filename(report, file_format.value)
    return Response(
        content,
        media_type=MEDIA[file_format],
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def build_report(state: ApiState, unit: Unit, period: Period, moment: datetime) -> Report:
    """The report's numbers, read as the other routes read them."""
    tree = state.tree
    departments = [x.code for x in tree.units_at_level(UnitLevel.department, under=unit.code)]
    communes = [x.code for x in tree.units_at_level(UnitLevel.commune, under=unit.code)]
    peers = (
        [x.code for x in tree.units_at_level(unit.level)]
        if unit.level is not UnitLevel.province
        else [unit.code]
    )
    codes = sorted({unit.code, *departments, *communes, *peers})
    previous = period.previous()
    now, _ = scorecards_by_source(state.pool, tree, state.profile, codes, period, moment, "report")
    before, _ = scorecards_by_source(
        state.pool, tree, state.profile, codes, previous, moment, "report"
    )
    names = {c: tree.get(c).name for c in codes}
    card = now[unit.code]
    previous_card = before[unit.code] if before[unit.code].has_data else None
    placed = {s.code: s.rank for s in standings({c: now[c] for c in peers}, {}, names)}
    scope = scope_of(tree, unit.code, period, moment)
    return Report(
        unit_code=unit.code,
        unit_name=unit.name,
        province_name=tree.root.name,
        period=period,
        previous=previous,
        issued_on=moment.astimezone(VN_TZ).date(),
        judged_at=period.cutoff(moment),
        card=card,
        previous_card=previous_card,
        rank=placed.get(unit.code) if unit.level is not UnitLevel.province else None,
        ranked_among=len(peers),
        departments=tuple(_ranking(now, before, departments, names)),
        communes=tuple(_ranking(now, before, communes, names)),
        losses=tuple(loss_of(card, code, _causes(state, code, scope)) for code in top_losses(card)),
        late_dossiers=_late(state, LATE_DOSSIERS, scope),
        late_feedback=_late(state, LATE_FEEDBACK, scope),
        months=tuple(_months(state, unit, period, moment)),
    )


def _ranking(
    now: Mapping[str, Scorecard],
    before: Mapping[str, Scorecard],
    codes: list[str],
    names: Mapping[str, str],
) -> list[Standing]:
    return standings({c: now[c] for c in codes}, {c: before[c] for c in codes}, names)


def _causes(state: ApiState, code: str, scope: Scope) -> list[Cause]:
    """Why the indicator's dossiers (or feedback) failed, counted by reason; none for an
    indicator that counts procedures or communes (its numerator and denominator say it)."""
    causes = []
    for part in state.profile.by_code[code].parts:
        measure = MEASURES[part.measure]
        try:
            check_listable(measure)
        except NotListable:
            continue
        labels = {r.code: r.label_vi for r in reasons(measure)}
        for row in state.pool.rows(reason_counts_sql(measure, scope, TABLES), "report"):
            causes.append(Cause(labels[row["reason"]], int(row["n"])))
    return causes


def _late(state: ApiState, measure_key: str, scope: Scope) -> Listing:
    measure = MEASURES[measure_key]
    rows, total = listing_page(state.pool, measure, scope, Outcome.lost, SAMPLE, 0)
    items = []
    for row in rows:
        case = case_of(state, measure, row, scope.cutoff)
        items.append(
            LateItem(
                code=case.code,
                unit=case.unit.name if case.unit else "",
                procedure=case.procedure or "",
                received_at=case.received_at,
                due_at=case.effective_due_at or case.due_at,
                ended_at=case.ended_at,
                overdue_days=case.overdue_days,
                reason=case.reason_vi or "",
            )
        )
    return Listing(total, tuple(items))


def _months(state: ApiState, unit: Unit, period: Period, moment: datetime) -> list[MonthPoint]:
    """The total of each month of the period's year up to its end; later months empty."""
    year = period.start_date.year
    last = period.end_date - timedelta(days=1)
    months = [
        b
        for b in buckets(date_range(date(year, 1, 1), last), Granularity.month)
        if b.period.start <= moment
    ]
    scopes = {b.label: scope_of(state.tree, unit.code, b.period, moment) for b in months}
    found = tallies_by_bucket(state.pool, profile_measures(state.profile), scopes, "report")
    totals = {}
    for bucket in months:
        card = score(state.profile, found[bucket.label], unit.level)
        totals[bucket.period.start_date.month] = card.total
    return [MonthPoint(f"T{m}", totals.get(m)) for m in range(1, 13)]
