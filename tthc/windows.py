"""Rolling windows per unit and local day: kept by the aggregator, read at any cutoff.

The aggregator writes every dossier and feedback fact row a second time, keyed by (unit, local
day of receipt, code) (`FactTables by day`); in its window step (after every batch once caught
up, after several while a backlog drains) it recomputes, from those rows, the window of every
(unit, day) the batches touched (`recompute_sql`). A window row holds, for one (unit, day,
subject):

- the tally of every windowed measure judged at `judged_at` (W: the server's clock less a
  margin for the skew between the API's clock and the server's);
- the tallies judged at the end of the day's month, quarter and year, once that end is before W;
- what changes after W with no new event: for every fact row with an instant still to come
  (an open dossier's due instant, a deadline, anything compared to the cutoff), the change of
  its contribution at each such instant, summed per (measure, instant). The instants are read
  off the measure's own expressions (`change_points`): every instant column they read, and
  where a comparison of two instants that move with the cutoff flips;
- the procedures of each dossier set (DOSSIER_SETS) with the interval of cutoffs over which
  each dossier puts its procedure in the set, exact at any cutoff (`set_interval`).

Then it sums the day rows of every month it touched into one row per (unit, month, subject)
of the same shape (`rollup_sql`), so that a year is read in twelve rows per unit.

Read at a cutoff C (`window_tallies_sql`), from the month row of each month wholly in the span
and the day rows of the days outside them: C at or after a row's W gives its tally at W plus
its changes up to C, exact; C at the end of the row's month, quarter or year gives that tally;
any other C (an arbitrary past instant) cannot be answered from the row: NULL, and the caller
reads the facts. A window is recomputed whole from the facts, and a month row from its days,
so redeliveries, resends and events out of order end with what a recomputation from scratch
gives.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, is_dataclass
from dataclasses import fields as dataclass_fields
from datetime import date, datetime, time, timedelta
from typing import Any

from tthc.calendar import VN_TZ
from tthc.expr import (
    And,
    AsOf,
    Col,
    Compare,
    Element,
    Expr,
    If,
    IsNull,
    Not,
    Var,
    compile_sql,
    sql_literal,
)
from tthc.facts import FACTS_OF
from tthc.measures import (
    CUTOFF,
    CUTOFF_DATE,
    DOSSIER_SETS,
    MEASURES,
    GroupedQuery,
    Measure,
    Scope,
    Subject,
    TableNames,
    grouped_sql,
)
from tthc.measures.queries import SCOPE_KEY, additive, substituted, union_scope
from tthc.periods import Period

SUBJECTS = (Subject.dossier, Subject.feedback)
FACT_TABLES = TableNames()
_TZ = sql_literal(VN_TZ.key)
_INSTANTS = "CAST([], 'Array(DateTime(''UTC''))')"
_SET_ENTRY = "Tuple(String, String, DateTime('UTC'), Nullable(DateTime('UTC')))"
_WINDOW_COLUMN = "received_at"
_SECONDS = 4_294_967_296  # a change's key: measure index * 2^32 + the instant's epoch second


@dataclass(frozen=True)
class WindowTables:
    """The fact rows keyed by (unit, day, code), and the windows computed from them."""

    dossier: str = "dossier_facts_by_day"
    feedback: str = "feedback_facts_by_day"
    windows: str = "unit_day_windows"
    months: str = "unit_month_windows"  # the day windows summed per month (`rollup_sql`)

    def by_day(self, subject: Subject) -> str:
        return str(getattr(self, subject.value))


@dataclass(frozen=True)
class DaySpan:
    """The local days [start_day, end_day) judged at `cutoff`, each an SQL expression: a
    literal (`literal`, which keeps the values too), or SQL built from a dashboard's variables
    or a period's columns."""

    start_day: str
    end_day: str
    cutoff: str
    # a literal span's values: its SQL is then written for them (fewer expressions to plan)
    values: tuple[date, date, datetime] | None = None

    @classmethod
    def literal(cls, first: date, end: date, cutoff: datetime) -> DaySpan:
        return cls(sql_literal(first), sql_literal(end), sql_literal(cutoff), (first, end, cutoff))

    def days(self, column: str = "day") -> list[str]:
        """Conditions: the day `column` falls in the span."""
        return [f"{column} >= {self.start_day}", f"{column} < {self.end_day}"]

    # The span as [start, first) days, [first, last) whole months, [last, end) days: a reader
    # takes a month's row where the span covers the month, the days' rows elsewhere.

    def whole_months(self, column: str = "day") -> list[str] | None:
        """Conditions: the month starting on `column` lies wholly in the span (None: no
        month does)."""
        if self.values is None:
            first, last = self._month_bounds_sql()
            return [f"{column} >= {first}", f"{column} < {last}"]
        start, end = _month_bounds(*self.values[:2])
        if start >= end:
            return None
        return [f"{column} >= {sql_literal(start)}", f"{column} < {sql_literal(end)}"]

    def partial_days(self, column: str = "day") -> str | None:
        """A condition: the day `column` is in the span but not in one of its whole months
        (None: every day of the span is)."""
        if self.values is None:
            start, end = self.start_day, self.end_day
            first, last = self._month_bounds_sql()
            ranges = [(start, f"least({first}, {end})"), (f"greatest({first}, {last})", end)]
        else:
            since, until = self.values[:2]
            months = _month_bounds(since, until)
            ranges = [
                (sql_literal(a), sql_literal(b))
                for a, b in ((since, min(months[0], until)), (max(months), until))
                if a < b
            ]
        if not ranges:
            return None
        return "(" + " OR ".join(f"({column} >= {a} AND {column} < {b})" for a, b in ranges) + ")"

    def _month_bounds_sql(self) -> tuple[str, str]:
        """`_month_bounds` in SQL, of the span's SQL bounds."""
        start = self.start_day
        first = f"if(toDayOfMonth({start}) = 1, {start}, addMonths(toStartOfMonth({start}), 1))"
        return first, f"toStartOfMonth({self.end_day})"


