"""The measures compiled to ClickHouse SQL, counting what `tthc.measures.evaluation` counts.

Three shapes: every measure of a subject over one scope in one scan (`subject_sql`); many scopes
of one period at once, a ranking (`grouped_sql`, rolled up by `rollup`); one subtree over many
periods, the buckets of a trend (`bucketed_sql`). Queries are `tthc.sql.Select` values, built
from their clauses and rendered once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, is_dataclass
from dataclasses import fields as dataclass_fields
from dataclasses import replace as dataclass_replace
from functools import cache
from typing import Any

from tthc.calendar import local_date
from tthc.expr import Col, Expr, In, Var, compile_sql, sql_literal
from tthc.facts import Subject, column_type_of
from tthc.measures.catalog import (
    _DOSSIER_SCOPE,
    CUTOFF,
    CUTOFF_DATE,
    DOSSIER_SETS,
    LEVELS,
    Measure,
    _sets_used,
)
from tthc.measures.evaluation import COMMUNE_FACTS, Scope, Tally, _require_dossiers
from tthc.sql import Select, settings_clause


@dataclass(frozen=True)
class TableNames:
    dossier: str = "dossier_facts"
    feedback: str = "feedback_facts"
    procedure: str = "procedure_facts"
    commune: str = "commune_facts"


# --- One scope --------------------------------------------------------------------------------


def scope_sql(measure: Measure, scope: Scope) -> str:
    """The SQL condition that puts a row of `measure`'s table in `scope` (unit and period)."""
    terms = []
    if measure.unit_column and measure.subject is not Subject.commune:
        terms.append(f"{measure.unit_column} IN {sql_literal(scope.units)}")
    if measure.period_column:
        terms.append(_in_period_sql(measure.subject, measure.period_column, scope))
    return " AND ".join(terms) or "true"


def _in_period_sql(subject: Subject, column: str, scope: Scope) -> str:
    start, end = scope.bounds(column_type_of(subject, column))
    return f"{column} >= {sql_literal(start)} AND {column} < {sql_literal(end)}"


def subject_sql(
    subject: Subject, measures: Iterable[Measure], scope: Scope, tables: TableNames = TableNames()
) -> str:
    """One query that counts every given measure of a subject in one scan.

    It returns one row with columns `<key>__num` and `<key>__den` per measure.
    """
    return str(_subject_select(subject, measures, scope, tables))


def _subject_select(
    subject: Subject, measures: Iterable[Measure], scope: Scope, tables: TableNames
) -> Select:
    chosen = [m for m in measures if m.subject is subject]
    env: dict[str, Any] = scope.env()
    for m in chosen:
        env.update(sql_env(m, scope, tables))
    conditions = [f"({scope_sql(m, scope)}) AND {compile_sql(m.denominator, env)}" for m in chosen]
    values = [compile_sql(m.numerator, env) for m in chosen]
    return Select(
        _measure_columns(chosen, conditions, values),
        source_sql(subject, scope, tables),
        settings=_settings(subject),
    )


def sql_env(measure: Measure, scope: Scope, tables: TableNames = TableNames()) -> dict[str, Any]:
    """`reference_env` for SQL: each set of procedures is a subquery on the scope's dossiers."""
    env: dict[str, Any] = scope.env()
    for name in _sets_used(measure):
        condition = compile_sql(DOSSIER_SETS[name], env)
        env[name] = str(
            Select(
                ("procedure",),
                f"{tables.dossier} FINAL",
                where=f"{scope_sql(_DOSSIER_SCOPE, scope)} AND {condition}",
            )
        )
    return env


def source_sql(subject: Subject, scope: Scope, tables: TableNames = TableNames()) -> str:
    """What a subject's rows are read from: its table, or for communes one row per commune of
    today with the earliest of what it and its predecessors did (as `_merged_communes`); a
    query reading it needs `settings_sql(subject)`."""
    if subject is not Subject.commune:
        return f"{getattr(tables, subject.value)} FINAL"
    pairs = ", ".join(f"({sql_literal(a)}, {sql_literal(b)})" for a, b in scope.commune_codes)
    typed = f"CAST([{pairs}], 'Array(Tuple(String, String))')"  # typed even when empty
    codes = Select(("pair.1 AS code", "pair.2 AS today"), _rows_of(typed, "pair"))
    facts = Select(("*",), f"{tables.commune} FINAL")
    merged = Select(
        ("c.today AS code", *(f"min(f.{c}) AS {c}" for c in COMMUNE_FACTS)),
        f"{codes.subquery('c')} LEFT JOIN {facts.subquery('f')} ON f.code = c.code",
        group_by=("c.today",),
    )
    return merged.subquery()


