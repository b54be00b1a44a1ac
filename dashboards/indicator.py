"""(3) Indicator detail: one indicator across the units of a level, its distribution, the
weakest units, and the province's trend."""

from __future__ import annotations

from grafanalib import core as g

from dashboards.catalog import catalog_markdown, indicator_options
from dashboards.common import (
    INDICATOR,
    LEVEL,
    PROVINCE,
    TREND_MONTHS,
    by_month,
    data_until_stat,
    level_variable,
    period_variable,
    score_columns,
)
from dashboards.grafana import (
    INDICATOR_UID,
    UNIT_UID,
    Cell,
    Column,
    custom_variable,
    dashboard,
    place,
    row_link,
)
from dashboards.panels import barchart, query, stat, table, text
from dashboards.sql import (
    FACTS,
    MONTH_START,
    PERIOD,
    SCORES,
    TIMEZONE,
    UNITS,
    average_days,
    average_indicators,
    period_bounds,
    quote,
    rate_percent,
    recent_scores,
    string_tuple,
    with_variables,
)
from tthc.drilldown import (
    PAST_DUE,
    NotListable,
    check_listable,
    cost_measures,
    lost_sql,
    past_due_sql,
    reason_label_sql,
)
from tthc.facts import Scalar, column_type_of
from tthc.measures import DOSSIER_SETS, MEASURES, Measure, Subject
from tthc.profile import Profile
from tthc.units import UnitLevel

PROVINCE_ROW = f"indicator = {INDICATOR} AND {PROVINCE}"
LEVEL_ROWS = f"indicator = {INDICATOR} AND level = {LEVEL}"
WEAKEST = 20
ITEMS_LIMIT = 10_000  # rows the drill-down table holds; it pages, and its footer counts them
KIND_LABELS = {
    Subject.dossier: "Hồ sơ",
    Subject.feedback: "Phản ánh, kiến nghị",
    Subject.procedure: "Thủ tục",
    Subject.commune: "Xã, phường",
}


def indicator_variable(profile: Profile) -> g.Template:
    options = indicator_options(profile)
    return custom_variable("indicator", "Chỉ tiêu", options, options[0][0])


def province_value(profile: Profile) -> g.Stat:
    columns = [
        Column("rate_pct", "Tỷ lệ", unit="percent", decimals=1),
        Column("average_days", "Trung bình (ngày)", decimals=1),
    ]
    sql = (
        f"SELECT {rate_percent(profile)} AS rate_pct, {average_days(profile)} AS average_days\n"
        f"FROM {SCORES}\nWHERE {PROVINCE_ROW}"
    )
    return stat(
        "Toàn tỉnh",
        query(sql, *(c.name for c in columns)),
        columns=columns,
        description="Tỷ lệ của chỉ tiêu tính trên mọi hồ sơ của tỉnh (không phải trung bình "
        "các đơn vị); chỉ tiêu thời gian tính bằng ngày.",
    )


def province_points() -> g.Stat:
    sql = f"SELECT points, max_points, lost\nFROM {SCORES}\nWHERE {PROVINCE_ROW}"
    return stat(
        "Điểm của tỉnh",
        query(sql, "points", "max_points", "lost"),
        columns=[
            Column("points", "Điểm", decimals=2),
            Column("max_points", "Tối đa", decimals=2),
            Column("lost", "Bị mất", decimals=2),
        ],
    )


def distribution(profile: Profile) -> g.BarChart:
    """How many units of the level fall in each tenth of the rate (each day, for averages)."""
    days = f"{INDICATOR} IN {string_tuple(average_indicators(profile))}"
    sql = (
        f"WITH {days} AS in_days,\n"
        "  (SELECT groupArray(least(toUInt32(floor(if(in_days, rate, rate * 10))), 9))\n"
        f"   FROM {SCORES} WHERE {LEVEL_ROWS} AND rate IS NOT NULL) AS buckets\n"
        "SELECT\n"
        "  if(in_days,\n"
        "     if(bucket = 9, '≥ 9 ngày', concat(toString(bucket), '–', toString(bucket + 1), "
        "' ngày')),\n"
        "     concat(toString(bucket * 10), '–', toString(bucket * 10 + 10), '%'))\n"
        "    AS bucket_label,\n"
        "  arrayCount(b -> b = bucket, buckets) AS units\n"
        "FROM (SELECT arrayJoin(range(10)) AS bucket)\nORDER BY bucket"
    )
    return barchart(
        "Phân bố các đơn vị theo tỷ lệ",
        query(sql, "bucket_label", "units"),
        columns=[Column("units", "Số đơn vị")],
        description="Số đơn vị của cấp đang chọn trong từng khoảng tỷ lệ (đơn vị chưa có số "
        "liệu không được tính).",
    )