def _month_bounds(start: date, end: date) -> tuple[date, date]:
    """The first day of the first month that starts in [start, end) (or after it), and the
    first day of the month of `end`: the whole months of the span lie between them."""
    first = start if start.day == 1 else _add_month(start.replace(day=1))
    return first, end.replace(day=1)


def _add_month(first: date, months: int = 1) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def windowed(measure: Measure) -> bool:
    """Kept in the windows: an additive dossier or feedback measure, its period by receipt."""
    return (
        measure.subject in SUBJECTS
        and measure.period_column == _WINDOW_COLUMN
        and additive(measure)
    )


def windowed_measures(subject: Subject) -> list[Measure]:
    """Every windowed measure of a subject, in a fixed order (the arrays of a window row)."""
    return [m for m in MEASURES.values() if m.subject is subject and windowed(m)]


def local_day_sql(column: str) -> str:
    """The local (Vietnam) day of an instant column: the `day` of the by-day tables."""
    return f"toDate({column}, {_TZ})"


# --- The instants at which a row's contribution can change -------------------------------------


def _kind(annotation: object) -> str:
    """'instant', 'instants' (an array), 'day', 'days' or '' for a fact column's type."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is list:
        inner = _kind(args[0])
        return inner + "s" if inner in ("instant", "day") else ""
    if args and typing.get_origin(annotation) is not list:
        return _kind(args[0])
    if annotation is datetime:
        return "instant"
    if annotation is date:
        return "day"
    return ""


def _column_kinds(subject: Subject) -> dict[str, str]:
    hints = typing.get_type_hints(FACTS_OF[subject])
    return {name: _kind(hint) for name, hint in hints.items()}


def _children(expr: Expr) -> Iterator[Expr]:
    if not is_dataclass(expr):
        return
    for f in dataclass_fields(expr):
        value = getattr(expr, f.name)
        if isinstance(value, Expr):
            yield value
        elif isinstance(value, tuple):
            yield from (v for v in value if isinstance(v, Expr))


def _walk(expr: Expr) -> Iterator[Expr]:
    yield expr
    for child in _children(expr):
        yield from _walk(child)


def _judged(expr: Expr) -> bool:
    """Whether the expression depends on the cutoff."""
    return any(
        isinstance(e, Var) and e.name in (CUTOFF.name, CUTOFF_DATE.name) for e in _walk(expr)
    )


def _is_instant(expr: Expr, kinds: Mapping[str, str]) -> bool:
    """Whether an expression's value is an instant (typed from the fact columns)."""
    if isinstance(expr, Var):
        return expr.name == CUTOFF.name
    if isinstance(expr, Col):
        return kinds.get(expr.name) == "instant"
    if isinstance(expr, Element):
        return isinstance(expr.array, Col) and kinds.get(expr.array.name) == "instants"
    if isinstance(expr, AsOf):
        return isinstance(expr.values, Col) and kinds.get(expr.values.name) == "instants"
    if isinstance(expr, If):
        return _is_instant(expr.value, kinds)
    name = type(expr).__name__
    if name in ("Coalesce",):
        return any(_is_instant(t, kinds) for t in _children(expr))
    if name in ("Least", "Greatest", "AddSeconds"):
        return _is_instant(next(_children(expr)), kinds)
    return False


def _instants_sql(column: str, kind: str) -> str:
    """A column's instants as Array(DateTime('UTC')): its value(s); a day's two midnights."""
    typed = "Array(DateTime('UTC'))"
    if kind == "instant":
        return f"if({column} IS NULL, CAST([], {sql_literal(typed)}), [assumeNotNull({column})])"
    if kind == "instants":
        return (
            f"CAST(arrayMap(_x -> assumeNotNull(_x), arrayFilter(_x -> _x IS NOT NULL, "
            f"{column})), {sql_literal(typed)})"
        )
    days = f"[{column}]" if kind == "day" else column
    return (
        f"CAST(arrayFlatten(arrayMap(_x -> [toDateTime(_x, {_TZ}), toDateTime(_x + 1, {_TZ})], "
        f"arrayFilter(_x -> _x IS NOT NULL, {days}))), {sql_literal(typed)})"
    )


def _at(expr: Expr, instant: str) -> Expr:
    """The expression judged at another cutoff: an SQL expression (a column, a lambda's
    parameter)."""
    return substituted(
        expr,
        {CUTOFF.name: Col(instant), CUTOFF_DATE.name: Col(local_day_sql(instant))},
        Col(SCOPE_KEY),
    )