def _rows_of(array: str, alias: str) -> str:
    """A table of one column `alias`, a row per element of an array literal."""
    return f"(SELECT arrayJoin({array}) AS {alias})"


def _settings(subject: Subject) -> tuple[tuple[str, int], ...]:
    """The query settings `source_sql` needs: a commune with no facts has NULLs, not zeros."""
    return (("join_use_nulls", 1),) if subject is Subject.commune else ()


def settings_sql(subject: Subject) -> str:
    """`_settings` as the SETTINGS clause that ends a query written as text ('' for none)."""
    return settings_clause(_settings(subject))


def by_procedure_sql(measure: Measure, scope: Scope, tables: TableNames = TableNames()) -> str:
    """`tally_by_procedure` in one query: rows (procedure, numerator, denominator)."""
    _require_dossiers(measure)
    env: dict[str, Any] = scope.env()
    condition = f"({scope_sql(measure, scope)}) AND {compile_sql(measure.denominator, env)}"
    value = compile_sql(measure.numerator, env)
    numerator = f"ifNull(sum(toFloat64({value})), 0)" if measure.average else f"countIf({value})"
    select = Select(
        ("procedure", f"{numerator} AS numerator", "count() AS denominator"),
        f"{tables.dossier} FINAL",
        where=condition,
        group_by=("procedure",),
    )
    return str(select)


def _measure_columns(
    measures: Sequence[Measure], conditions: Sequence[str], values: Sequence[str]
) -> tuple[str, ...]:
    """`<key>__num` and `<key>__den` of each measure, given its rows' condition and value."""
    columns: list[str] = []
    for m, condition, value in zip(measures, conditions, values, strict=True):
        if m.average:
            columns.append(f"ifNull(sumIf(toFloat64({value}), {condition}), 0) AS `{m.key}__num`")
        else:
            columns.append(f"countIf({condition} AND {value}) AS `{m.key}__num`")
        columns.append(f"countIf({condition}) AS `{m.key}__den`")
    return tuple(columns)


def tally_columns(
    measures: Sequence[Measure], conditions: Sequence[str], values: Sequence[str]
) -> str:
    """The `<key>__num` and `<key>__den` aggregates of each measure as the text of a select
    list, from the SQL of its denominator rows (`conditions`) and its numerator (`values`)."""
    return ",\n  ".join(_measure_columns(measures, conditions, values))


# --- Many units at once: one query per subject, rolled up over the tree ---------------------------

_TARGET = "_target"  # the key of the scope a row of a grouped query belongs to
SCOPE_KEY = "_key"  # what a grouped query's row is keyed by: a unit code, or a scope's key


@dataclass(frozen=True)
class _Pair(Expr):
    """A tuple of two values, for `(scope, value) IN (subquery)`."""

    first: Expr
    second: Expr

    def sql(self) -> str:
        return f"({self.first.sql()}, {self.second.sql()})"

    def eval(self, row: Mapping[str, Any], env: Mapping[str, Any]) -> Any:
        return (self.first.eval(row, env), self.second.eval(row, env))


def substituted(expr: Expr, variables: Mapping[str, Expr], key: Expr) -> Expr:
    """The expression with some variables read from columns, and each set made a set of
    (key, value) pairs: what differs between scopes, taken from each row's scope."""
    if isinstance(expr, Var) and expr.name in variables:
        return variables[expr.name]
    if isinstance(expr, In):
        return In(_Pair(key, substituted(expr.term, variables, key)), expr.set_name)
    if not is_dataclass(expr):
        return expr
    changes: dict[str, Any] = {}
    for f in dataclass_fields(expr):
        value = getattr(expr, f.name)
        if isinstance(value, Expr):
            changes[f.name] = substituted(value, variables, key)
        elif isinstance(value, tuple) and all(isinstance(v, Expr) for v in value):
            changes[f.name] = tuple(substituted(v, variables, key) for v in value)
    return dataclass_replace(expr, **changes) if changes else expr


def _per_target(expr: Expr) -> Expr:
    """Per scope of a grouped query: the subtree's levels and the sets drawn from its dossiers."""
    return substituted(expr, {LEVELS.name: Col("_levels")}, Col(_TARGET))


