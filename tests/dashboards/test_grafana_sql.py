"""The expander behaves as the ClickHouse plugin documents its macros and as Grafana formats
variables (the examples below are the plugin's own: from 1415792726 to 1447328726)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.dashboards.grafana_sql import Expander, ExpansionError, Variable

FROM = datetime.fromtimestamp(1415792726, UTC)
TO = datetime.fromtimestamp(1447328726, UTC)


def expand(sql: str, **variables: Variable) -> str:
    return Expander(variables, FROM, TO, timedelta(seconds=20)).expand(sql)


def test_time_macros() -> None:
    assert expand("WHERE $__timeFilter(date_time)") == (
        "WHERE date_time >= toDateTime(1415792726) AND date_time <= toDateTime(1447328726)"
    )
    assert expand("$__fromTime, $__toTime") == "toDateTime(1415792726), toDateTime(1447328726)"
    assert expand("$__fromTime_ms") == "fromUnixTimestamp64Milli(1415792726000)"
    assert expand("$__timeFilter_ms(t)") == (
        "t >= fromUnixTimestamp64Milli(1415792726000) AND "
        "t <= fromUnixTimestamp64Milli(1447328726000)"
    )
    assert expand("$__dateFilter(d)") == "d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')"
    assert expand("$__dateTimeFilter(d, t)") == (
        "(d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')) AND "
        "(t >= toDateTime(1415792726) AND t <= toDateTime(1447328726))"
    )
    assert expand("$__timeInterval(t)") == "toStartOfInterval(toDateTime(t), INTERVAL 20 second)"
    assert expand("$__interval_s") == "20"


def test_macro_arguments_keep_nested_brackets_and_are_trimmed() -> None:
    assert expand("$__timeFilter( toDateTime(d, 'UTC') )") == (
        "toDateTime(d, 'UTC') >= toDateTime(1415792726) AND "
        "toDateTime(d, 'UTC') <= toDateTime(1447328726)"
    )


def test_variable_formats() -> None:
    one = Variable.single("75.STP", "Sở Tư pháp")
    quoted = Variable.single("it's")
    many = Variable(("a", "b"), multi=True)
    assert expand("unit = $unit", unit=one) == "unit = 75.STP"  # the plugin leaves it unquoted
    assert expand("unit = '${unit}'", unit=one) == "unit = '75.STP'"
    assert expand("${unit:singlequote}", unit=quoted) == "'it\\'s'"
    assert expand("${unit:sqlstring}", unit=quoted) == "'it''s'"
    assert expand("x IN ($v)", v=many) == "x IN ('a','b')"
    assert expand("x IN (${v:singlequote})", v=many) == "x IN ('a','b')"
    assert expand("${v:csv}", v=many) == "a,b"
    assert expand("${unit:text}", unit=one) == "Sở Tư pháp"
    assert expand("[[unit]]", unit=one) == "75.STP"


def test_grafana_builtins() -> None:
    assert expand("$__from..$__to") == "1415792726000..1447328726000"
    assert expand("${__interval_ms}") == "20000"


def test_conditional_all() -> None:
    sql = "WHERE $__conditionalAll(unit IN (${unit:singlequote}), $unit)"
    assert expand(sql, unit=Variable(("$__all",), multi=True)) == "WHERE 1=1"
    assert expand(sql, unit=Variable(("a", "b"), multi=True)) == "WHERE unit IN ('a','b')"


def test_unknown_names_fail_instead_of_reaching_clickhouse() -> None:
    with pytest.raises(ExpansionError, match=r"\$perod"):
        expand("period = ${perod:singlequote}")
    with pytest.raises(ExpansionError, match="timeFilterr"):
        expand("$__timeFilterr(t)")
    with pytest.raises(ExpansionError, match="format"):
        expand("${unit:lucene}", unit=Variable.single("x"))
    with pytest.raises(ExpansionError, match="expects 1"):
        expand("$__timeFilter(a, b)")