def change_points(subject: Subject, expressions: Iterable[Expr]) -> tuple[str, list[str]]:
    """SQL of the instants at which the expressions' values on a row can change with the
    cutoff alone: the breakpoints, as Array(DateTime('UTC')), and the meeting instants of
    moving comparisons, each an expression of a breakpoint `_b` (see `recompute_sql`);
    possibly with repeats and spurious ones (which change nothing). Between two of them (and
    the next second after each: a comparison may be strict or not) every expression is
    constant.

    They are: every instant an instant column holds (`x <= cutoff` flips there; so do
    CountUpTo, AsOf and ClosedSeconds over arrays of instants), each date column's midnights
    (against the cutoff's day), and where a comparison of two instants that move with the
    cutoff meets: both sides move at most one second per second (the cutoff itself, or a
    clock paused by an unanswered request), so from any cutoff b the sides meet, if ever, at
    b + |left(b) - right(b)|; this is evaluated at W and at every instant above.
    """
    kinds = _column_kinds(subject)
    exprs = list(expressions)
    columns = sorted(
        {e.name for x in exprs for e in _walk(x) if isinstance(e, Col) and kinds.get(e.name)}
    )
    breaks = [_instants_sql(c, kinds[c]) for c in columns]
    base = f"arrayConcat({', '.join(breaks)})" if breaks else _INSTANTS
    meets = sorted(
        {
            f"_b + abs(dateDiff('second', {compile_sql(_at(e.left, '_b'), {})}, "
            f"{compile_sql(_at(e.right, '_b'), {})}))"
            for x in exprs
            for e in _walk(x)
            if isinstance(e, Compare) and _moving(e, kinds)
        }
    )
    return base, meets


def _moving(compare: Compare, kinds: Mapping[str, str]) -> bool:
    """A comparison of two instants that may meet other than at an instant a column holds:
    not the cutoff against something fixed (that flips at the fixed instant, a breakpoint)."""
    left, right = compare.left, compare.right
    if not (_is_instant(left, kinds) and _is_instant(right, kinds) and _judged(compare)):
        return False
    return not ((left == CUTOFF and not _judged(right)) or (right == CUTOFF and not _judged(left)))


# --- Dossier sets: an interval of cutoffs per dossier ------------------------------------------


def _terms(expr: Expr) -> list[Expr]:
    if isinstance(expr, And) and _happened(expr) is None:
        return [t for term in expr.terms for t in _terms(term)]
    return [expr]


def _happened(term: Expr) -> Expr | None:
    """x of a `by_cutoff(x)` term (x known and x <= cutoff), else None."""
    if not (isinstance(term, And) and len(term.terms) == 2):
        return None
    known, by = term.terms
    if (
        isinstance(known, Not)
        and isinstance(known.term, IsNull)
        and isinstance(by, Compare)
        and by.op == "<="
        and by.right == CUTOFF
        and known.term.term == by.left
        and not _judged(by.left)
    ):
        return by.left
    return None


@dataclass(frozen=True)
class SetInterval:
    """A set condition as `since <= cutoff < until`: since the last of `since`, until the first
    of `until`, where `static` holds (what does not depend on the cutoff)."""

    since: tuple[Expr, ...]
    until: tuple[Expr, ...]
    static: tuple[Expr, ...]


def set_interval(condition: Expr) -> SetInterval:
    """The condition as an interval of cutoffs, or ValueError: it must be a conjunction of
    `by_cutoff(x)` (true from x on), `not by_cutoff(y)` (true until y) and terms free of the
    cutoff. Such a condition is true on one interval of cutoffs, so one (since, until) pair per
    dossier tells its membership at every cutoff."""
    since, until, static = [], [], []
    for term in _terms(condition):
        if (x := _happened(term)) is not None:
            since.append(x)
        elif isinstance(term, Not) and (y := _happened(term.term)) is not None:
            until.append(y)
        elif not _judged(term):
            static.append(term)
        else:
            raise ValueError(f"not an interval of cutoffs: {term.sql()}")
    if not since:
        raise ValueError("a set condition must start at an instant (by_cutoff)")
    return SetInterval(tuple(since), tuple(until), tuple(static))


def _set_entries_sql() -> str:
    """Per dossier row: (set, procedure, since, until) for each set it is ever in."""
    entries = []
    for name, condition in DOSSIER_SETS.items():
        shape = set_interval(condition)
        since = [compile_sql(x, {}) for x in shape.since]
        until = [compile_sql(y, {}) for y in shape.until]
        known = " AND ".join(f"{s} IS NOT NULL" for s in since)
        start = since[0] if len(since) == 1 else f"greatest({', '.join(since)})"
        if not until:
            end = "CAST(NULL, 'Nullable(DateTime(''UTC''))')"
        elif len(until) == 1:
            end = until[0]
        else:
            end = f"arrayMin(arrayFilter(_x -> _x IS NOT NULL, [{', '.join(until)}]))"
        static = " AND ".join(
            ["NOT is_deleted", known, *(compile_sql(t, {}) for t in shape.static)]
        )
        entries.append(
            f"if({static}, [({sql_literal(name)}, procedure, assumeNotNull({start}), {end})], [])"
        )
    tuples = f"Array({_SET_ENTRY})"
    return (
        f"arrayFilter(_e -> _e.4 IS NULL OR _e.4 > _e.3, "
        f"CAST(arrayConcat({', '.join(entries)}), {sql_literal(tuples)}))"
    )


