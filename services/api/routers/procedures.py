"""`GET /v1/units/{code}/procedures`: an indicator on dossiers, procedure by procedure.

2.2 (average processing time) is defined per procedure; every other dossier indicator reads the
same way, to find the procedures that cost a unit its points. Aggregates only: open like scores.
"""

from __future__ import annotations

from services.api.errors import invalid
from services.api.models import PeriodRef, ProceduresOut, ProcedureTally, UnitRef
from services.api.params import ChosenIndicator, PartParam, ScoresOfCode, parts_of, unit_router
from services.api.queries import procedure_names, tallies_by_procedure
from services.api.state import State
from tthc.measures import MEASURES, Subject
from tthc.profile import Indicator, Part
from tthc.reference import scope_of

router = unit_router("scores")


@router.get(
    "/v1/units/{code}/procedures",
    summary="Theo từng thủ tục / Procedure by procedure",
    description="An indicator that counts dossiers (1.4, 2.x, 3.3, 3.4, 3.6, 4.x, 5.4), for each "
    "procedure of the dossiers it counts in the unit's subtree and period, worst first: the "
    "slowest for 2.2, the lowest rate otherwise. Procedures with no such dossier are left out.",
)
def get_procedures(
    state: State,
    asked: ScoresOfCode,
    chosen: ChosenIndicator,
    part: PartParam = None,
) -> ProceduresOut:
    u, moment = asked.unit, asked.as_of
    counted = dossier_part(chosen, part)
    measure = MEASURES[counted.measure]
    span = asked.period()
    scope = scope_of(state.tree, u.code, span, moment)
    unit = measure.average_unit if measure.average else 1
    tallied = tallies_by_procedure(state.pool, measure, scope)
    names = procedure_names(state.pool, tallied)
    items = [
        ProcedureTally(
            procedure=procedure,
            procedure_name=names.get(procedure),
            numerator=t.numerator,
            denominator=t.denominator,
            rate=t.numerator / t.denominator / unit,
        )
        for procedure, t in tallied.items()
    ]
    worst_first = -1 if measure.average else 1
    items.sort(key=lambda i: (worst_first * i.rate, i.procedure))
    return ProceduresOut(
        unit=UnitRef.of(u),
        indicator=chosen.code,
        name_vi=chosen.name_vi,
        part=counted.label,
        average=measure.average,
        period=PeriodRef.of(span, moment),
        items=items,
    )


def dossier_part(indicator: Indicator, label: str | None) -> Part:
    """The indicator's part (the one named, or its only one) that counts dossiers."""
    on_dossiers = [
        p for p in parts_of(indicator, label) if MEASURES[p.measure].subject is Subject.dossier
    ]
    if not on_dossiers:
        named = f"part {label!r} of indicator" if label is not None else "indicator"
        raise invalid(
            "part" if label is not None else "indicator",
            f"{named} {indicator.code} does not count dossiers: no procedures",
        )
    if len(on_dossiers) > 1:
        labels = [p.label for p in on_dossiers]
        raise invalid("part", f"indicator {indicator.code} has parts {labels}: choose one")
    return on_dossiers[0]