def weakest(profile: Profile) -> g.Table:
    days = f"indicator IN {string_tuple(average_indicators(profile))}"
    sql = (
        "SELECT unit_name, unit, numerator, denominator,\n"
        f"  {rate_percent(profile)} AS rate_pct,\n  {average_days(profile)} AS average_days,\n"
        "  points, max_points, lost\n"
        f"FROM {SCORES}\nWHERE {LEVEL_ROWS} AND (rate IS NOT NULL OR max_points > 0)\n"
        f"ORDER BY lost DESC, if({days}, -rate, rate) ASC NULLS FIRST, unit_name\n"
        f"LIMIT {WEAKEST}"
    )
    columns = [
        Column(
            "unit_name",
            "Đơn vị",
            link=("Chi tiết đơn vị", row_link(UNIT_UID, [("unit", "unit")])),
        ),
        Column("unit", "Mã", width=110),
        *score_columns(rate_width=180, average_width=110),
    ]
    return table(
        f"{WEAKEST} đơn vị yếu nhất",
        sql,
        columns,
        description="Các đơn vị mất nhiều điểm nhất ở chỉ tiêu này, rồi có tỷ lệ thấp nhất.",
    )


def monthly(profile: Profile) -> g.TimeSeries:
    sql = (
        f"SELECT {MONTH_START} AS time, {rate_percent(profile)} AS rate_pct,\n"
        f"  {average_days(profile)} AS average_days\n"
        f"FROM {recent_scores('month', TREND_MONTHS)}\n"
        f"WHERE indicator = {INDICATOR} AND {PROVINCE} AND $__timeFilter(time)\nORDER BY time"
    )
    columns = [
        Column("rate_pct", "Tỷ lệ (%)", unit="percent"),
        Column("average_days", "Trung bình (ngày)"),
    ]
    names = [c.name for c in columns]
    return by_month("Toàn tỉnh theo tháng", sql, names, decimals=1, columns=columns)


def _variables(measure: Measure) -> dict[str, str]:
    """SQL for the measure's variables, over the whole province in the selected period."""
    values = {
        "cutoff": "cutoff",
        "cutoff_date": f"toDate(cutoff, '{TIMEZONE}')",
        "levels": f"(SELECT groupUniqArray(toString(level)) FROM {UNITS})",
    }
    for name, chosen in DOSSIER_SETS.items():
        values[name] = (
            f"SELECT procedure FROM {FACTS.dossier} FINAL WHERE received_at >= period_start "
            f"AND received_at < period_end AND {with_variables(chosen, values)}"
        )
    return values


def _lost_in_period(measure: Measure, values: dict[str, str]) -> str:
    """SQL: the row counts against the measure in the selected period (province-wide)."""
    where = [with_variables(lost_sql(measure), values)]
    if measure.period_column is not None:
        column = measure.period_column
        start, end = "period_start", "period_end"
        if column_type_of(measure.subject, column).scalar is Scalar.day:
            start, end = (f"toDate({b}, '{TIMEZONE}')" for b in (start, end))
        where.append(f"{column} >= {start} AND {column} < {end}")
    return " AND ".join(where)


def _worst_first(measure: Measure, values: dict[str, str]) -> str:
    """SQL: what the API's drill-down orders by, descending: seconds past due (dossiers,
    feedback) or how many of its measures a procedure or commune fails."""
    if measure.subject in PAST_DUE:
        return with_variables(past_due_sql(measure.subject), values)
    failed = " + ".join(
        f"toInt64(ifNull({_lost_in_period(m, values)}, false))"
        for m in cost_measures(measure.subject)
    )
    return f"toNullable({failed})"