def _split_set_entries_sql(entries: str) -> str:
    """SQL: a fact row's set entries split into those that never end (as keys (set,
    procedure) and their starts, for `minMap`) and those that end (`_ending`)."""
    never = f"arrayFilter(_e -> _e.4 IS NULL, {entries})"
    return (
        f"arrayMap(_e -> (_e.1, _e.2), {never}) AS _open_keys, "
        f"arrayMap(_e -> _e.3, {never}) AS _open_since, "
        f"arrayFilter(_e -> _e.4 IS NOT NULL, {entries}) AS _ending"
    )


def _merged_sets_sql(open_: str, ending: str) -> str:
    """SQL: a window's set entries, as few as reading them at any cutoff allows. Per (set,
    procedure) the earliest entry that never ends covers every entry that starts after it,
    so it stands for all of them; an entry that ends is kept unless it is so covered. The
    union of the intervals, all a reader asks of them (the procedure is in the set at C if
    some entry holds C), is unchanged."""
    covered = (
        f"indexOf({open_}.1, (_e.1, _e.2)) > 0 "
        f"AND {open_}.2[indexOf({open_}.1, (_e.1, _e.2))] <= _e.3"
    )
    never = (
        f"arrayMap((_k, _s) -> (_k.1, _k.2, _s, CAST(NULL, 'Nullable(DateTime(''UTC''))')), "
        f"{open_}.1, {open_}.2)"
    )
    return (
        f"CAST(arrayConcat({never}, arrayFilter(_e -> NOT ({covered}), {ending})), "
        f"{sql_literal(f'Array({_SET_ENTRY})')})"
    )


# --- Recomputing windows -----------------------------------------------------------------------


# Each kind of period a window keeps the end of: the SQL of its first day, and its months
_PERIOD_STARTS = {"month": "toStartOfMonth", "quarter": "toStartOfQuarter", "year": "toStartOfYear"}
_PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}
PERIOD_KINDS = tuple(_PERIOD_STARTS)


def _period_end_sql(kind: str) -> str:
    """The cutoff a past month/quarter/year of the row's day is judged at: its last second."""
    start, months = _PERIOD_STARTS[kind], _PERIOD_MONTHS[kind]
    return f"(toDateTime(addMonths({start}(day), {months}), {_TZ}) - 1)"


def _contributions(m: Measure, cutoffs: str) -> str:
    """A row's (denominator, numerator) contribution to a measure judged at each cutoff of
    an array; the denominator's expression once (the numerator's condition holds it too)."""
    counted = f"NOT is_deleted AND {compile_sql(_at(m.denominator, '_p'), {})}"
    value = compile_sql(_at(m.numerator, "_p"), {})
    if m.average:
        numerator = f"if(_in, ifNull(toFloat64({value}), 0), 0)"
    else:
        numerator = f"if(_in AND {value}, 1., 0.)"
    return (
        f"arrayMap((_p, _in) -> (toInt64(_in), {numerator}), {cutoffs}, "
        f"arrayMap(_p -> if({counted}, 1, 0) = 1, {cutoffs}))"
    )


WINDOW_COLUMNS = (
    "unit",
    "day",
    "subject",
    "version",
    "judged_at",
    "measure",
    "numerator",
    "denominator",
    *(f"{k}_{part}" for k in PERIOD_KINDS for part in ("numerator", "denominator")),
    "change_measure",
    "change_at",
    "change_numerator",
    "change_denominator",
    "set_name",
    "set_procedure",
    "set_since",
    "set_until",
)

# What a reader of tallies needs of a window row (not its dossier sets)
_READ_COLUMNS = tuple(
    c for c in WINDOW_COLUMNS if c not in ("subject", "version") and not c.startswith("set_")
)


