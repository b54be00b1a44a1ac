"""The expression language agrees with SQL's three-valued logic and compiles to SQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tthc.expr import (
    Var,
    all_of,
    any_of,
    col,
    compile_sql,
    eq,
    is_null,
    le,
    lit,
    not_,
    sql_literal,
    truthy,
)


def test_comparisons_with_null_are_unknown_and_not_unknown_stays_unknown():
    row = {"x": None, "y": 3}
    unknown = le(col("x"), lit(5))
    assert unknown.eval(row, {}) is None
    assert not_(unknown).eval(row, {}) is None
    assert truthy(not_(unknown).eval(row, {})) is False
    assert all_of(unknown, lit(False)).eval(row, {}) is False
    assert any_of(unknown, lit(True)).eval(row, {}) is True
    assert is_null(col("x")).eval(row, {}) is True


def test_variables_and_literals_compile_to_clickhouse_sql():
    cutoff = datetime(2024, 5, 31, 16, 59, 59, tzinfo=UTC)
    expr = all_of(le(col("ended_at"), Var("cutoff")), eq(col("channel"), lit(2)))
    assert compile_sql(expr, {"cutoff": cutoff}) == (
        "((ended_at <= toDateTime('2024-05-31 16:59:59', 'UTC')) AND (channel = 2))"
    )
    with pytest.raises(KeyError, match="cutoff"):
        compile_sql(expr, {})


@pytest.mark.parametrize(
    ("value", "sql"),
    [
        (None, "NULL"),
        (True, "true"),
        ("it's", "'it\\'s'"),
        (date(2024, 5, 1), "toDate('2024-05-01')"),
        (frozenset({"b", "a"}), "('a', 'b')"),
        (frozenset(), "(NULL)"),
        (["x"], "['x']"),
    ],
)
def test_sql_literals(value, sql):
    assert sql_literal(value) == sql
