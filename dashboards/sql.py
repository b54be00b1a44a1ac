"""ClickHouse SQL pieces the dashboards share, derived from the catalog and the domain.

Nothing here restates the methodology. Which indicators are averages comes from the measures;
"late" is the domain's on-time expression of 2.1 (`tthc.measures.DOSSIER_ON_TIME`) and "about to
turn late" the early-warning one (`tthc.early_warning.TURNING_LATE`), compiled with SQL for
their variables (the period's cutoff, now). Scores are computed when a panel asks, from the
windows and the facts, by the view `unit_period_scores` (tthc.period_scores: the worker creates
it at start-up with its profile), and units are read from the worker's `unit_tree`. Panels put
Grafana variables (`${period}`, `${unit}` …) into these pieces; the tests expand them the way the
ClickHouse datasource plugin does and run the result on the embedded ClickHouse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from services.storage.schema import WATERMARKS_TABLE
from tthc.calendar import VN_TZ
from tthc.drilldown import reason_label_sql
from tthc.early_warning import DEFAULT_WARNING_HORIZON, TURNING_LATE
from tthc.expr import Expr
from tthc.measures import (
    COUNTED,
    DOSSIER_ON_TIME,
    EFFECTIVE_DUE,
    MEASURES,
    TableNames,
)
from tthc.period_scores import current_units_sql, period_sql, scores_of, tree_sql
from tthc.profile import Profile
from tthc.units import UnitLevel

FACTS = TableNames()
PERIOD = "${period:singlequote}"  # the chosen period's label, as the SQL reads it
# Every unit's indicator rows and total row (indicator '') for the chosen period, scored now.
SCORES = scores_of(PERIOD)
TREE = f"({tree_sql()})"  # (unit, ancestor): every code of each current unit's subtree
UNITS = f"({current_units_sql()})"  # today's units: unit, name, level, parent
WATERMARKS = WATERMARKS_TABLE  # how far the pipeline has written
TIMEZONE = VN_TZ.key  # period boundaries are Vietnamese days

# How Vietnamese users name the levels of the unit tree (labels only; levels are the domain's).
LEVEL_LABELS: dict[UnitLevel, str] = {
    UnitLevel.province: "Tỉnh",
    UnitLevel.department: "Sở, ban, ngành",
    UnitLevel.district: "Cấp huyện",
    UnitLevel.commune: "Xã, phường, đặc khu",
}

# Open dossiers due within this horizon are "about to turn late": the horizon of the API's
# gauge (its default; a deployment that changes TTHC_API_WARNING_HORIZON regenerates).
WARNING_HOURS = int(DEFAULT_WARNING_HORIZON.total_seconds() // 3600)


def quote(text: str) -> str:
    """A ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def string_tuple(values: list[str]) -> str:
    return "(" + (", ".join(quote(v) for v in values) or "NULL") + ")"


_PLACEHOLDER = re.compile(r"(?<!\$)\{\w+\}")


def string_array(values: list[str]) -> str:
    return "[" + ", ".join(quote(v) for v in values) + "]"


def with_variables(expr: Expr | str, values: Mapping[str, str]) -> str:
    """The SQL of a domain expression (or SQL text with `{variables}`) with its variables
    replaced by SQL expressions."""
    text = expr if isinstance(expr, str) else expr.sql()
    for name, sql in values.items():
        text = text.replace("{" + name + "}", sql)
    if _PLACEHOLDER.search(text):  # a domain variable left; Grafana's ${...} are expected
        raise ValueError(f"a variable of the expression has no SQL here: {text}")
    return text


# --- From the catalog --------------------------------------------------------------------------


def average_indicators(profile: Profile) -> list[str]:
    """Codes of indicators whose rate is a mean in days (2.2), not a share."""
    return [i.code for i in profile.indicators if any(MEASURES[p.measure].average for p in i.parts)]


def rate_percent(profile: Profile) -> str:
    """SQL: the rate as a percentage, NULL for indicators measured in days."""
    return f"if(indicator IN {string_tuple(average_indicators(profile))}, NULL, rate * 100)"


def average_days(profile: Profile) -> str:
    """SQL: the mean in days for indicators measured in days, NULL for the others."""
    return f"if(indicator IN {string_tuple(average_indicators(profile))}, rate, NULL)"


def indicator_order(column: str = "indicator") -> str:
    """SQL sort key that puts '1.10' after '1.9'."""
    return (
        f"toUInt32OrZero(splitByChar('.', {column})[1]), "
        f"toUInt32OrZero(splitByChar('.', {column})[2])"
    )


GROUP_LABEL = "concat(toString(group_number), '. ', group_name_vi)"


def level_order(column: str = "level") -> str:
    levels = [level.value for level in UnitLevel]
    ranks = ", ".join(str(n) for n in range(len(levels)))
    return f"transform({column}, [{', '.join(quote(v) for v in levels)}], [{ranks}], 9)"


# --- Periods ------------------------------------------------------------------------------------