def recompute_sql(
    subject: Subject,
    keys: Iterable[tuple[str, date]] | None,
    *,
    margin_seconds: int = 60,
    windows: WindowTables = WindowTables(),
) -> str:
    """The INSERT … SELECT that rewrites the window of each (unit, day) key of a subject from
    its fact rows (every key with None: a rebuild). Its version and W come from the server's
    clock, read once at the query's start: of two recomputes of a key, the one that starts
    later has the higher version and sees every fact row the earlier one saw."""
    measures = windowed_measures(subject)
    exprs = [e for m in measures for e in (m.denominator, m.numerator)]
    if subject is Subject.dossier:
        exprs += list(DOSSIER_SETS.values())
    where = ""
    if keys is not None:
        pairs = sorted(set(keys))
        if not pairs:
            raise ValueError("no key to recompute")
        where = "WHERE (unit, day) IN " + (
            "(" + ", ".join(f"({sql_literal(u)}, {sql_literal(d)})" for u, d in pairs) + ")"
        )
    # Each row's contribution to each measure at every cutoff that matters, in one array:
    # [W, its month's end, quarter's end, year's end, then each point after W]
    values = ", ".join(f"{_contributions(m, '_cuts')} AS _v{i}" for i, m in enumerate(measures))

    # summed at W and at the periods' ends: one array per part, (measure, cutoff) by measure
    width = len(PERIOD_KINDS) + 1

    def part_sums(part: int) -> str:
        each = ", ".join(
            f"arrayMap(_t -> _t.{part}, arraySlice(_v{i}, 1, {width}))"
            for i in range(len(measures))
        )
        return f"sumForEach(arrayConcat({each}))"

    def summed(index: int, part: int) -> str:
        sums = "_sums_num" if part == 2 else "_sums_den"
        return f"arrayMap(_i -> {sums}[_i * {width} + {index}], range({len(measures)}))"

    periods = []
    for j, kind in enumerate(PERIOD_KINDS, start=2):
        over = f"_{kind}_over"  # the period ended before W: judged at its end
        periods += [
            f"if({over}, {summed(j, 2)}, CAST([], 'Array(Float64)'))",
            f"if({over}, {summed(j, 1)}, CAST([], 'Array(Int64)'))",
        ]
    first = len(PERIOD_KINDS) + 2  # the first point after W in `_cuts`
    changes = ", ".join(
        f"arrayMap(_j -> ({i} * {_SECONDS} + toUInt64(toUInt32(_cuts[_j])), "
        f"_v{i}[_j].2 - _v{i}[if(_j = {first}, 1, _j - 1)].2, "
        f"_v{i}[_j].1 - _v{i}[if(_j = {first}, 1, _j - 1)].1), "
        f"range({first}, length(_cuts) + 1))"
        for i in range(len(measures))
    )
    keys_list = sql_literal([m.key for m in measures])
    sets = (
        _set_entries_sql()
        if subject is Subject.dossier
        else f"CAST([], {sql_literal(f'Array({_SET_ENTRY})')})"
    )
    period_ends = ", ".join(f"{_period_end_sql(k)} AS _{k}_end" for k in PERIOD_KINDS)
    breaks, meets = change_points(subject, exprs)
    roots = (
        f"CAST(arrayMap(_x -> assumeNotNull(_x), arrayFilter(_x -> _x IS NOT NULL, "
        f"arrayFlatten(arrayMap(_b -> [{', '.join(meets)}], arrayPushFront(_breaks, _w))))), "
        f"{sql_literal('Array(DateTime(' + chr(39) + 'UTC' + chr(39) + '))')})"
        if meets
        else _INSTANTS
    )
    points = (
        f"if(is_deleted, {_INSTANTS}, arraySort(arrayDistinct("
        f"arrayFilter(_x -> _x > _w, arrayConcat(_c, arrayMap(_x -> _x + 1, _c))))))"
    )
    ends = ", ".join(f"_{k}_end" for k in PERIOD_KINDS)
    changed = f"arrayFilter(_c -> _c.2 != 0 OR _c.3 != 0, arrayConcat({changes}))"
    kinds = _column_kinds(subject)
    read = {"unit", "day", "is_deleted", "procedure" if subject is Subject.dossier else "unit"}
    read |= {e.name for x in exprs for e in _walk(x) if isinstance(e, Col) and e.name in kinds}
    # in layers: an alias in the SELECT that defines it would be inlined at each use
    rows = f"SELECT {', '.join(sorted(read))}, toDateTime(now() - {int(margin_seconds)}) AS _w"
    rows += f" FROM {windows.by_day(subject)} FINAL {where}"
    for layer in (
        f"{period_ends}, {breaks} AS _breaks",
        f"arrayConcat(_breaks, {roots}) AS _c",
        f"arrayConcat([_w, {ends}], {points}) AS _cuts",
        values,
        f"{changed} AS _changes, {sets} AS _set_entries",
        _split_set_entries_sql("_set_entries"),
    ):
        rows = f"SELECT *, {layer} FROM ({rows})"
    overs = ", ".join(f"any(_{k}_end) < any(_w) AS _{k}_over" for k in PERIOD_KINDS)
    grouped = (
        f"SELECT unit, day, any(_w) AS _judged, {part_sums(2)} AS _sums_num, "
        f"{part_sums(1)} AS _sums_den, {overs}, "
        # summed per (measure, instant): a change that nets to zero is dropped
        f"sumMap(arrayMap(_c -> _c.1, _changes), arrayMap(_c -> _c.2, _changes), "
        f"arrayMap(_c -> _c.3, _changes)) AS _sums, "
        f"minMap(_open_keys, _open_since) AS _open, "
        f"arrayDistinct(groupArrayArray(_ending)) AS _endings\n"
        f"FROM ({rows})\n"
        f"GROUP BY unit, day"
    )
    tallies = [summed(1, 2), summed(1, 1), *periods]
    return _window_rows_sql(windows.windows, subject, "day", tallies, keys_list, grouped)