def _branch(code: str, label: str, measure: Measure) -> str:
    """One indicator part's rows that cost points, with their reason."""
    values = _variables(measure)
    where = [f"{INDICATOR} = {quote(code)}", _lost_in_period(measure, values)]
    unit = f"toString({measure.unit_column})" if measure.unit_column else "''"
    source = f"{getattr(FACTS, measure.subject.value)} FINAL"
    if measure.subject is Subject.commune:
        # every commune of today, those with no fact row too (they never offered the service)
        communes = f"SELECT unit FROM {UNITS} WHERE level = 'commune'"
        source = (
            f"(SELECT u.unit AS code, f.certified_copy_offered_since, f.first_certified_copy_at "
            f"FROM ({communes}) AS u LEFT JOIN (SELECT * FROM {source}) AS f "
            "ON f.code = u.unit)"
        )
        unit = "code"
    return (
        f"SELECT {quote(KIND_LABELS[measure.subject])} AS kind, toString(code) AS code, "
        f"{unit} AS unit, {quote(label)} AS part, "
        f"{with_variables(reason_label_sql(measure), values)} AS reason, "
        f"{_worst_first(measure, values)} AS worst\n"
        f"  FROM {source}\n  WHERE {' AND '.join(where)}"
    )


def lost_items(profile: Profile) -> g.Table:
    """What cost the selected indicator its points across the province: dossiers, feedback,
    procedures or communes, each with the reason the measure's own expressions give."""
    branches = []
    for indicator in profile.indicators:
        for part in indicator.parts:
            measure = MEASURES[part.measure]
            try:
                check_listable(measure)
            except NotListable:
                continue
            branches.append(_branch(indicator.code, part.label, measure))
    names = f"SELECT unit, name AS unit_name FROM {UNITS}"
    sql = (
        f"WITH {period_bounds(PERIOD)}\n"
        "SELECT i.kind AS kind, i.code AS code, i.part AS part, i.unit AS unit, "
        "n.unit_name AS unit_name, i.reason AS reason\n"
        f"FROM (\n{(chr(10) + 'UNION ALL' + chr(10)).join(branches)}\n) AS i\n"
        f"LEFT JOIN ({names}) AS n ON n.unit = i.unit\n"
        # worst first, as the API's drill-down
        f"ORDER BY i.worst DESC NULLS LAST, code\nLIMIT {ITEMS_LIMIT}\n"
        "SETTINGS join_use_nulls = 1"
    )
    columns = [
        Column("kind", "Loại", width=120),
        Column("code", "Mã"),
        Column("part", "Phần", width=60),
        Column("unit", "Mã đơn vị", width=110),
        Column(
            "unit_name",
            "Đơn vị",
            link=("Chi tiết đơn vị", row_link(UNIT_UID, [("unit", "unit")])),
        ),
        Column("reason", "Lý do bị trừ điểm"),
    ]
    return table(
        "Các mục bị trừ điểm ở chỉ tiêu này (toàn tỉnh)",
        sql,
        columns,
        description="Hồ sơ, phản ánh, thủ tục hoặc xã làm chỉ tiêu mất điểm trong kỳ, mỗi mục "
        "với lý do (theo đúng biểu thức của chỉ tiêu), mục nặng nhất trước: hồ sơ, phản ánh "
        "quá hạn lâu nhất; thủ tục, xã không đạt nhiều chỉ tiêu nhất. Bảng chia trang; dòng "
        f"cuối đếm số mục (tối đa {ITEMS_LIMIT:,}). Chỉ tiêu trung bình (2.2) không có mục "
        "nào mất điểm riêng.",
        paged=True,
    )


def build(profile: Profile) -> g.Dashboard:
    rows = [
        [
            Cell(text("Chỉ tiêu", "## ${indicator:text}"), 8, 5),
            Cell(province_value(profile), 6, 5),
            Cell(province_points(), 6, 5),
            Cell(data_until_stat(), 4, 5),
        ],
        [Cell(distribution(profile), 10, 11), Cell(weakest(profile), 14, 11)],
        [Cell(monthly(profile), 24, 8)],
        [Cell(lost_items(profile), 24, 12)],
        [Cell(text("Danh mục chỉ tiêu", catalog_markdown(profile)), 24, 22)],
    ]
    return dashboard(
        uid=INDICATOR_UID,
        title="Bộ chỉ số 766 — Chi tiết chỉ tiêu",
        description="Một chỉ tiêu ở mọi đơn vị cùng cấp: phân bố, đơn vị yếu nhất, diễn biến.",
        panels=place(rows),
        variables=[
            period_variable(),
            indicator_variable(profile),
            level_variable(UnitLevel.commune),
        ],
    )
