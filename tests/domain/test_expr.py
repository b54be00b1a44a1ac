"""The expression language agrees with SQL's three-valued logic and compiles to SQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tthc import expr as ex


def test_comparisons_with_null_are_unknown_and_not_unknown_stays_unknown():
    row = {"x": None, "y": 3}
    unknown = ex.le(ex.col("x"), ex.lit(5))
    assert unknown.eval(row, {}) is None
    assert ex.not_(unknown).eval(row, {}) is None
    assert ex.truthy(ex.not_(unknown).eval(row, {})) is False
    assert ex.all_of(unknown, ex.lit(False)).eval(row, {}) is False
    assert ex.any_of(unknown, ex.lit(True)).eval(row, {}) is True
    assert ex.is_null(ex.col("x")).eval(row, {}) is True


def test_variables_and_literals_compile_to_clickhouse_sql():
    cutoff = datetime(2024, 5, 31, 16, 59, 59, tzinfo=UTC)
    expr = ex.all_of(
        ex.le(ex.col("ended_at"), ex.Var("cutoff")), ex.eq(ex.col("channel"), ex.lit(2))
    )
    assert ex.compile_sql(expr, {"cutoff": cutoff}) == (
        "((ended_at <= toDateTime('2024-05-31 16:59:59', 'UTC')) AND (channel = 2))"
    )
    with pytest.raises(KeyError, match="cutoff"):
        ex.compile_sql(expr, {})


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
    assert ex.sql_literal(value) == sql
