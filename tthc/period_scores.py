"""Every unit's scores for a period named in SQL, from the windows and the facts, in one query.

A dashboard names its period in SQL (a Grafana variable: '2025-11', '2025-Q4', '2025'), so its
bounds and cutoff are SQL too (`period_sql`: judged now while it runs, at its last second once
over, as `Period.cutoff`). `subtree_tallies_sql` counts every measure of a profile for every
unit's subtree in that period at that cutoff:

- the windowed measures (dossiers and feedback, by day of receipt) from the worker's windows
  (`window_tallies_sql`, per leaf unit), summed over each subtree;
- the other additive ones (procedures by the unit that announced them, communes of today with
  what the communes merged into them did) per unit from the facts, summed the same way;
- the rest (procedures under a subtree's authority, the sets of procedures drawn from its
  dossiers) per subtree from the facts.

Subtrees are read from the `unit_tree` table (`unit_tree_rows`, written by the worker at
start-up from its unit tree): one row per unit of a subtree and the current unit it belongs to.
`period_scores_sql` puts the tallies through `tthc.scoring_sql.scores_sql`, with the columns
the score snapshot had; the view SCORES_VIEW is that query with the period as a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

from tthc.calendar import VN_TZ
from tthc.expr import Col, Expr, compile_sql, sql_literal
from tthc.facts import CommuneFacts, Scalar, column_type_of
from tthc.measures import (
    CUTOFF,
    CUTOFF_DATE,
    DOSSIER_SETS,
    LEVELS,
    Measure,
    Subject,
    TableNames,
)
from tthc.measures.queries import additive, substituted, tally_columns
from tthc.profile import Profile
from tthc.scoring import profile_measures
from tthc.scoring_sql import SCORE_ROW_COLUMNS, scores_sql
from tthc.units import UnitTree
from tthc.windows import DaySpan, WindowTables, window_tallies_sql, windowed

TZ = sql_literal(VN_TZ.key)
FACTS = TableNames()
WINDOWS = WindowTables()

# --- The unit tree, as a table ----------------------------------------------------------------

UNIT_TREE_TABLE = "unit_tree"

# One row per (unit, ancestor): `ancestor` is a current unit and `unit` a code of its subtree
# (itself, the current units under it, the historical ones merged into them). The other columns
# describe `unit`: the row where unit = ancestor describes a current unit.
UNIT_TREE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("unit", "String"),
    ("ancestor", "String"),
    ("name", "String"),
    ("level", "LowCardinality(String)"),
    ("parent", "String"),  # '' for none
    ("today", "String"),  # the current unit it counts for (itself if current)
    ("today_level", "LowCardinality(String)"),  # the level it is scored at (today's)
    ("written_at", "DateTime64(3, 'UTC')"),  # readers read the latest tree written
)


def unit_tree_rows(tree: UnitTree) -> list[dict[str, Any]]:
    """The rows of `unit_tree` for a tree, without `written_at` (the writer's)."""
    rows = []
    for ancestor in tree.current_units():
        for code in sorted(tree.subtree(ancestor.code)):
            unit = tree.get(code)
            rows.append(
                {
                    "unit": code,
                    "ancestor": ancestor.code,
                    "name": unit.name,
                    "level": unit.level.value,
                    "parent": unit.parent or "",
                    "today": tree.resolve(code),
                    "today_level": tree.level_of(code).value,
                }
            )
    return rows


def tree_sql(table: str = UNIT_TREE_TABLE) -> str:
    """SQL: the rows of the latest tree written (a new one is written beside the old)."""
    return f"SELECT * FROM {table} WHERE written_at = (SELECT max(written_at) FROM {table})"


def current_units_sql(table: str = UNIT_TREE_TABLE) -> str:
    """SQL: today's units, with their name, level and parent."""
    return f"SELECT unit, name, level, parent FROM ({tree_sql(table)}) WHERE unit = ancestor"


# --- A period named in SQL --------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodSql:
    """SQL expressions of a period given by its label: what `tthc.periods` computes."""

    kind: str  # 'month' | 'quarter' | 'half' | 'year'
    start_day: str  # its first local day
    end_day: str  # the local day after it
    cutoff: str  # now while it runs, its last second once over (DateTime, UTC)


_MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}


