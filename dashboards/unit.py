"""(2) Unit detail: one unit and period, every indicator with rate, points and points lost, the
trend, the late dossiers and those about to turn late."""

from __future__ import annotations

from grafanalib import core as g

from dashboards.common import (
    UNIT,
    data_until_stat,
    grade_stat,
    missing_stat,
    monthly_total,
    period_variable,
    pipeline_stat,
    quarterly_total,
    score_columns,
    total_stat,
)
from dashboards.grafana import (
    INDICATOR_UID,
    UNIT_UID,
    Cell,
    Column,
    dashboard,
    place,
    query_variable,
    row_link,
)
from dashboards.panels import barchart, query, stat, table
from dashboards.sql import (
    GROUP_LABEL,
    PERIOD,
    SCORES,
    UNITS,
    WARNING_HOURS,
    average_days,
    effective_due,
    in_subtree,
    indicator_order,
    late,
    late_reason,
    level_order,
    measure_sql,
    named_dossiers,
    period_bounds,
    rate_percent,
    turning_late,
    with_variables,
)
from tthc.drilldown import past_due_sql
from tthc.measures import Subject
from tthc.profile import Profile

TOTAL_ROW = f"unit = {UNIT} AND indicator = ''"
INDICATOR_ROWS = f"unit = {UNIT} AND indicator != ''"
LIST_LIMIT = 10_000  # the tables page, and their footer counts the rows

# A listed dossier: what it is, where, and when it came in and falls due.
DOSSIER_COLUMNS = (
    Column("code", "Mã hồ sơ"),
    Column("procedure", "Mã thủ tục"),
    Column("procedure_name", "Tên thủ tục"),
    Column("unit", "Mã đơn vị", width=110),
    Column("unit_name", "Đơn vị xử lý"),
    Column("received_at", "Tiếp nhận", unit="dateTimeAsLocal", width=160),
    Column("due", "Hạn xử lý", unit="dateTimeAsLocal", width=160),
)


def unit_variable() -> g.Template:
    return query_variable(
        "unit",
        "Đơn vị",
        f"SELECT unit, concat(name, ' (', unit, ')') AS text\nFROM {UNITS}\n"
        f"ORDER BY {level_order()}, name",
    )


def rank_stat() -> g.Stat:
    sql = (
        "SELECT rank, units\nFROM (\n"
        "  SELECT unit, row_number() OVER (ORDER BY total DESC, unit_name) AS rank,\n"
        "    count() OVER () AS units\n"
        f"  FROM {SCORES}\n"
        f"  WHERE indicator = '' AND level = (\n"
        f"    SELECT any(level) FROM {SCORES} WHERE {TOTAL_ROW})\n"
        f")\nWHERE unit = {UNIT}"
    )
    columns = [Column("rank", "Hạng"), Column("units", "Số đơn vị cùng cấp")]
    return stat(
        "Xếp hạng trong cấp",
        query(sql, "rank", "units"),
        columns=columns,
        description="Thứ hạng theo tổng điểm giữa các đơn vị cùng cấp trong kỳ.",
    )


def indicators_table(profile: Profile) -> g.Table:
    sql = (
        f"SELECT indicator, name_vi, {GROUP_LABEL} AS group_name, numerator, denominator,\n"
        f"  {rate_percent(profile)} AS rate_pct,\n  {average_days(profile)} AS average_days,\n"
        "  points, max_points, lost\n"
        f"FROM {SCORES}\nWHERE {INDICATOR_ROWS}\nORDER BY {indicator_order()}"
    )
    columns = [
        Column(
            "indicator",
            "Mã",
            width=70,
            link=("Chi tiết chỉ tiêu", row_link(INDICATOR_UID, [("indicator", "indicator")])),
        ),
        Column("name_vi", "Chỉ tiêu"),
        Column("group_name", "Nhóm", width=220),
        *score_columns(rate_width=160, average_width=100, lost_in_red=True),
    ]
    return table(
        "Các chỉ tiêu: tỷ lệ, điểm và điểm bị mất",
        sql,
        columns,
        description="Mọi chỉ tiêu của bộ chỉ số; chỉ tiêu không áp dụng cho cấp của đơn vị có "
        "điểm tối đa 0. Bấm mã để xem chỉ tiêu ở các đơn vị khác.",
    )


def groups_chart() -> g.BarChart:
    sql = (
        f"SELECT {GROUP_LABEL} AS group_name, sum(points) AS points, "
        "sum(max_points) AS max_points\n"
        f"FROM {SCORES}\nWHERE {INDICATOR_ROWS}\n"
        "GROUP BY group_number, group_name_vi\nORDER BY group_number"
    )
    return barchart(
        "Điểm theo nhóm",
        query(sql, "group_name", "points", "max_points"),
        columns=[Column("points", "Điểm đạt"), Column("max_points", "Điểm tối đa")],
        horizontal=True,
    )


def lost_chart() -> g.BarChart:
    sql = (
        "SELECT indicator, lost\n"
        f"FROM {SCORES}\nWHERE {INDICATOR_ROWS} AND max_points > 0\n"
        f"ORDER BY lost DESC, {indicator_order()}"
    )
    return barchart(
        "Điểm bị mất theo chỉ tiêu",
        query(sql, "indicator", "lost"),
        columns=[Column("lost", "Điểm bị mất")],
        description="Chỉ tiêu làm đơn vị mất nhiều điểm nhất ở bên trái.",
    )