def _window_rows_sql(
    table: str, subject: Subject, day: str, tallies: Sequence[str], keys_list: str, grouped: str
) -> str:
    """The INSERT of window rows into `table` from `grouped`: one row per (unit, `day`) with
    `_judged`, `tallies` (the eight arrays from `numerator` to `year_denominator`), the changes
    summed in `_sums` and the set entries in `_open` and `_endings`."""
    grouped = f"SELECT *, {_merged_sets_sql('_open', '_endings')} AS _sets FROM ({grouped})"
    return (
        f"INSERT INTO {table} ({', '.join(WINDOW_COLUMNS)})\n"
        f"SELECT unit, {day}, {sql_literal(subject.value)}, toUnixTimestamp64Micro(now64(6)), "
        f"_judged, {keys_list}, {', '.join(tallies)}, "
        f"arrayMap(_k -> arrayElement({keys_list}, intDiv(_k, {_SECONDS}) + 1), _sums.1), "
        f"arrayMap(_k -> toDateTime64(_k % {_SECONDS}, 3, 'UTC'), _sums.1), _sums.2, _sums.3, "
        f"arrayMap(_e -> _e.1, _sets), arrayMap(_e -> _e.2, _sets), "
        f"arrayMap(_e -> _e.3, _sets), arrayMap(_e -> _e.4, _sets)\n"
        f"FROM ({grouped})"
    )


# --- Month rows: the day windows summed -------------------------------------------------------


def _aligned(column: str) -> str:
    """SQL: a day row's array of `column` in the order of `_keys` (0 where it lacks one)."""
    return f"arrayMap(_i -> if(_i = 0, 0, {column}[_i]), _idx)"


def _at_instant(instant: str, part: str) -> str:
    """SQL: a day row's tallies (`part` numerator or denominator, in the order of `_keys`)
    judged at an instant at or after its W: its tallies at W plus its changes up to then."""
    return (
        f"arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> "
        f"if(_cm = _k AND _ca <= {instant}, _cv, 0), change_measure, change_at, change_{part})), "
        f"_keys, {_aligned(part)})"
    )


def _judged_at_end(kind: str, part: str) -> str:
    """SQL: a day row's tallies at the end of its `kind` of period (before the month row's
    judged_at): the tallies it keeps for that end if the end is before its own W, else judged
    at the end from its changes."""
    end = f"_{kind}_end"
    kept = _aligned(f"{kind}_{part}")
    return f"if({end} < _j, if({end} < judged_at, {kept}, {_at_instant(end, part)}), [])"


def rollup_sql(
    subject: Subject,
    months: Iterable[tuple[str, date]] | None,
    *,
    windows: WindowTables = WindowTables(),
) -> str:
    """The INSERT … SELECT that rewrites the month row of each (unit, first day of a month)
    of a subject from its day rows (every month with None: a rebuild), so that a reader of
    whole months reads a row per month instead of one per day.

    A month row answers what its day rows answer together. It is judged at the latest of
    their W (`_j`): at or after it every day row answers, with its tallies at its own W plus
    its changes up to then; its changes are theirs after `_j`, summed per (measure, instant);
    it keeps the tallies at the end of its month, quarter and year once that end is before
    `_j`, each day's judged at that end; its dossier sets are the union of theirs. Measures
    are matched by key, so day rows of an older measure list add what they have. Its version
    comes from the server's clock as in `recompute_sql`: of two roll-ups of a month, the one
    that starts later sees every day row the earlier one saw."""
    keys_list = sql_literal([m.key for m in windowed_measures(subject)])
    where = [f"subject = {sql_literal(subject.value)}"]
    if months is not None:
        pairs = sorted(set(months))
        if not pairs:
            raise ValueError("no month to roll up")
        firsts = [d for _, d in pairs]
        where += [
            f"unit IN {sql_literal({u for u, _ in pairs})}",
            f"day >= {sql_literal(min(firsts))}",
            f"day < addMonths({sql_literal(max(firsts))}, 1)",
            "(unit, toStartOfMonth(day)) IN ("
            + ", ".join(f"({sql_literal(u)}, {sql_literal(d)})" for u, d in pairs)
            + ")",
        ]
    period_ends = ", ".join(f"{_period_end_sql(k)} AS _{k}_end" for k in PERIOD_KINDS)
    ends = ", ".join(
        f"{_judged_at_end(k, part)} AS _{k}_{part}"
        for k in PERIOD_KINDS
        for part in ("numerator", "denominator")
    )
    # the eight tallies of a window row, `numerator` to `year_denominator`, as computed here
    tallies = [
        "_n",
        "_d",
        *(f"_{k}_{p}" for k in PERIOD_KINDS for p in ("numerator", "denominator")),
    ]
    entries = (
        f"CAST(arrayMap((_n, _p, _s, _u) -> (_n, _p, _s, _u), set_name, set_procedure, "
        f"set_since, set_until), {sql_literal(f'Array({_SET_ENTRY})')})"
    )
    # (measure's place in _keys, instant, numerator, denominator): those after _j
    later = (
        "arrayFilter(_c -> _c.1 > 0 AND _c.2 > _j, arrayMap((_cm, _ca, _cn, _cd) -> "
        "(indexOf(_keys, _cm), _ca, _cn, _cd), change_measure, change_at, change_numerator, "
        "change_denominator))"
    )
    rows = f"SELECT *, toStartOfMonth(day) AS _month FROM {windows.windows} FINAL"
    rows += f" WHERE {' AND '.join(where)}"
    for layer in (
        f"max(judged_at) OVER (PARTITION BY unit, _month) AS _j, {keys_list} AS _keys, "
        f"arrayMap(_k -> indexOf(measure, _k), _keys) AS _idx, {period_ends}",
        f"{_at_instant('_j', 'numerator')} AS _n, {_at_instant('_j', 'denominator')} AS _d, "
        f"{ends}, {later} AS _later, {entries} AS _set_entries",
        _split_set_entries_sql("_set_entries"),
    ):
        rows = f"SELECT *, {layer} FROM ({rows})"
    sums = ", ".join(f"sumForEach({column}) AS {column}" for column in tallies)
    grouped = (
        f"SELECT unit, _month, any(_j) AS _judged, {sums}, "
        f"sumMap(arrayMap(_c -> toUInt64(_c.1 - 1) * {_SECONDS} + "
        f"toUInt64(toUInt32(toDateTime(_c.2))), _later), arrayMap(_c -> _c.3, _later), "
        f"arrayMap(_c -> _c.4, _later)) AS _sums, "
        f"minMap(_open_keys, _open_since) AS _open, "
        f"arrayDistinct(groupArrayArray(_ending)) AS _endings\n"
        f"FROM ({rows})\nGROUP BY unit, _month"
    )
    return _window_rows_sql(windows.months, subject, "_month", tallies, keys_list, grouped)