def period_sql(label: str) -> PeriodSql:
    """The period of the SQL string `label` ('2025-11', '2025-Q4', '2025-H2', '2025'), as
    `tthc.periods.parse_period` reads it; another label fails when the query runs."""
    kind = (
        f"multiIf(match({label}, '^[0-9]{{4}}-(0[1-9]|1[0-2])$'), 'month', "
        f"match({label}, '^[0-9]{{4}}-Q[1-4]$'), 'quarter', "
        f"match({label}, '^[0-9]{{4}}-H[12]$'), 'half', "
        f"match({label}, '^[0-9]{{4}}$'), 'year', '')"
    )
    kinds, months = sql_literal(list(_MONTHS)), sql_literal(list(_MONTHS.values()))
    length = f"transform({kind}, {kinds}, {months}, 0)"
    first_month = (
        f"if({kind} = 'month', toUInt8(substring({label}, 6, 2)), "
        f"if({kind} = 'year', 1, (toUInt8(substring({label}, 7, 1)) - 1) * {length} + 1))"
    )
    unknown = f"throwIf({kind} = '', 'a period label is YYYY-MM, YYYY-Qn, YYYY-Hn or YYYY')"
    start = f"makeDate(toUInt16(substring({label}, 1, 4)) + {unknown}, {first_month}, 1)"
    end = f"addMonths({start}, {length})"
    last_second = f"toTimeZone(toDateTime({end}, {TZ}) - 1, 'UTC')"
    return PeriodSql(kind, start, end, f"least(toTimeZone(now(), 'UTC'), {last_second})")


# --- Tallies per leaf unit, per subtree -------------------------------------------------------


# the sets of DOSSIER_SETS are drawn from the dossiers received in the period
_SETS_PERIOD = "received_at"
_TARGET = "_target"  # the subtree (its current unit) a row of a per-subtree query counts for


@dataclass(frozen=True)
class _Sql(Expr):
    """An SQL expression the caller gives (the cutoff of a period named in SQL): compiled into
    the measures' SQL as it is, so ClickHouse folds it once; never evaluated in Python."""

    text: str

    def sql(self) -> str:
        return f"({self.text})"


def _judged_at(cutoff: str) -> dict[str, Expr]:
    """The measures' cutoff variables for a cutoff given in SQL."""
    return {CUTOFF.name: _Sql(cutoff), CUTOFF_DATE.name: _Sql(f"toDate({cutoff}, {TZ})")}


def _in_period(subject: Subject, column: str | None, span: DaySpan) -> str:
    """SQL: the row's `column` (a day or an instant) falls in the span; no column: always."""
    if column is None:
        return "true"
    if column_type_of(subject, column).scalar is Scalar.day:
        return " AND ".join(span.days(column))
    start, end = (f"toDateTime({day}, {TZ})" for day in (span.start_day, span.end_day))
    return f"{column} >= {start} AND {column} < {end}"


def _as_rows(key: str, measures: Sequence[Measure], counted: str) -> str:
    """SQL: a query's `<key>__num`/`<key>__den` columns as rows (unit, measure, num, den)."""
    tallies = ", ".join(
        f"({sql_literal(m.key)}, toNullable(toFloat64(`{m.key}__num`)), "
        f"toNullable(toInt64(`{m.key}__den`)))"
        for m in measures
    )
    return (
        f"SELECT {key} AS unit, t.1 AS measure, t.2 AS numerator, t.3 AS denominator\n"
        f"FROM ({counted})\nARRAY JOIN [{tallies}] AS t"
    )


