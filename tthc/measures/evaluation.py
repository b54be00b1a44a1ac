"""The measures counted in Python: the reference the SQL of `tthc.measures.queries` must match.

A scope is where (a unit subtree) and when (a period, judged at a cutoff instant) a measure is
counted; `tally` counts one measure over fact rows held as dicts, row by row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tthc.calendar import local_date
from tthc.expr import truthy
from tthc.facts import ColumnType, CommuneFacts, Scalar, Subject, column_type_of
from tthc.measures.catalog import _DOSSIER_SCOPE, DOSSIER_SETS, Measure, _sets_used
from tthc.periods import Period


@dataclass(frozen=True)
class Scope:
    """A unit subtree and a period, judged at a cutoff instant."""

    units: frozenset[str]  # every unit code of the subtree, merged (historical) ones included
    # (any commune code, today's commune it counts for): 4.6 counts today's communes, with
    # what the communes merged into them did
    commune_codes: tuple[tuple[str, str], ...]
    levels: frozenset[str]  # the levels present in the subtree (procedures under its authority)
    period: Period
    cutoff: datetime

    @property
    def communes(self) -> frozenset[str]:
        return frozenset(today for _, today in self.commune_codes)

    def env(self) -> dict[str, Any]:
        return {**_cutoff_env(self.cutoff), "levels": sorted(self.levels)}

    def bounds(self, column: ColumnType) -> tuple[Any, Any]:
        """The period as [start, end) in the terms of the column that places a row in it:
        local days for a day column, instants for an instant column."""
        if column.scalar is Scalar.day:
            return self.period.start_date, self.period.end_date
        return self.period.start, self.period.end


def _cutoff_env(cutoff: datetime) -> dict[str, Any]:
    return {"cutoff": cutoff, "cutoff_date": local_date(cutoff)}


@dataclass(frozen=True)
class Tally:
    numerator: float
    denominator: int

    @property
    def rate(self) -> float | None:
        return None if self.denominator == 0 else self.numerator / self.denominator


@dataclass(frozen=True)
class FactTables:
    """Fact rows by subject, as dicts (what ClickHouse would hold)."""

    dossier: Sequence[Mapping[str, Any]] = ()
    feedback: Sequence[Mapping[str, Any]] = ()
    procedure: Sequence[Mapping[str, Any]] = ()
    commune: Mapping[str, Mapping[str, Any]] = None  # type: ignore[assignment]

    def rows(self, subject: Subject, scope: Scope) -> Iterable[Mapping[str, Any]]:
        if subject is Subject.commune:
            return _merged_communes(self.commune or {}, scope)
        rows: Sequence[Mapping[str, Any]] = getattr(self, subject.value)
        return rows


# what a commune did: merged over the communes that became one (the earliest of each)
COMMUNE_FACTS = tuple(c for c in CommuneFacts.columns() if c != "code")


def _merged_communes(facts: Mapping[str, Mapping[str, Any]], scope: Scope) -> list[dict[str, Any]]:
    """One row per commune of today, with the earliest of what it and its predecessors did."""
    rows: dict[str, dict[str, Any]] = {
        today: {"code": today, **dict.fromkeys(COMMUNE_FACTS)} for today in scope.communes
    }
    for code, today in scope.commune_codes:
        for column in COMMUNE_FACTS:
            value = facts.get(code, {}).get(column)
            current = rows[today][column]
            if value is not None and (current is None or value < current):
                rows[today][column] = value
    return [rows[c] for c in sorted(rows)]


def in_scope(measure: Measure, row: Mapping[str, Any], scope: Scope) -> bool:
    """Whether a row of `measure`'s table is in `scope` (unit and period), in Python."""
    unit_column = measure.unit_column if measure.subject is not Subject.commune else None
    if unit_column and row[unit_column] not in scope.units:
        return False
    if measure.period_column is None:
        return True
    value = row[measure.period_column]
    start, end = scope.bounds(column_type_of(measure.subject, measure.period_column))
    return value is not None and bool(start <= value < end)


def reference_env(measure: Measure, facts: FactTables, scope: Scope) -> dict[str, Any]:
    """What the measure's expressions read besides a row, in Python: the cutoff, the subtree's
    levels and the sets of procedures drawn from the scope's dossiers."""
    env: dict[str, Any] = scope.env()
    for name in _sets_used(measure):
        env[name] = {
            row["procedure"]
            for row in facts.dossier
            if in_scope(_DOSSIER_SCOPE, row, scope) and truthy(DOSSIER_SETS[name].eval(row, env))
        }
    return env


def tally(measure: Measure, facts: FactTables, scope: Scope) -> Tally:
    """The reference count of one measure, in Python."""
    env = reference_env(measure, facts, scope)
    numerator: float = 0
    denominator = 0
    for row in facts.rows(measure.subject, scope):
        if not in_scope(measure, row, scope) or not truthy(measure.denominator.eval(row, env)):
            continue
        denominator += 1
        value = measure.numerator.eval(row, env)
        if measure.average:
            numerator += value or 0
        elif truthy(value):
            numerator += 1
    return Tally(numerator, denominator)


def tally_by_procedure(measure: Measure, facts: FactTables, scope: Scope) -> dict[str, Tally]:
    """The reference count of a dossier measure, per procedure of the dossiers it counts
    (2.2 is defined per procedure; any dossier rate can be read so, to find the weak ones)."""
    _require_dossiers(measure)
    rows_by_procedure: dict[str, list[Mapping[str, Any]]] = {}
    for row in facts.dossier:
        rows_by_procedure.setdefault(row["procedure"], []).append(row)
    found = {
        procedure: tally(measure, FactTables(dossier=rows), scope)
        for procedure, rows in rows_by_procedure.items()
    }
    return {procedure: t for procedure, t in found.items() if t.denominator}


def _require_dossiers(measure: Measure) -> None:
    if measure.subject is not Subject.dossier:
        raise ValueError(f"measure {measure.key!r} counts {measure.subject.value}, not dossiers")
