"""(1) Province overview: total and grade, the groups, the ranking of units, the trend."""

from __future__ import annotations

from grafanalib import core as g

from dashboards.catalog import grade_bands_text, grade_mappings, grade_steps
from dashboards.common import (
    LEVEL,
    PROVINCE,
    TREND_MONTHS,
    by_month,
    data_until_stat,
    grade_stat,
    level_variable,
    missing_stat,
    monthly_total,
    period_variable,
    pipeline_stat,
    quarterly_total,
    total_stat,
)
from dashboards.grafana import (
    PROVINCE_UID,
    UNIT_UID,
    Cell,
    Column,
    dashboard,
    place,
    row_link,
)
from dashboards.panels import query, stat, table
from dashboards.sql import (
    FACTS,
    GROUP_LABEL,
    MONTH_START,
    PERIOD,
    SCORES,
    WARNING_HOURS,
    late,
    period_bounds,
    quote,
    recent_scores,
    turning_late,
)
from tthc.profile import Group, Profile
from tthc.units import UnitLevel

TOTAL_ROW = f"indicator = '' AND {PROVINCE}"
PROVINCE_TOTALS = f"indicator = '' AND {PROVINCE}"


def late_stat() -> g.Stat:
    sql = (
        f"WITH {period_bounds(PERIOD)}\n"
        f"SELECT countIf({late()}) AS late_dossiers\nFROM {FACTS.dossier} FINAL\n"
        "WHERE received_at >= period_start AND received_at < period_end"
    )
    return stat(
        "Hồ sơ trễ hạn trong kỳ",
        query(sql, "late_dossiers"),
        steps=[{"color": "green", "value": None}, {"color": "red", "value": 1}],
        description="Hồ sơ tiếp nhận trong kỳ bị mất điểm ở chỉ tiêu 2.1 (toàn tỉnh).",
    )


def turning_late_stat() -> g.Stat:
    sql = f"SELECT countIf({turning_late()}) AS turning_late\nFROM {FACTS.dossier} FINAL"
    return stat(
        f"Hồ sơ sắp quá hạn ({WARNING_HOURS} giờ)",
        query(sql, "turning_late"),
        steps=[{"color": "green", "value": None}, {"color": "orange", "value": 1}],
        description=f"Hồ sơ đang xử lý, chưa trễ, sẽ quá hạn trong {WARNING_HOURS} giờ tới "
        "nếu không được giải quyết (toàn tỉnh).",
    )


def group_stat(profile: Profile, group: Group) -> g.Stat:
    """One group's points at the province, coloured by the grade bands of its share."""
    sql = (
        f"SELECT sum(points) AS points\nFROM {SCORES}\n"
        f"WHERE {PROVINCE} AND indicator != '' "
        f"AND group_number = {group.number}"
    )
    return stat(
        f"{group.number}. {group.name_vi}",
        query(sql, "points"),
        decimals=2,
        unit=f"suffix: / {group.points:g}",
        min_value=0,
        max_value=group.points,
        color_mode="background",
        steps=grade_steps(profile, scale=group.points),
        description=f"Điểm nhóm {group.number} của tỉnh (tối đa {group.points:g} điểm).",
    )


def _group_stats(profile: Profile) -> list[Cell]:
    width, extra = divmod(24, len(profile.groups))
    return [
        Cell(group_stat(profile, group), width + (1 if n < extra else 0), 5)
        for n, group in enumerate(profile.groups)
    ]


DEPARTMENTS_TITLE = "Xếp hạng sở, ban, ngành"


