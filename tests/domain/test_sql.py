"""Queries are values rendered once, and a measure's period is placed by its column's type."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from tthc.expr import lit
from tthc.facts import ColumnType, Scalar, Subject, column_type_of
from tthc.measures import COUNTED, MEASURES, Measure, Scope, in_scope, scope_sql
from tthc.periods import parse_period
from tthc.sql import Select, settings_clause


def test_a_select_renders_its_clauses_in_order_and_leaves_out_empty_ones():
    select = Select(
        ("unit", "count() AS n"),
        "dossier_facts FINAL",
        where="unit IN ('U1')",
        group_by=("unit",),
        settings=(("join_use_nulls", 1),),
    )
    assert str(select) == (
        "SELECT\n  unit,\n  count() AS n\nFROM dossier_facts FINAL\nWHERE unit IN ('U1')\n"
        "GROUP BY unit\nSETTINGS join_use_nulls = 1"
    )
    assert str(Select(("1",), "t")) == "SELECT\n  1\nFROM t"
    assert Select(("*",), "t").subquery("f") == "(SELECT\n  *\nFROM t) AS f"
    with pytest.raises(ValueError, match="at least one column"):
        Select((), "t")


def test_a_variant_of_a_query_keeps_its_settings_last():
    one_row = Select(("count() AS n",), "(SELECT 1) AS c", settings=(("join_use_nulls", 1),))
    keyed = replace(one_row, columns=("code AS _key", *one_row.columns), group_by=("_key",))
    assert str(keyed).endswith("\nGROUP BY _key\nSETTINGS join_use_nulls = 1")
    assert settings_clause(()) == ""
    assert settings_clause((("a", 1), ("b", 2))) == "\nSETTINGS a = 1, b = 2"


def test_fact_columns_have_their_declared_types():
    assert column_type_of(Subject.procedure, "first_announced_on") == ColumnType(
        Scalar.day, nullable=True
    )
    assert column_type_of(Subject.dossier, "received_at") == ColumnType(Scalar.instant)
    assert column_type_of(Subject.dossier, "supplement_answered_at") == ColumnType(
        Scalar.instant, nullable=True, array=True
    )
    assert column_type_of(Subject.procedure, "authority_levels") == ColumnType(
        Scalar.text, array=True
    )
    with pytest.raises(KeyError, match="no column 'received_on'"):
        column_type_of(Subject.dossier, "received_on")


def test_a_measure_is_placed_in_a_period_by_an_instant_or_a_day():
    for column in ("channel", "due_values", "no_such_column"):
        with pytest.raises((ValueError, KeyError)):
            Measure("m", Subject.dossier, COUNTED, lit(True), column, counts="x", out_of="y")


def test_a_period_bounds_a_day_column_by_days_and_an_instant_column_by_instants():
    may = parse_period("2024-05")
    scope = Scope(frozenset({"U"}), (), frozenset(), may, datetime(2024, 6, 1, tzinfo=UTC))
    by_day = MEASURES["procedures_announced_on_time"]  # first_announced_on, a day
    by_instant = MEASURES["dossiers_on_time"]  # received_at, an instant
    assert "first_announced_on >= toDate('2024-05-01') AND first_announced_on < toDate(" in (
        scope_sql(by_day, scope)
    )
    assert "received_at >= toDateTime('2024-04-30 17:00:00', 'UTC')" in scope_sql(by_instant, scope)
    # in Python too: the last day of May is in May, though its midnight in UTC is not
    last_day = {"announcing_unit": "U", "first_announced_on": date(2024, 5, 31)}
    assert in_scope(by_day, last_day, scope)
    assert not in_scope(by_day, {**last_day, "first_announced_on": may.end_date}, scope)
    late_evening = {"unit": "U", "received_at": datetime(2024, 5, 31, 16, 59, 59, tzinfo=UTC)}
    assert in_scope(by_instant, late_evening, scope)
    assert not in_scope(by_instant, {**late_evening, "received_at": may.end}, scope)
