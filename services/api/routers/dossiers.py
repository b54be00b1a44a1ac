"""`GET /v1/units/{code}/dossiers`: the dossiers behind an indicator, and why each cost points."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.api.cases import holder_case, named
from services.api.errors import invalid
from services.api.models import Case, CasesOut, PeriodRef, UnitRef
from services.api.params import (
    ChosenIndicator,
    DossiersOfCode,
    PageParams,
    PartParam,
    parts_of,
    unit_router,
)
from services.api.queries import listing_page
from services.api.state import ApiState, State
from tthc.drilldown import ORDER_WORDS, NotListable, Outcome, check_listable, reasons
from tthc.measures import MEASURES, Measure, Subject
from tthc.profile import Indicator
from tthc.reference import scope_of

router = unit_router("dossiers")

LATE_REASONS = {"ended_after_due", "open_past_due", "supplement_requested_after_due"}


@router.get(
    "/v1/units/{code}/dossiers",
    summary="Hồ sơ bị trừ điểm / The dossiers that cost points",
    description="The dossiers (for 5.x, the feedback; for 1.1-1.3, 3.1, 3.2 and 3.5, the "
    "procedures; for 4.6, the communes) of the unit's subtree that an indicator counts against "
    "it (`outcome=lost`, or `late`), or all it counts (`counted`), or the good ones (`good`), "
    f"{ORDER_WORDS}; each with the reason it cost the points. Codes and times only: no "
    "personal data of applicants. Needs a viewer token covering the unit.",
)
def get_dossiers(
    state: State,
    asked: DossiersOfCode,
    page: PageParams,
    chosen: ChosenIndicator,
    outcome: Outcome = Outcome.lost,
    part: PartParam = None,
) -> CasesOut:
    u, moment = asked.unit, asked.as_of
    measure = listed_measure(chosen, part)
    span = asked.period()
    scope = scope_of(state.tree, u.code, span, moment)
    rows, total = listing_page(state.pool, measure, scope, outcome, page.limit, page.offset)
    cutoff = scope.cutoff
    items = named(state.pool, [case_of(state, measure, row, cutoff) for row in rows])
    return CasesOut(
        unit=UnitRef.of(u),
        indicator=chosen.code,
        name_vi=chosen.name_vi,
        outcome=outcome.value,
        period=PeriodRef.of(span, moment),
        total=total,
        limit=page.limit,
        offset=page.offset,
        next_offset=page.next_offset(len(items), total),
        items=items,
    )


def listed_measure(indicator: Indicator, part: str | None) -> Measure:
    """The measure of the indicator (or of its part) whose dossiers (or feedback) are listed."""
    parts = parts_of(indicator, part)
    problems = []
    listable = []
    for p in parts:
        try:
            check_listable(MEASURES[p.measure])
            listable.append(p)
        except NotListable as why:
            problems.append(f"{p.label or indicator.code}: {why}")
    if not listable:
        raise invalid(
            "indicator", f"indicator {indicator.code} lists no dossiers: {'; '.join(problems)}"
        )
    if len(listable) > 1:
        raise invalid(
            "part",
            f"indicator {indicator.code} has parts {[p.label for p in listable]}: choose one",
        )
    return MEASURES[listable[0].measure]


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def case_of(state: ApiState, measure: Measure, row: dict[str, Any], cutoff: datetime) -> Case:
    found = {r.code: r for r in reasons(measure)}.get(row.get("reason") or "")
    if measure.subject in (Subject.procedure, Subject.commune):
        return holder_case(state.tree, measure, row, found)
    dossier = measure.subject is Subject.dossier
    due = _utc(row.get("effective_due_at")) if dossier else _utc(row.get("handle_due_at"))
    ended = _utc(row.get("ended_at"))
    overdue = None
    if found is not None and found.code in LATE_REASONS and due is not None:
        end = ended if ended is not None and ended <= cutoff else cutoff
        overdue = round((end - due).total_seconds() / 86_400, 2)
    unit = state.tree.get(row["unit"]) if row["unit"] in state.tree else None
    return Case(
        code=row["code"],
        kind="dossier" if dossier else "feedback",
        unit=UnitRef.of(unit) if unit else UnitRef(code=row["unit"], name="", level=""),
        procedure=row.get("procedure"),
        channel=row.get("channel"),
        received_at=_utc(row["received_at"]),
        due_at=_utc(row.get("due_at")) if dossier else _utc(row.get("handle_due_at")),
        effective_due_at=_utc(row.get("effective_due_at")),
        ended_at=ended,
        supplement_requests=row.get("supplement_requests"),
        reason=found.code if found else None,
        reason_vi=found.label_vi if found else None,
        reason_en=found.label_en if found else None,
        overdue_days=overdue,
    )