@cache  # asked for every measure of every answer; its SQL text is long to render
def additive(measure: Measure) -> bool:
    """Counted per unit and summed over a subtree gives the subtree's count: the measure is
    scoped by a unit column and its expressions depend on nothing else of the scope."""
    if measure.subject is Subject.commune:
        return True  # one row per commune of today, summed over the subtree's communes
    text = measure.denominator.sql() + measure.numerator.sql()
    return measure.unit_column is not None and "{levels}" not in text and not _sets_used(measure)


@dataclass(frozen=True)
class GroupedQuery:
    """One query of a subject for many scopes, and how its rows become each scope's tallies.

    Rows have a `_key` column and `<measure>__num` / `<measure>__den` columns. With
    `by_unit`, `_key` is a unit code (a commune of today for the commune subject) and a
    scope's tally is the sum over the units of its subtree; otherwise `_key` is the scope's key.
    """

    subject: Subject
    measures: tuple[Measure, ...]
    by_unit: bool
    sql: str


def grouped_sql(
    subject: Subject,
    measures: Iterable[Measure],
    scopes: Mapping[str, Scope],
    tables: TableNames = TableNames(),
    set_rows: Mapping[str, str] | None = None,
) -> list[GroupedQuery]:
    """Queries that count the given measures of a subject for every scope at once.

    The scopes must share their period and cutoff (a ranking, a refresh of every unit); they
    differ by subtree. Additive measures are counted per unit in one scan and rolled up in
    Python (`rollup`); the others (procedures under a subtree's authority, and the sets of
    procedures drawn from its dossiers) are counted per scope in SQL. `set_rows` may give, per
    set of DOSSIER_SETS, a query of its (unit, procedure) rows over the scopes' period (from
    the windows); by default they are drawn from the dossier facts.
    """
    chosen = [m for m in measures if m.subject is subject]
    if not chosen or not scopes:
        return []
    everywhere = union_scope(scopes)
    env: dict[str, Any] = everywhere.env()
    queries = []
    summed = [m for m in chosen if additive(m)]
    if summed:
        queries.append(_by_unit_query(subject, summed, everywhere, env, tables))
    others = [m for m in chosen if not additive(m)]
    if others:
        rows = set_rows if set_rows is not None else _fact_set_rows(others, everywhere, env, tables)
        queries.append(_by_scope_query(subject, others, scopes, rows, tables))
    return queries


def union_scope(scopes: Mapping[str, Scope]) -> Scope:
    """One scope over every unit of scopes sharing their period and cutoff."""
    first = next(iter(scopes.values()))
    if any(s.period != first.period or s.cutoff != first.cutoff for s in scopes.values()):
        raise ValueError("grouped scopes must share their period and cutoff")
    return Scope(
        units=frozenset().union(*(s.units for s in scopes.values())),
        commune_codes=tuple(sorted({p for s in scopes.values() for p in s.commune_codes})),
        levels=frozenset(),
        period=first.period,
        cutoff=first.cutoff,
    )


def _fact_set_rows(
    measures: Iterable[Measure], everywhere: Scope, env: Mapping[str, Any], tables: TableNames
) -> dict[str, str]:
    """The (unit, procedure) rows of each set the measures use, from the period's dossiers."""
    return {
        name: str(
            Select(
                ("unit", "procedure"),
                f"{tables.dossier} FINAL",
                where=f"{_period_only(_DOSSIER_SCOPE, everywhere)} AND "
                f"{compile_sql(DOSSIER_SETS[name], env)}",
            )
        )
        for m in measures
        for name in _sets_used(m)
    }


def _period_only(measure: Measure, scope: Scope) -> str:
    """The period condition of `scope` for `measure`, whatever the unit."""
    return scope_sql(dataclass_replace(measure, unit_column=None), scope)


def _by_unit_query(
    subject: Subject,
    measures: list[Measure],
    everywhere: Scope,
    env: dict[str, Any],
    tables: TableNames,
) -> GroupedQuery:
    if subject is Subject.commune:
        # the one-row query over the merged communes, now one row per commune of today
        single = _subject_select(subject, measures, everywhere, tables)
        keyed = dataclass_replace(
            single, columns=(f"code AS {SCOPE_KEY}", *single.columns), group_by=(SCOPE_KEY,)
        )
        return GroupedQuery(subject, tuple(measures), True, str(keyed))
    unit_columns = {m.unit_column for m in measures}
    if len(unit_columns) != 1:  # measures of one subject scoped by different columns
        raise ValueError(f"measures of {subject} are scoped by {sorted(map(str, unit_columns))}")
    (unit_column,) = unit_columns
    conditions = [
        f"({_period_only(m, everywhere)}) AND {compile_sql(m.denominator, env)}" for m in measures
    ]
    values = [compile_sql(m.numerator, env) for m in measures]
    select = Select(
        (f"{unit_column} AS {SCOPE_KEY}", *_measure_columns(measures, conditions, values)),
        f"{getattr(tables, subject.value)} FINAL",
        where=f"{unit_column} IN {sql_literal(everywhere.units)}",
        group_by=(SCOPE_KEY,),
    )
    return GroupedQuery(subject, tuple(measures), True, str(select))


