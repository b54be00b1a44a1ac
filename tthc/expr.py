"""A small expression language over fact rows that runs in Python and compiles to ClickHouse SQL.

Each indicator's numerator and denominator is written once, as an expression; the reference
computation evaluates it over fact rows in Python, the aggregator and API compile it to SQL.
The two cannot drift apart, and tests check that they agree on real ClickHouse.

Python evaluation follows SQL's three-valued logic: a comparison with NULL (None) is unknown,
unknown is neither true nor false under NOT, and a row is counted only where a condition is true.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

Row = Mapping[str, Any]
Env = Mapping[str, Any]  # values of the variables: the cutoff instant, the subtree's levels, ...


class Expr:
    def sql(self) -> str:
        raise NotImplementedError

    def eval(self, row: Row, env: Env) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Col(Expr):
    name: str

    def sql(self) -> str:
        return self.name

    def eval(self, row: Row, env: Env) -> Any:
        return row[self.name]


@dataclass(frozen=True)
class Lit(Expr):
    value: Any

    def sql(self) -> str:
        return sql_literal(self.value)

    def eval(self, row: Row, env: Env) -> Any:
        return self.value


@dataclass(frozen=True)
class Var(Expr):
    """A value given at evaluation time (the cutoff instant, the subtree's levels)."""

    name: str

    def sql(self) -> str:
        return "{" + self.name + "}"  # filled in by compile_sql

    def eval(self, row: Row, env: Env) -> Any:
        return env[self.name]


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class Compare(Expr):
    op: str
    left: Expr
    right: Expr

    def sql(self) -> str:
        return f"({self.left.sql()} {self.op} {self.right.sql()})"

    def eval(self, row: Row, env: Env) -> bool | None:
        a, b = self.left.eval(row, env), self.right.eval(row, env)
        if a is None or b is None:
            return None
        return _COMPARE[self.op](a, b)


@dataclass(frozen=True)
class And(Expr):
    terms: tuple[Expr, ...]

    def sql(self) -> str:
        return "(" + " AND ".join(t.sql() for t in self.terms) + ")"

    def eval(self, row: Row, env: Env) -> bool | None:
        unknown = False
        for term in self.terms:
            value = term.eval(row, env)
            if value is None:
                unknown = True
            elif not value:
                return False
        return None if unknown else True


@dataclass(frozen=True)
class Or(Expr):
    terms: tuple[Expr, ...]

    def sql(self) -> str:
        return "(" + " OR ".join(t.sql() for t in self.terms) + ")"

    def eval(self, row: Row, env: Env) -> bool | None:
        unknown = False
        for term in self.terms:
            value = term.eval(row, env)
            if value is None:
                unknown = True
            elif value:
                return True
        return None if unknown else False


@dataclass(frozen=True)
class Not(Expr):
    term: Expr

    def sql(self) -> str:
        return f"(NOT {self.term.sql()})"

    def eval(self, row: Row, env: Env) -> bool | None:
        value = self.term.eval(row, env)
        return None if value is None else not value


@dataclass(frozen=True)
class IsNull(Expr):
    term: Expr

    def sql(self) -> str:
        return f"({self.term.sql()} IS NULL)"

    def eval(self, row: Row, env: Env) -> bool:
        return self.term.eval(row, env) is None


@dataclass(frozen=True)
class If(Expr):
    """`value` where `condition` is true, else NULL."""

    condition: Expr
    value: Expr

    def sql(self) -> str:
        return f"if({self.condition.sql()}, {self.value.sql()}, NULL)"

    def eval(self, row: Row, env: Env) -> Any:
        return self.value.eval(row, env) if self.condition.eval(row, env) else None


@dataclass(frozen=True)
class AddSeconds(Expr):
    instant: Expr
    seconds: Expr

    def sql(self) -> str:
        return f"addSeconds({self.instant.sql()}, {self.seconds.sql()})"

    def eval(self, row: Row, env: Env) -> datetime | None:
        t, s = self.instant.eval(row, env), self.seconds.eval(row, env)
        return None if t is None or s is None else t + timedelta(seconds=s)


@dataclass(frozen=True)
class SecondsBetween(Expr):
    start: Expr
    end: Expr

    def sql(self) -> str:
        return f"dateDiff('second', {self.start.sql()}, {self.end.sql()})"

    def eval(self, row: Row, env: Env) -> int | None:
        a, b = self.start.eval(row, env), self.end.eval(row, env)
        return None if a is None or b is None else int((b - a).total_seconds())


@dataclass(frozen=True)
class Minus(Expr):
    left: Expr
    right: Expr

    def sql(self) -> str:
        return f"({self.left.sql()} - {self.right.sql()})"

    def eval(self, row: Row, env: Env) -> Any:
        a, b = self.left.eval(row, env), self.right.eval(row, env)
        return None if a is None or b is None else a - b


@dataclass(frozen=True)
class Coalesce(Expr):
    """The first of the terms that is not NULL."""

    terms: tuple[Expr, ...]

    def sql(self) -> str:
        return "coalesce(" + ", ".join(t.sql() for t in self.terms) + ")"

    def eval(self, row: Row, env: Env) -> Any:
        return next((v for t in self.terms if (v := t.eval(row, env)) is not None), None)


@dataclass(frozen=True)
class Least(Expr):
    left: Expr
    right: Expr

    def sql(self) -> str:
        return f"least({self.left.sql()}, {self.right.sql()})"

    def eval(self, row: Row, env: Env) -> Any:
        a, b = self.left.eval(row, env), self.right.eval(row, env)
        return None if a is None or b is None else min(a, b)


@dataclass(frozen=True)
class Greatest(Expr):
    left: Expr
    right: Expr

    def sql(self) -> str:
        return f"greatest({self.left.sql()}, {self.right.sql()})"

    def eval(self, row: Row, env: Env) -> Any:
        a, b = self.left.eval(row, env), self.right.eval(row, env)
        return None if a is None or b is None else max(a, b)


# Arrays of instants: what a fact row knows of when each thing happened, so that a measure can
# judge it as it was at any cutoff. Lambda parameters start with `_` to never shadow a column.


@dataclass(frozen=True)
class Element(Expr):
    """The array's `index`-th element (from 1), NULL past its end."""

    array: Expr
    index: int

    def sql(self) -> str:
        a = self.array.sql()
        return f"if(length({a}) >= {self.index}, arrayElement({a}, {self.index}), NULL)"

    def eval(self, row: Row, env: Env) -> Any:
        values = self.array.eval(row, env)
        return values[self.index - 1] if len(values) >= self.index else None


@dataclass(frozen=True)
class CountUpTo(Expr):
    """How many instants of the array are at or before `at`."""

    times: Expr
    at: Expr

    def sql(self) -> str:
        return f"arrayCount(_t -> _t <= {self.at.sql()}, {self.times.sql()})"

    def eval(self, row: Row, env: Env) -> int:
        at = self.at.eval(row, env)
        return sum(1 for t in self.times.eval(row, env) if t <= at)


@dataclass(frozen=True)
class AsOf(Expr):
    """A value that changed over time, as it was at `at`: `values[i]` of the last `times[i]`
    at or before it (times in the order they happened), NULL before the first."""

    times: Expr
    values: Expr
    at: Expr

    def sql(self) -> str:
        index = f"arrayLastIndex(_t -> _t <= {self.at.sql()}, {self.times.sql()})"
        return f"if({index} = 0, NULL, arrayElement({self.values.sql()}, {index}))"

    def eval(self, row: Row, env: Env) -> Any:
        at = self.at.eval(row, env)
        found = None
        for t, value in zip(self.times.eval(row, env), self.values.eval(row, env), strict=True):
            if t <= at:
                found = value
        return found


@dataclass(frozen=True)
class ClosedSeconds(Expr):
    """The seconds of the intervals [starts[i], ends[i]] whose end is known by `at`, each
    clipped to end by `until` (none shorter than 0)."""

    starts: Expr
    ends: Expr
    until: Expr
    at: Expr

    def sql(self) -> str:
        until, at = self.until.sql(), self.at.sql()
        return (
            f"arraySum((_s, _e) -> if(_e IS NOT NULL AND _e <= {at}, "
            f"ifNull(greatest(0, dateDiff('second', _s, least(_e, {until}))), 0), 0), "
            f"{self.starts.sql()}, {self.ends.sql()})"
        )

    def eval(self, row: Row, env: Env) -> int | None:
        until, at = self.until.eval(row, env), self.at.eval(row, env)
        if until is None:
            return None
        starts, ends = self.starts.eval(row, env), self.ends.eval(row, env)
        return sum(
            max(0, int((min(e, until) - s).total_seconds()))
            for s, e in zip(starts, ends, strict=True)
            if e is not None and e <= at
        )


@dataclass(frozen=True)
class HasAny(Expr):
    """The array column shares an element with the given list."""

    array: Expr
    values: Expr

    def sql(self) -> str:
        return f"hasAny({self.array.sql()}, {self.values.sql()})"

    def eval(self, row: Row, env: Env) -> bool:
        return bool(set(self.array.eval(row, env)) & set(self.values.eval(row, env)))


@dataclass(frozen=True)
class In(Expr):
    """The value is in a set given at evaluation time (a subquery in SQL)."""

    term: Expr
    set_name: str

    def sql(self) -> str:
        return f"({self.term.sql()} IN ({{{self.set_name}}}))"

    def eval(self, row: Row, env: Env) -> bool | None:
        value = self.term.eval(row, env)
        return None if value is None else value in env[self.set_name]


# --- Constructors that read like the definitions ----------------------------------------------


def col(name: str) -> Col:
    return Col(name)


def lit(value: Any) -> Lit:
    return Lit(value)


def eq(a: Expr, b: Expr) -> Compare:
    return Compare("=", a, b)


def ne(a: Expr, b: Expr) -> Compare:
    return Compare("!=", a, b)


def lt(a: Expr, b: Expr) -> Compare:
    return Compare("<", a, b)


def le(a: Expr, b: Expr) -> Compare:
    return Compare("<=", a, b)


def gt(a: Expr, b: Expr) -> Compare:
    return Compare(">", a, b)


def all_of(*terms: Expr) -> Expr:
    return terms[0] if len(terms) == 1 else And(terms)


def any_of(*terms: Expr) -> Expr:
    return terms[0] if len(terms) == 1 else Or(terms)


def not_(term: Expr) -> Not:
    return Not(term)


def is_null(term: Expr) -> IsNull:
    return IsNull(term)


def not_null(term: Expr) -> Not:
    return Not(IsNull(term))


def truthy(value: Any) -> bool:
    """Whether a row is counted: only a condition that is true, never an unknown one."""
    return value is True or (value is not None and value is not False and bool(value))


# --- SQL literals -------------------------------------------------------------------------------


def sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        utc = value.astimezone(UTC).replace(tzinfo=None, microsecond=0)
        return f"toDateTime('{utc.isoformat(sep=' ')}', 'UTC')"
    if isinstance(value, date):
        return f"toDate('{value.isoformat()}')"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, set | frozenset):  # a set is a tuple, for IN
        return "(" + (", ".join(sql_literal(v) for v in sorted(value)) or "NULL") + ")"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(sql_literal(v) for v in value) + "]"
    raise TypeError(f"no SQL literal for {value!r}")


def compile_sql(expr: Expr, env: Env) -> str:
    """SQL text of an expression with its variables filled in; a set-valued variable that names
    a subquery (a str starting with SELECT) is placed as is."""
    text = expr.sql()
    for name, value in env.items():
        placeholder = "{" + name + "}"
        if placeholder in text:
            is_query = isinstance(value, str) and value.lstrip().upper().startswith("SELECT")
            text = text.replace(placeholder, value if is_query else sql_literal(value))
    if "{" in text and "}" in text.split("{", 1)[1]:
        missing = text.split("{", 1)[1].split("}", 1)[0]
        raise KeyError(f"no value for the variable {missing!r}")
    return text