# --- Reading windows at a cutoff ---------------------------------------------------------------


def ended_periods(cutoff: datetime) -> dict[str, date]:
    """The kinds of period (month, quarter, year) that end at the cutoff's second, each with
    the first day of the one that ends there."""
    after = (cutoff + timedelta(seconds=1)).astimezone(VN_TZ)
    if after.time() != time() or after.day != 1:
        return {}
    next_day = after.date()
    return {
        kind: _add_month(next_day, -n)
        for kind, n in _PERIOD_MONTHS.items()
        if next_day.month % n == 1 % n
    }


def _answered_sql(span: DaySpan) -> str:
    """A window row at the span's cutoff `_cut`: its mode (0 judged at or after W, 1-3 at the
    end of its month, quarter or year, -1 when the row cannot tell: any other past instant)
    and its tallies in that mode (`_n`, `_d`; in mode 0 the tallies at W, to which the changes
    up to the cutoff are added). For a literal span only the periods that end at its cutoff
    are asked about."""
    if span.values is None:
        ends = {
            kind: f"_cut = {_period_end_sql(kind)} AND notEmpty({kind}_numerator)"
            for kind in PERIOD_KINDS
        }
    else:
        ends = {
            kind: f"{_PERIOD_STARTS[kind]}(day) = {sql_literal(first)} "
            f"AND notEmpty({kind}_numerator)"
            for kind, first in ended_periods(span.values[2]).items()
        }
    modes = [(i, kind) for i, kind in enumerate(PERIOD_KINDS, start=1) if kind in ends]
    mode = "multiIf(_cut >= judged_at, 0, " + "".join(f"{ends[k]}, {i}, " for i, k in modes) + "-1)"

    def tallied(part: str) -> str:
        branches = "".join(f"_mode = {i}, {kind}_{part}, " for i, kind in modes)
        zero = "0." if part == "numerator" else "0"
        return f"multiIf(_mode = 0, {part}, {branches}arrayMap(_m -> {zero}, measure))"

    return f"{mode} AS _mode, {tallied('numerator')} AS _n, {tallied('denominator')} AS _d"


def _span_rows_sql(
    span: DaySpan, where: Sequence[str], columns: Sequence[str], windows: WindowTables
) -> str:
    """SQL: the `columns` of the window rows that cover the span's days and meet `where`: the
    month row of each month wholly in the span, the day rows of the days outside those."""
    chosen = ", ".join(columns)
    days, months = span.partial_days(), span.whole_months()
    parts = []
    if days is not None:
        parts.append(
            f"SELECT {chosen} FROM {windows.windows} FINAL WHERE {' AND '.join([days, *where])}"
        )
    if months is not None:
        parts.append(
            f"SELECT {chosen} FROM {windows.months} FINAL WHERE {' AND '.join([*months, *where])}"
        )
    if not parts:  # an empty span
        parts.append(f"SELECT {chosen} FROM {windows.windows} WHERE false")
    return "\nUNION ALL\n".join(parts)