def _per_unit(
    measures: Sequence[Measure],
    source: str,
    unit_column: str,
    span: DaySpan,
    where: str = "true",
) -> str:
    """SQL: rows (unit, measure, numerator, denominator) of additive measures per unit."""
    judged = _judged_at(span.cutoff)
    conditions = [
        f"({_in_period(m.subject, m.period_column, span)}) AND "
        + compile_sql(substituted(m.denominator, judged, Col(_TARGET)), {})
        for m in measures
    ]
    values = [compile_sql(substituted(m.numerator, judged, Col(_TARGET)), {}) for m in measures]
    (column, *others) = {m.period_column for m in measures}
    if not others:  # one period column: read only the period's rows
        where = f"({where}) AND {_in_period(measures[0].subject, column, span)}"
    counted = (
        f"SELECT {unit_column} AS _unit, {tally_columns(measures, conditions, values)} "
        f"FROM {source} WHERE {where} GROUP BY _unit"
    )
    return _as_rows("_unit", measures, counted)


def _summed_over_subtrees(leaf: str, tree: str) -> str:
    """SQL: rows per leaf unit (or commune of today) summed over each subtree that holds it."""
    return (
        "SELECT tr.ancestor AS unit, l.measure AS measure, sum(l.numerator) AS numerator, "
        f"sum(l.denominator) AS denominator\nFROM ({leaf}) AS l\n"
        f"INNER JOIN ({tree}) AS tr ON tr.unit = l.unit\nGROUP BY tr.ancestor, l.measure"
    )


def _communes(tree: str, tables: TableNames) -> str:
    """One row per commune of today with the earliest of what it and the communes merged into
    it did (`tthc.measures.source_sql` for the whole tree)."""
    columns = [f.name for f in dataclass_fields(CommuneFacts) if f.name != "code"]
    merged = ", ".join(f"min(f.{c}) AS {c}" for c in columns)
    codes = f"SELECT DISTINCT unit AS code, today FROM ({tree}) WHERE today_level = 'commune'"
    # an unmatched commune's facts are NULL (Nullable columns): it offered nothing
    return (
        f"(SELECT c.today AS code, {merged} FROM ({codes}) AS c "
        f"LEFT JOIN (SELECT * FROM {tables.commune} FINAL) AS f ON f.code = c.code "
        "GROUP BY c.today)"
    )


def _per_subtree(
    subject: Subject,
    measures: Sequence[Measure],
    span: DaySpan,
    tree: str,
    tables: TableNames,
) -> str:
    """SQL: rows per subtree of the measures that depend on the subtree as a whole: the levels
    it has (procedures under its authority) and the procedures of its dossiers' sets."""
    env: dict[str, Any] = {}
    for name, chosen in DOSSIER_SETS.items():
        condition = compile_sql(substituted(chosen, _judged_at(span.cutoff), Col(_TARGET)), env)
        received = _in_period(Subject.dossier, _SETS_PERIOD, span)
        dossiers = (
            f"SELECT unit, procedure FROM {tables.dossier} FINAL WHERE {received} AND {condition}"
        )
        env[name] = (
            f"SELECT tr.ancestor, d.procedure FROM ({dossiers}) AS d "
            f"INNER JOIN ({tree}) AS tr ON tr.unit = d.unit"
        )
    variables: dict[str, Expr] = {**_judged_at(span.cutoff), LEVELS.name: Col("_levels")}
    conditions = []
    for m in measures:
        terms = [_in_period(subject, m.period_column, span)]
        if m.unit_column:
            terms.append(f"({_TARGET}, {m.unit_column}) IN (SELECT ancestor, unit FROM ({tree}))")
        denominator = compile_sql(substituted(m.denominator, variables, Col(_TARGET)), env)
        conditions.append(f"({' AND '.join(terms)}) AND {denominator}")
    values = [compile_sql(substituted(m.numerator, variables, Col(_TARGET)), env) for m in measures]
    targets = (
        f"SELECT ancestor AS {_TARGET}, groupUniqArrayIf(level, unit = today) AS _levels "
        f"FROM ({tree}) GROUP BY ancestor"
    )
    counted = (
        f"SELECT {_TARGET}, {tally_columns(measures, conditions, values)}\n"
        f"FROM (SELECT * FROM {getattr(tables, subject.value)} FINAL) AS facts\n"
        f"CROSS JOIN ({targets}) AS targets\nGROUP BY {_TARGET}"
    )
    return _as_rows(_TARGET, measures, counted)


