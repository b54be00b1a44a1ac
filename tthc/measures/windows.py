"""The rolling windows: per unit and local day, the tallies of the additive measures judged at
one cutoff, which `services/api/windows.py` writes and sums."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time

from tthc.calendar import VN_TZ
from tthc.expr import compile_sql, sql_literal
from tthc.facts import Subject
from tthc.measures.catalog import DOSSIER_SETS, Measure
from tthc.measures.evaluation import Scope, _cutoff_env
from tthc.measures.queries import (
    SCOPE_KEY,
    GroupedQuery,
    TableNames,
    _select_columns,
    additive,
    grouped_sql,
    union_scope,
)
from tthc.periods import Period

# --- Windows: per unit and day, judged at one cutoff ----------------------------------------------
#
# A generation of windows holds, for one cutoff instant T, the tallies of every windowed measure
# per unit and local day of receipt, and the procedures of each dossier set per unit and day.
# Any period of whole days over any subtree then sums a few window rows instead of scanning the
# facts; what is not windowed (procedures, communes) stays small and is counted live at T.


@dataclass(frozen=True)
class WindowTables:
    tallies: str = "unit_day_tallies"
    sets: str = "unit_day_procedure_sets"
    generations: str = "window_generations"


@dataclass(frozen=True)
class Generation:
    """One complete set of windows: its id (the partition) and the instant it was judged at."""

    id: int
    cutoff: datetime  # whole seconds: the SQL literal drops the rest


_WINDOW_COLUMN = "received_at"


def windowed(measure: Measure) -> bool:
    """Kept in the windows: an additive dossier or feedback measure, its period by receipt."""
    return (
        measure.subject in (Subject.dossier, Subject.feedback)
        and measure.period_column == _WINDOW_COLUMN
        and additive(measure)
    )


def _local_day_sql(column: str) -> str:
    return f"toDate({column}, {sql_literal(VN_TZ.key)})"


def window_sql(
    measures: Iterable[Measure],
    generation: Generation,
    windows: WindowTables = WindowTables(),
    tables: TableNames = TableNames(),
) -> list[str]:
    """The inserts that write one generation: one per windowed subject, one for the sets."""
    chosen = [m for m in measures if windowed(m)]
    statements = [
        _window_tallies_sql(
            subject, [m for m in chosen if m.subject is subject], generation, windows, tables
        )
        for subject in (Subject.dossier, Subject.feedback)
        if any(m.subject is subject for m in chosen)
    ]
    return [*statements, _window_sets_sql(generation, windows, tables)]


def _window_tallies_sql(
    subject: Subject,
    measures: list[Measure],
    generation: Generation,
    windows: WindowTables,
    tables: TableNames,
) -> str:
    env = _cutoff_env(generation.cutoff)
    conditions = [compile_sql(m.denominator, env) for m in measures]
    values = [compile_sql(m.numerator, env) for m in measures]
    (unit_column,) = {m.unit_column for m in measures}
    tallies = ", ".join(
        f"({sql_literal(m.key)}, toFloat64(`{m.key}__num`), toInt64(`{m.key}__den`))"
        for m in measures
    )
    return (
        f"INSERT INTO {windows.tallies} (generation, unit, day, measure, numerator, denominator)\n"
        f"SELECT {generation.id}, {SCOPE_KEY}, day, t.1, t.2, t.3 FROM (\n"
        f"SELECT\n  {unit_column} AS {SCOPE_KEY},\n  {_local_day_sql(_WINDOW_COLUMN)} AS day,\n"
        f"  {_select_columns(measures, conditions, values)}\n"
        f"FROM {getattr(tables, subject.value)} FINAL\nGROUP BY {SCOPE_KEY}, day)\n"
        f"ARRAY JOIN [{tallies}] AS t\n"
        "WHERE t.3 > 0"  # no row counted: nothing to add
    )


def _window_sets_sql(generation: Generation, windows: WindowTables, tables: TableNames) -> str:
    env = _cutoff_env(generation.cutoff)
    names = ", ".join(
        f"if({compile_sql(condition, env)}, {sql_literal(name)}, '')"
        for name, condition in DOSSIER_SETS.items()
    )
    return (
        f"INSERT INTO {windows.sets} (generation, unit, day, set_name, procedure)\n"
        f"SELECT DISTINCT {generation.id}, unit, {_local_day_sql(_WINDOW_COLUMN)}, set_name, "
        f"procedure\nFROM {tables.dossier} FINAL\n"
        f"ARRAY JOIN arrayFilter(x -> x != '', [{names}]) AS set_name"
    )


def windowed_sql(
    subject: Subject,
    measures: Iterable[Measure],
    scopes: Mapping[str, Scope],
    generation: Generation,
    windows: WindowTables = WindowTables(),
    tables: TableNames = TableNames(),
) -> list[GroupedQuery]:
    """Like `grouped_sql`, from a generation of windows: the windowed measures summed over
    the window rows of each subtree's units and the period's days, the sets drawn from the
    window sets, the rest counted from the facts. The scopes must be judged at the
    generation's cutoff and their period made of whole local days."""
    chosen = [m for m in measures if m.subject is subject]
    if not chosen or not scopes:
        return []
    everywhere = union_scope(scopes)
    if everywhere.cutoff != generation.cutoff:
        raise ValueError(
            f"windows are judged at {generation.cutoff}, the scopes at {everywhere.cutoff}"
        )
    days = _whole_days(everywhere.period)
    kept = [m for m in chosen if windowed(m)]
    queries = [_window_query(subject, kept, everywhere, days, generation, windows)] if kept else []
    set_rows = {
        name: f"SELECT DISTINCT unit, procedure FROM {windows.sets} WHERE generation = "
        f"{generation.id} AND set_name = {sql_literal(name)} AND {days}"
        for name in DOSSIER_SETS
    }
    rest = [m for m in chosen if not windowed(m)]
    return queries + grouped_sql(subject, rest, scopes, tables, set_rows)


def _whole_days(period: Period) -> str:
    """The condition on a window row's day that puts it in the period."""
    if any(t.astimezone(VN_TZ).time() != time() for t in (period.start, period.end)):
        raise ValueError(f"period {period.label!r} does not start and end at local midnight")
    return f"day >= {sql_literal(period.start_date)} AND day < {sql_literal(period.end_date)}"


def _window_query(
    subject: Subject,
    measures: list[Measure],
    everywhere: Scope,
    days: str,
    generation: Generation,
    windows: WindowTables,
) -> GroupedQuery:
    columns = ",\n  ".join(
        f"sumIf(numerator, measure = {sql_literal(m.key)}) AS `{m.key}__num`,\n  "
        f"sumIf(denominator, measure = {sql_literal(m.key)}) AS `{m.key}__den`"
        for m in measures
    )
    sql = (
        f"SELECT\n  unit AS {SCOPE_KEY},\n  {columns}\nFROM {windows.tallies}\n"
        f"WHERE generation = {generation.id} AND unit IN {sql_literal(everywhere.units)} "
        f"AND {days} AND measure IN {sql_literal({m.key for m in measures})}\n"
        f"GROUP BY {SCOPE_KEY}"
    )
    return GroupedQuery(subject, tuple(measures), True, sql)
