"""A procedure or a commune in a drill-down listing: what it is, and the facts its reason is
read from (the reason itself comes from the measure's own expressions, tthc.drilldown)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.api.models import Case, UnitRef
from services.api.pool import ClientPool
from services.api.queries import LISTED_COLUMNS, procedure_names
from tthc.drilldown import Reason, missing_components_vi
from tthc.measures import Measure, Subject
from tthc.units import UnitTree


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def holder_case(
    tree: UnitTree, measure: Measure, row: dict[str, Any], found: Reason | None
) -> Case:
    if measure.subject is Subject.commune:
        unit_code: str | None = row["code"]
    else:  # 1.x are the announcing unit's; 3.x judge the subtree's authority, no one unit
        unit_code = row.get(measure.unit_column) if measure.unit_column else None
    unit = UnitRef.of(tree.get(unit_code)) if unit_code and unit_code in tree else None
    shown = ("code", "name")
    facts = {c: _plain(row.get(c)) for c in LISTED_COLUMNS[measure.subject] if c not in shown}
    return Case(
        code=row["code"],
        kind=measure.subject.value,  # procedure or commune
        unit=unit,
        procedure_name=row.get("name") or None,
        reason=found.code if found else None,
        detail_vi=missing_components_vi(row.get("missing_components") or []) or None,
        reason_vi=found.label_vi if found else None,
        reason_en=found.label_en if found else None,
        facts=facts,
    )


def named(pool: ClientPool, cases: list[Case]) -> list[Case]:
    """The cases with the catalogue's name of each dossier's procedure."""
    names = procedure_names(pool, [c.procedure for c in cases if c.procedure])
    return [
        c.model_copy(update={"procedure_name": names.get(c.procedure)}) if c.procedure else c
        for c in cases
    ]