def ranking(
    profile: Profile, level: str = LEVEL, title: str = "Xếp hạng đơn vị cùng cấp"
) -> g.Table:
    """Units of one level (SQL: the level variable, or a level), best first, with their
    points in each group."""
    by_group = ",\n    ".join(
        f"sumIf(points, group_number = {group.number}) AS group_{group.number}"
        for group in profile.groups
    )
    group_columns = ", ".join(
        f"p.group_{group.number} AS group_{group.number}" for group in profile.groups
    )
    sql = (
        "SELECT\n"
        # a unit with nothing to judge (no total) is listed last, unranked
        "  if(t.total IS NULL, NULL, row_number() OVER (ORDER BY t.total DESC, t.unit_name))"
        " AS rank,\n"
        f"  t.unit_name AS unit_name, t.unit AS unit, t.total AS total, t.grade_vi AS grade_vi, "
        f"{group_columns}\n"
        f"FROM (\n  SELECT unit, unit_name, total, grade_vi FROM {SCORES}\n"
        f"  WHERE indicator = '' AND level = {level}\n) AS t\n"
        f"LEFT JOIN (\n  SELECT unit,\n    {by_group}\n  FROM {SCORES}\n"
        f"  WHERE indicator != '' AND level = {level}\n  GROUP BY unit\n"
        ") AS p ON p.unit = t.unit\n"
        "ORDER BY rank, unit_name"
    )
    columns = [
        Column("rank", "Hạng", width=70),
        Column(
            "unit_name",
            "Đơn vị",
            link=("Chi tiết đơn vị", row_link(UNIT_UID, [("unit", "unit")])),
        ),
        Column("unit", "Mã", width=110),
        Column(
            "total",
            "Tổng điểm",
            decimals=2,
            cell="color-background",
            width=110,
            extra=(
                ("thresholds", {"mode": "absolute", "steps": grade_steps(profile)}),
                ("color", {"mode": "thresholds"}),
            ),
        ),
        Column(
            "grade_vi",
            "Xếp loại",
            width=110,
            cell="color-text",
            extra=(("mappings", grade_mappings(profile)),),
        ),
        *(
            Column(
                f"group_{group.number}",
                f"Nhóm {group.number} (/{group.points:g})",
                decimals=2,
                width=120,
            )
            for group in profile.groups
        ),
    ]
    return table(
        title,
        sql,
        columns,
        description="Các đơn vị của cấp đang chọn, xếp theo tổng điểm của kỳ; bấm tên đơn vị "
        "để xem chi tiết.",
    )


def groups_by_month() -> g.TimeSeries:
    sql = (
        f"SELECT {MONTH_START} AS time, {GROUP_LABEL} AS group_name, sum(points) AS points\n"
        f"FROM {recent_scores('month', TREND_MONTHS)}\n"
        f"WHERE {PROVINCE} AND indicator != '' AND $__timeFilter(time)\n"
        "GROUP BY time, group_name\nORDER BY time, group_name"
    )
    return by_month("Điểm từng nhóm theo tháng", sql, ["group_name", "points"], decimals=2)


def build(profile: Profile) -> g.Dashboard:
    rows = [
        [
            Cell(total_stat(profile, TOTAL_ROW), 4, 5),
            Cell(grade_stat(profile, TOTAL_ROW), 3, 5),
            Cell(missing_stat(TOTAL_ROW), 3, 5),
            Cell(late_stat(), 3, 5),
            Cell(turning_late_stat(), 4, 5),
            Cell(pipeline_stat(), 4, 5),
            Cell(data_until_stat(), 3, 5),
        ],
        _group_stats(profile),
        [
            Cell(ranking(profile, quote(UnitLevel.department.value), DEPARTMENTS_TITLE), 12, 13),
            Cell(ranking(profile), 12, 13),
        ],
        [
            Cell(monthly_total(PROVINCE_TOTALS, "Tổng điểm toàn tỉnh theo tháng"), 12, 9),
            Cell(groups_by_month(), 12, 9),
        ],
        [Cell(quarterly_total(PROVINCE_TOTALS), 24, 8)],
    ]
    return dashboard(
        uid=PROVINCE_UID,
        title="Bộ chỉ số 766 — Tổng quan tỉnh",
        description="Điểm Bộ chỉ số phục vụ người dân, doanh nghiệp (Quyết định 766/QĐ-TTg) "
        f"của tỉnh theo thời gian thực. Xếp loại: {grade_bands_text(profile)}.",
        panels=place(rows),
        variables=[period_variable(), level_variable(UnitLevel.commune)],
    )