def _by_scope_query(
    subject: Subject,
    measures: list[Measure],
    scopes: Mapping[str, Scope],
    set_rows: Mapping[str, str],
    tables: TableNames,
) -> GroupedQuery:
    if subject is Subject.commune:
        raise ValueError("commune measures are always counted per commune")
    everywhere = union_scope(scopes)
    env: dict[str, Any] = everywhere.env()
    members = [(unit, key) for key, s in scopes.items() for unit in sorted(s.units)]
    pairs = ", ".join(f"({sql_literal(u)}, {sql_literal(k)})" for u, k in members)
    membership = Select(
        ("m.1 AS _unit", f"m.2 AS {_TARGET}"),
        _rows_of(f"CAST([{pairs}], 'Array(Tuple(String, String))')", "m"),
    )
    for m in measures:
        for name in _sets_used(m):
            env[name] = str(
                Select(
                    (f"s.{_TARGET}", "f.procedure"),
                    f"({set_rows[name]}) AS f "
                    f"INNER JOIN {membership.subquery('s')} ON f.unit = s._unit",
                )
            )
    targets = ", ".join(
        f"({sql_literal(key)}, {sql_literal(sorted(s.levels))}, {sql_literal(sorted(s.units))})"
        for key, s in scopes.items()
    )
    target_table = Select(
        (f"t.1 AS {_TARGET}", "t.2 AS _levels", "t.3 AS _units"),
        _rows_of(f"CAST([{targets}], 'Array(Tuple(String, Array(String), Array(String)))')", "t"),
    )
    conditions = []
    for m in measures:
        terms = [_period_only(m, everywhere)]
        if m.unit_column:
            terms.append(f"has(_units, {m.unit_column})")
        conditions.append(
            f"({' AND '.join(terms)}) AND {compile_sql(_per_target(m.denominator), env)}"
        )
    values = [compile_sql(_per_target(m.numerator), env) for m in measures]
    facts = Select(("*",), f"{getattr(tables, subject.value)} FINAL")
    select = Select(
        (f"{_TARGET} AS {SCOPE_KEY}", *_measure_columns(measures, conditions, values)),
        f"{facts.subquery('facts')}\nCROSS JOIN {target_table.subquery('targets')}",
        group_by=(SCOPE_KEY,),
    )
    return GroupedQuery(subject, tuple(measures), False, str(select))


def rollup(
    query: GroupedQuery, rows: Iterable[Mapping[str, Any]], scopes: Mapping[str, Scope]
) -> dict[str, dict[str, Tally]]:
    """Each scope's tallies from a grouped query's rows (summed over its subtree if by unit)."""
    by_key = {row[SCOPE_KEY]: row for row in rows}
    result: dict[str, dict[str, Tally]] = {}
    for key, scope in scopes.items():
        if not query.by_unit:
            members = [by_key[key]] if key in by_key else []
        elif query.subject is Subject.commune:
            members = [by_key[c] for c in sorted(scope.communes) if c in by_key]
        else:
            members = [by_key[u] for u in sorted(scope.units) if u in by_key]
        tallies = {}
        for m in query.measures:
            numerator = sum(row[f"{m.key}__num"] for row in members)
            tallies[m.key] = Tally(
                float(numerator) if m.average else int(numerator),
                int(sum(row[f"{m.key}__den"] for row in members)),
            )
        result[key] = tallies
    return result


# --- One subtree over many periods: the buckets of a trend ----------------------------------------

_BUCKET_VARIABLES = {CUTOFF.name: Col("_cutoff"), CUTOFF_DATE.name: Col("_cutoff_date")}


def _bucket_key_sql(subject: Subject, column: str, scopes: Mapping[str, Scope]) -> str:
    """The key of the scope whose period holds the row's `column`, '' for none."""
    branches = [
        f"{_in_period_sql(subject, column, scope)}, {sql_literal(key)}"
        for key, scope in scopes.items()
    ]
    return f"multiIf({', '.join(branches)}, '')"