def window_tallies_sql(
    measures: Sequence[Measure],
    span: DaySpan,
    *,
    units: str | None = None,
    windows: WindowTables = WindowTables(),
) -> str:
    """Rows (unit, measure, numerator, denominator) of the windowed measures per unit the
    rows were written under (a leaf, not a subtree), over the span's days judged at its
    cutoff; `units`, if given, an SQL tuple for `unit IN …`. A numerator and
    denominator are NULL where some window row of the unit cannot answer at that cutoff
    (an instant in the past other than the end of a month, quarter or year): read the facts."""
    kept = [m for m in measures if windowed(m)]
    if not kept:
        raise ValueError("none of the measures is kept in the windows")
    where = [] if units is None else [f"unit IN {units}"]
    subjects = sql_literal(sorted({m.subject.value for m in kept}))
    where.append(f"has({subjects}, subject)")
    rows = (
        f"SELECT *, {span.cutoff} AS _cut FROM "
        f"({_span_rows_sql(span, where, _READ_COLUMNS, windows)})"
    )
    # summed per unit and measure list (rows written by one version of the code share it)
    per_unit = (
        f"SELECT unit, measure, min(_mode) >= 0 AS _ok, sumForEach(_n) AS _ns, "
        f"sumForEach(_d) AS _ds FROM (SELECT unit, measure, {_answered_sql(span)} FROM ({rows})) "
        "GROUP BY unit, measure"
    )
    tallied = (
        f"SELECT unit, _m AS measure, _ok, _n1 AS _n, _d1 AS _d FROM ({per_unit}) "
        "ARRAY JOIN measure AS _m, _ns AS _n1, _ds AS _d1"
    )
    # Every change is after W: a cutoff before W (a period's end) keeps none of them.
    changed = (
        f"SELECT unit, _cm AS measure, toUInt8(1) AS _ok, sum(_cn) AS _n, sum(_cd) AS _d "
        f"FROM ({rows}) ARRAY JOIN change_measure AS _cm, change_at AS _ca, "
        "change_numerator AS _cn, change_denominator AS _cd WHERE _ca <= _cut GROUP BY unit, _cm"
    )
    return (
        "SELECT unit, measure,\n"
        "  if(min(_ok), sum(_n), NULL) AS numerator, if(min(_ok), sum(_d), NULL) AS denominator\n"
        f"FROM ({tallied}\nUNION ALL\n{changed})\n"
        f"WHERE has({sql_literal([m.key for m in kept])}, measure)\n"
        "GROUP BY unit, measure"
    )


def window_set_rows_sql(
    name: str,
    span: DaySpan,
    *,
    units: str | None = None,
    windows: WindowTables = WindowTables(),
) -> str:
    """Rows (unit, procedure) of a dossier set over the span's days at its cutoff: exact at
    any cutoff (each entry holds the interval of cutoffs its dossier is in the set)."""
    where = [f"subject = {sql_literal(Subject.dossier.value)}"]
    if units is not None:
        where.append(f"unit IN {units}")
    columns = ("unit", "set_name", "set_procedure", "set_since", "set_until")
    return (
        f"SELECT DISTINCT unit, _p AS procedure FROM "
        f"({_span_rows_sql(span, where, columns, windows)})\n"
        "ARRAY JOIN set_name AS _n, set_procedure AS _p, set_since AS _s, set_until AS _u\n"
        f"WHERE _n = {sql_literal(name)} AND _s <= {span.cutoff} "
        f"AND (_u IS NULL OR _u > {span.cutoff})"
    )


def whole_days(period: Period) -> tuple[date, date]:
    """The local days [first, end) of a period made of whole days, or ValueError."""
    if any(t.astimezone(VN_TZ).time() != time() for t in (period.start, period.end)):
        raise ValueError(f"period {period.label!r} does not start and end at local midnight")
    return period.start_date, period.end_date


@dataclass(frozen=True)
class WindowQuery(GroupedQuery):
    """A grouped query read from the windows: its rows are `window_tallies_sql`'s, one per
    (unit, measure); `wide` makes them `rollup`'s, one per unit (None where unanswered). Its
    measures may be of both windowed subjects (both are summed per unit); `subject` is the
    first one's."""

    def wide(self, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        zeros = {f"{m.key}__{p}": 0 for m in self.measures for p in ("num", "den")}
        by_unit: dict[str, dict[str, Any]] = {}
        for row in rows:
            unit = row["unit"]
            wide = by_unit.get(unit)
            if wide is None:
                wide = by_unit[unit] = {SCOPE_KEY: unit, **zeros}
            wide[f"{row['measure']}__num"] = row["numerator"]
            wide[f"{row['measure']}__den"] = row["denominator"]
        return list(by_unit.values())


def windows_grouped_sql(
    measures: Iterable[Measure],
    scopes: Mapping[str, Scope],
    windows: WindowTables = WindowTables(),
    tables: TableNames = FACT_TABLES,
) -> list[GroupedQuery]:
    """Like `grouped_sql` for every subject: the windowed measures in one query read from the
    windows at the scopes' cutoff (a `WindowQuery`: widen its rows before `rollup`; a
    `<key>__num` is None where the windows cannot answer, see `window_tallies_sql`), the rest
    counted from the facts with the dossier sets from the windows' sets."""
    chosen = list(measures)
    if not chosen or not scopes:
        return []
    everywhere = union_scope(scopes)
    first, end = whole_days(everywhere.period)
    span = DaySpan.literal(first, end, everywhere.cutoff)
    units = sql_literal(everywhere.units)
    kept = tuple(m for m in chosen if windowed(m))
    queries: list[GroupedQuery] = []
    if kept:
        sql = window_tallies_sql(kept, span, units=units, windows=windows)
        queries.append(WindowQuery(kept[0].subject, kept, True, sql))
    set_rows = {
        name: window_set_rows_sql(name, span, units=units, windows=windows) for name in DOSSIER_SETS
    }
    for subject in Subject:
        rest = [m for m in chosen if m.subject is subject and not windowed(m)]
        queries += grouped_sql(subject, rest, scopes, tables, set_rows)
    return queries