_YEAR = "substring(period, 1, 4)"
PERIOD_TEXT = (
    "multiIf("
    f"period_kind = 'month', concat('Tháng ', substring(period, 6, 2), '/', {_YEAR}), "
    f"period_kind = 'quarter', concat('Quý ', substring(period, 7, 1), '/', {_YEAR}), "
    "period_kind = 'half', concat(if(substring(period, 7, 1) = '1', '6 tháng đầu năm ', "
    f"'6 tháng cuối năm '), {_YEAR}), "
    "period_kind = 'year', concat('Năm ', period), "
    "period)"
)
PERIOD_KIND_ORDER = "transform(period_kind, ['month', 'quarter', 'half', 'year'], [0, 1, 2, 3], 9)"
MONTH_START = f"toDateTime(period_start, '{TIMEZONE}')"


def period_bounds(period: str) -> str:
    """A WITH list: the period's first instant, the instant after it, and its cutoff."""
    p = period_sql(period)
    return (
        f"toDateTime({p.start_day}, '{TIMEZONE}') AS period_start,\n"
        f"  toDateTime({p.end_day}, '{TIMEZONE}') AS period_end,\n"
        f"  {p.cutoff} AS cutoff"
    )


_TODAY = f"toDate(now(), '{TIMEZONE}')"
# The label of the period of a kind `back` periods before today's.
_PERIOD_BACK = {
    "month": "formatDateTime(addMonths(toStartOfMonth({today}), -{back}), '%Y-%m')",
    "quarter": "concat(toString(toYear(addQuarters({today}, -{back}))), '-Q', "
    "toString(toQuarter(addQuarters({today}, -{back}))))",
}


def recent_scores(kind: str, count: int) -> str:
    """A FROM item: the scores of the `count` last periods of `kind` (today's one included),
    each judged at its own cutoff (its last second, now for the current one)."""
    calls = [
        f"SELECT * FROM {scores_of(_PERIOD_BACK[kind].format(today=_TODAY, back=back))}"
        for back in range(count)
    ]
    return "(\n" + "\n  UNION ALL ".join(calls) + "\n)"


# --- Dossiers: late and about to turn late -------------------------------------------------------


def on_time(cutoff: str = "cutoff") -> str:
    """SQL: the domain's 2.1 on-time condition of a dossier, judged at `cutoff`."""
    return with_variables(DOSSIER_ON_TIME, {"cutoff": cutoff})


def measure_sql(key: str, cutoff: str = "cutoff") -> tuple[str, str]:
    """SQL: a dossier measure's denominator and numerator conditions, judged at `cutoff`."""
    measure = MEASURES[key]
    values = _cutoff_values(cutoff)
    return with_variables(measure.denominator, values), with_variables(measure.numerator, values)


def _cutoff_values(cutoff: str) -> dict[str, str]:
    return {"cutoff": cutoff, "cutoff_date": f"toDate({cutoff}, '{TIMEZONE}')"}


def late(cutoff: str = "cutoff") -> str:
    """SQL: a counted dossier that lost points on 2.1 (not on time, or unknown)."""
    counted = with_variables(COUNTED, {"cutoff": cutoff})
    return f"({counted} AND NOT coalesce({on_time(cutoff)}, false))"


def effective_due(cutoff: str = "cutoff") -> str:
    """SQL: a dossier's due date at `cutoff` plus the supplement time it does not owe."""
    return with_variables(EFFECTIVE_DUE, {"cutoff": cutoff})


def turning_late(hours: int = WARNING_HOURS) -> str:
    """SQL: open, clock running, on time now, and due within `hours` (tthc.early_warning)."""
    return with_variables(
        TURNING_LATE, {"cutoff": "now()", "horizon_end": f"(now() + INTERVAL {hours} HOUR)"}
    )


def late_reason(cutoff: str = "cutoff") -> str:
    """SQL: why a late dossier lost 2.1's points, in the words of the drill-down's reasons."""
    return with_variables(reason_label_sql(MEASURES["dossiers_on_time"]), _cutoff_values(cutoff))


def named_dossiers() -> str:
    """A FROM clause: the dossier facts with their procedure's name (the catalogue's) and their
    unit's (today's tree's), as `procedure_name` and `unit_name`."""
    return (
        f"{FACTS.dossier} AS d FINAL\n"
        "LEFT JOIN (SELECT code AS procedure_code, any(name) AS procedure_name "
        f"FROM {FACTS.procedure} FINAL GROUP BY code) AS pn ON pn.procedure_code = d.procedure\n"
        f"LEFT JOIN (SELECT unit AS unit_code, name AS unit_name FROM {UNITS}) AS un "
        "ON un.unit_code = d.unit"
    )


def in_subtree(column: str, unit: str) -> str:
    """SQL: `column` names `unit` or a unit of its subtree (merged units included), as the
    worker's tree has it. For the province it is always true, so that dossiers sent with codes
    the tree does not know count there too."""
    province = f"SELECT unit FROM {UNITS} WHERE level = {quote(UnitLevel.province.value)}"
    return (
        f"({column} IN (SELECT unit FROM {TREE} WHERE ancestor = {unit}) OR {unit} IN ({province}))"
    )