def _bucket_cutoffs(scopes: Mapping[str, Scope], key: str) -> tuple[str, str]:
    """The columns `_cutoff` and `_cutoff_date`: those of the bucket a row's `key` names."""
    keys = sql_literal(list(scopes))
    cutoffs = sql_literal([s.cutoff for s in scopes.values()])
    days = sql_literal([local_date(s.cutoff) for s in scopes.values()])
    return (
        f"arrayElement({cutoffs}, indexOf({keys}, {key})) AS _cutoff",
        f"arrayElement({days}, indexOf({keys}, {key})) AS _cutoff_date",
    )


def bucketed_sql(
    subject: Subject,
    measures: Iterable[Measure],
    scopes: Mapping[str, Scope],
    tables: TableNames = TableNames(),
) -> list[GroupedQuery]:
    """Queries that count the given measures of a subject for one subtree over many periods
    (the buckets of a trend) at once: one row per scope key, for `rollup`.

    The scopes must share their subtree and have disjoint periods; each keeps its own cutoff.
    A row with a period column lands in the bucket that holds it; a row without one (the state
    of a procedure or a commune) is counted in every bucket, at the bucket's cutoff.
    """
    chosen = [m for m in measures if m.subject is subject]
    if not chosen or not scopes:
        return []
    first = next(iter(scopes.values()))
    if any(
        (s.units, s.commune_codes, s.levels) != (first.units, first.commune_codes, first.levels)
        for s in scopes.values()
    ):
        raise ValueError("bucketed scopes must share their subtree")
    env: dict[str, Any] = {"levels": sorted(first.levels)}
    key = Col(SCOPE_KEY)
    # the sets drawn from the dossiers of each bucket, keyed by the bucket
    for m in chosen:
        for name in _sets_used(m):
            # judged at the cutoff of the bucket each dossier falls in
            condition = compile_sql(substituted(DOSSIER_SETS[name], _BUCKET_VARIABLES, key), env)
            bucketed = Select(
                ("*", f"{_bucket_key_sql(Subject.dossier, 'received_at', scopes)} AS {SCOPE_KEY}"),
                f"{tables.dossier} FINAL",
                where=f"unit IN {sql_literal(first.units)}",
            )
            judged = Select(("*", *_bucket_cutoffs(scopes, SCOPE_KEY)), bucketed.subquery())
            env[name] = str(
                Select(
                    (SCOPE_KEY, "procedure"),
                    judged.subquery(),
                    where=f"{SCOPE_KEY} != '' AND {condition}",
                )
            )
    table = source_sql(subject, first, tables)
    queries = []
    by_column: dict[str | None, list[Measure]] = {}
    for m in chosen:
        by_column.setdefault(m.period_column, []).append(m)
    for column, group in by_column.items():
        scoped = [m.unit_column if subject is not Subject.commune else None for m in group]
        shared = scoped[0] if len(set(scoped)) == 1 else None  # filter the scan once
        where = f"{shared} IN {sql_literal(first.units)}" if shared else ""
        if column is not None:  # the row's bucket, and that bucket's cutoff
            rows = Select(
                (
                    "*",
                    f"{_bucket_key_sql(subject, column, scopes)} AS {SCOPE_KEY}",
                    *_bucket_cutoffs(scopes, SCOPE_KEY),
                ),
                table,
                where=where,
            )
        else:
            facts = Select(("*",), table, where=where)
            buckets = _rows_of(sql_literal(list(scopes)), SCOPE_KEY)
            rows = Select(
                ("*", *_bucket_cutoffs(scopes, SCOPE_KEY)),
                f"{facts.subquery('facts')} CROSS JOIN {buckets} AS buckets",
            )
        conditions = [
            (f"{u} IN {sql_literal(first.units)} AND " if u and u != shared else "")
            + compile_sql(substituted(m.denominator, _BUCKET_VARIABLES, key), env)
            for m, u in zip(group, scoped, strict=True)
        ]
        values = [compile_sql(substituted(m.numerator, _BUCKET_VARIABLES, key), env) for m in group]
        select = Select(
            (SCOPE_KEY, *_measure_columns(group, conditions, values)),
            rows.subquery("rows"),
            where=f"{SCOPE_KEY} != ''",
            group_by=(SCOPE_KEY,),
            settings=_settings(subject),
        )
        queries.append(GroupedQuery(subject, tuple(group), False, str(select)))
    return queries