def late_dossiers() -> g.Table:
    past_due = with_variables(past_due_sql(Subject.dossier), {"cutoff": "cutoff"})
    sql = (
        f"WITH {period_bounds(PERIOD)}\n"
        "SELECT code, procedure, procedure_name, unit, unit_name, received_at,\n"
        f"  {effective_due()} AS due, if(ended_at <= cutoff, ended_at, NULL) AS ended,\n"
        f"  round({past_due} / 86400, 1) AS overdue_days,\n"
        f"  {late_reason()} AS reason\n"
        f"FROM {named_dossiers()}\n"
        "WHERE received_at >= period_start AND received_at < period_end\n"
        f"  AND {in_subtree('unit', UNIT)}\n"
        f"  AND {late()}\n"
        # worst first, as the API's drill-down (tthc.drilldown.PAST_DUE)
        f"ORDER BY {past_due} DESC NULLS LAST, code\nLIMIT {LIST_LIMIT}"
    )
    columns = [
        *DOSSIER_COLUMNS,
        Column("ended", "Hoàn thành", unit="dateTimeAsLocal", width=160),
        Column("overdue_days", "Số ngày trễ", decimals=1, width=100),
        Column("reason", "Lý do"),
    ]
    return table(
        "Hồ sơ trễ hạn (mất điểm chỉ tiêu 2.1)",
        sql,
        columns,
        description=f"Hồ sơ tiếp nhận trong kỳ, của đơn vị và các đơn vị trực thuộc, không "
        f"được xử lý đúng hạn, trễ nhiều nhất trước (tối đa {LIST_LIMIT:,}; bảng chia trang, "
        "dòng cuối đếm số hồ sơ). Hạn xử lý đã cộng "
        "thời gian chờ người dân bổ sung.",
        paged=True,
    )


def procedures_table() -> g.Table:
    finished, processing_seconds = measure_sql("average_processing_days")
    counted, on_time_ = measure_sql("dossiers_on_time")
    sql = (
        f"WITH {period_bounds(PERIOD)}\n"
        "SELECT procedure, any(procedure_name) AS procedure_name,\n"
        f"  countIf({counted}) AS dossiers,\n"
        f"  round(100 * countIf({counted} AND {on_time_}) / countIf({counted}), 1) AS on_time,\n"
        f"  countIf({finished}) AS finished,\n"
        f"  round(sumIf(toFloat64({processing_seconds}), {finished})\n"
        f"        / nullIf(countIf({finished}), 0) / 86400, 1) AS average_days\n"
        f"FROM {named_dossiers()}\n"
        "WHERE received_at >= period_start AND received_at < period_end\n"
        f"  AND {in_subtree('unit', UNIT)}\n"
        "GROUP BY procedure\nHAVING dossiers > 0\n"
        f"ORDER BY on_time, average_days DESC, procedure\nLIMIT {LIST_LIMIT}"
    )
    columns = [
        Column("procedure", "Mã thủ tục"),
        Column("procedure_name", "Tên thủ tục"),
        Column("dossiers", "Hồ sơ tiếp nhận", width=130),
        Column("on_time", "Đúng hạn (%) — 2.1", decimals=1, width=150),
        Column("finished", "Đã giải quyết", width=120),
        Column("average_days", "Thời gian TB (ngày) — 2.2", decimals=1, width=190),
    ]
    return table(
        "Theo từng thủ tục (2.1, 2.2)",
        sql,
        columns,
        description="Mỗi thủ tục có hồ sơ tiếp nhận trong kỳ: tỷ lệ đúng hạn và thời gian giải "
        "quyết trung bình (không tính thời gian chờ bổ sung), thủ tục kém nhất ở trên cùng.",
        paged=True,
    )


def turning_late_dossiers() -> g.Table:
    sql = (
        "SELECT code, procedure, procedure_name, unit, unit_name, received_at,\n"
        f"  {effective_due('now()')} AS due,\n"
        f"  round(dateDiff('minute', now(), {effective_due('now()')}) / 60, 1) AS hours_left\n"
        f"FROM {named_dossiers()}\n"
        f"WHERE {in_subtree('unit', UNIT)}\n  AND {turning_late()}\n"
        f"ORDER BY hours_left, code\nLIMIT {LIST_LIMIT}"
    )
    columns = [
        *DOSSIER_COLUMNS,
        Column("hours_left", "Còn lại (giờ)", decimals=1, width=110),
    ]
    return table(
        f"Hồ sơ sắp quá hạn trong {WARNING_HOURS} giờ",
        sql,
        columns,
        description="Hồ sơ đang xử lý, chưa trễ hạn, không chờ bổ sung, sẽ trễ nếu không được "
        "giải quyết trước hạn.",
        paged=True,
    )


def build(profile: Profile) -> g.Dashboard:
    rows = [
        [
            Cell(total_stat(profile, TOTAL_ROW), 4, 5),
            Cell(grade_stat(profile, TOTAL_ROW), 4, 5),
            Cell(rank_stat(), 4, 5),
            Cell(missing_stat(TOTAL_ROW), 4, 5),
            Cell(pipeline_stat(), 4, 5),
            Cell(data_until_stat(), 4, 5),
        ],
        [Cell(indicators_table(profile), 24, 16)],
        [Cell(lost_chart(), 14, 9), Cell(groups_chart(), 10, 9)],
        [
            Cell(monthly_total(f"unit = {UNIT} AND indicator = ''"), 12, 8),
            Cell(quarterly_total(f"unit = {UNIT} AND indicator = ''"), 12, 8),
        ],
        [Cell(procedures_table(), 24, 10)],
        [Cell(late_dossiers(), 24, 12)],
        [Cell(turning_late_dossiers(), 24, 10)],
    ]
    return dashboard(
        uid=UNIT_UID,
        title="Bộ chỉ số 766 — Chi tiết đơn vị",
        description="Điểm của một đơn vị trong một kỳ: từng chỉ tiêu, điểm bị mất, diễn biến và "
        "các hồ sơ làm mất điểm.",
        panels=place(rows),
        variables=[period_variable(), unit_variable()],
    )
