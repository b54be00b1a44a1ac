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