def subtree_tallies_sql(
    measures: Sequence[Measure],
    span: DaySpan,
    *,
    tree_table: str = UNIT_TREE_TABLE,
    tables: TableNames = FACTS,
    windows: WindowTables = WINDOWS,
) -> str:
    """SQL: rows (unit, measure, numerator, denominator) of every measure for every current
    unit's subtree over the span's local days judged at its cutoff.
    A unit whose subtree counted nothing of a measure may have no row for it."""
    tree = tree_sql(tree_table)
    parts = []
    kept = [m for m in measures if windowed(m)]
    if kept:
        leaf = window_tallies_sql(kept, span, windows=windows)
        parts.append(_summed_over_subtrees(leaf, tree))
    rest = [m for m in measures if not windowed(m)]
    for subject in Subject:
        of_subject = [m for m in rest if m.subject is subject]
        by_unit = [m for m in of_subject if additive(m)]
        if subject is Subject.commune and by_unit:
            leaf = _per_unit(by_unit, _communes(tree, tables), "code", span)
            parts.append(_summed_over_subtrees(leaf, tree))
        elif by_unit:
            for column in sorted({str(m.unit_column) for m in by_unit}):
                group = [m for m in by_unit if m.unit_column == column]
                source = f"{getattr(tables, subject.value)} FINAL"
                leaf = _per_unit(group, source, column, span)
                parts.append(_summed_over_subtrees(leaf, tree))
        others = [m for m in of_subject if not additive(m)]
        if others:
            parts.append(_per_subtree(subject, others, span, tree, tables))
    return "\nUNION ALL\n".join(parts)


# --- Scores -----------------------------------------------------------------------------------

# The columns of `period_scores_sql`, in order: those of the score snapshot but `computed_at`.
PERIOD_SCORE_COLUMNS = (
    "period",
    "period_kind",
    "period_start",
    "period_end",
    "unit",
    "indicator",
    "level",
    "parent",
    "unit_name",
    *SCORE_ROW_COLUMNS[1:],
    "cutoff",
)


def period_scores_sql(
    profile: Profile,
    label: str,
    *,
    tree_table: str = UNIT_TREE_TABLE,
    tables: TableNames = FACTS,
    windows: WindowTables = WINDOWS,
) -> str:
    """SQL: every current unit's indicator rows and total row for the period of the SQL string
    `label`, judged at its cutoff, with PERIOD_SCORE_COLUMNS."""
    p = period_sql(label)
    tallies = subtree_tallies_sql(
        profile_measures(profile),
        DaySpan("period_start", "period_end", "cutoff"),
        tree_table=tree_table,
        tables=tables,
        windows=windows,
    )
    units = current_units_sql(tree_table)
    scored = scores_sql(profile, tallies, units, ["unit"])
    scored_columns = ", ".join(f"s.{c} AS {c}" for c in SCORE_ROW_COLUMNS[1:])
    return (
        # scalar subqueries: each computed once, then a constant in every measure that reads it
        f"WITH {label} AS period, (SELECT {p.kind}) AS period_kind,\n"
        f"  (SELECT {p.start_day}) AS period_start, (SELECT {p.end_day}) AS period_end,\n"
        f"  (SELECT {p.cutoff}) AS cutoff\n"
        "SELECT period, period_kind, period_start, period_end, s.unit AS unit, "
        "s.indicator AS indicator, u.level AS level, u.parent AS parent, u.name AS unit_name,\n"
        f"  {scored_columns}, cutoff\n"
        f"FROM ({scored}) AS s\nINNER JOIN ({units}) AS u ON u.unit = s.unit"
    )


# --- The view the dashboards read -------------------------------------------------------------

# A parameterized view: `unit_period_scores(period = '2025-11')` is `period_scores_sql` of that
# label. The worker (re)creates it at start-up from its profile, so the dashboards' queries stay
# small (a trend is one call per month) and score with the profile the pipeline counts with.
SCORES_VIEW = "unit_period_scores"


def scores_view_body(profile: Profile) -> str:
    """SQL: the body of SCORES_VIEW, its period a parameter."""
    return period_scores_sql(profile, "{period:String}")


def scores_of(period: str) -> str:
    """SQL: the scores relation of the period of the SQL string `period`."""
    return f"{SCORES_VIEW}(period = {period})"
